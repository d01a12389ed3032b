"""Shared fixtures: the real benchmark excerpts in ../shared/data (their tests are marked
``shared_data``, and the summary counts those skipped without them), a fresh plugin registry, the
toy environment, and a synthetic run with its regression baseline."""

from pathlib import Path

import pytest
import torch
import toy_plugins
from synthetic_run import make_run

from harness import cli
from harness import registry as registry_module

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SHARED_DATA_MISSING = f"real benchmark excerpts not found at {SHARED_DATA} (../shared/data)"


@pytest.fixture
def shared_data() -> Path:
    """The folder of real benchmark excerpts; tests using it skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(SHARED_DATA_MISSING)
    return SHARED_DATA


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that reads the real benchmark excerpts (it uses the ``shared_data``
    fixture, directly or through another fixture) ``shared_data``, so ``-m`` can select them."""
    for item in items:
        if "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.shared_data)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many tests skipped for want of the real benchmark excerpts: a green run without
    them has not checked the readers and models against the real files."""
    skipped = terminalreporter.stats.get("skipped", [])
    missing = sum("shared_data" in report.keywords and SHARED_DATA_MISSING in str(report.longrepr)
                  for report in skipped)
    if missing:
        terminalreporter.write_sep("=", f"{missing} shared_data tests skipped: "
                                   f"{SHARED_DATA_MISSING}", yellow=True)


@pytest.fixture
def fresh_registry():
    """A registry loaded from entry points, discarded after the test (plugins may be added)."""
    registry_module.reset_registry()
    yield registry_module.get_registry()
    registry_module.reset_registry()


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A registry of the core built-ins plus the toy plugins, and a prepared data dir."""
    with toy_plugins.toy_environment(tmp_path, monkeypatch) as environment:
        yield environment


@pytest.fixture
def one_torch_thread():
    """One intra-op torch thread for tests of tiny networks: thread start-up and contention on
    shared cores cost far more than they save."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory) -> Path:
    """A synthetic run folder (``synthetic_run.make_run``), made once per test module."""
    return make_run(tmp_path_factory.mktemp("base"))


@pytest.fixture(scope="module")
def baseline(baseline_run, tmp_path_factory) -> Path:
    """The ``harness regress --write-baseline`` file of ``baseline_run``."""
    path = tmp_path_factory.mktemp("baseline") / "baseline.json"
    assert cli.main(["regress", str(baseline_run), "--write-baseline", str(path)]) == 0
    return path
