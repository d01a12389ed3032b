"""The example third-party distribution under examples/, installed by pip, end to end.

pip installs it into a temporary target folder (not the shared virtualenv), which is then put
on the path: the plugin is found through its entry point exactly as after `pip install`.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import toy_plugins

from harness import cli, load_trials

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "harness-example-plugin"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--quiet",
         "--target", str(target), str(EXAMPLE)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return target


def test_harness_plugins_lists_the_installed_example(installed, tmp_path):
    env = toy_plugins.subprocess_env(tmp_path, tmp_path / "data", "example_random")
    env["PYTHONPATH"] = f"{installed}:{env['PYTHONPATH']}"
    result = subprocess.run([toy_plugins.harness_executable(), "plugins", "--json"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = {(r["kind"], r["name"]): r for r in json.loads(result.stdout)["plugins"]}
    assert rows[("scorer", "random")] == {
        "name": "random", "kind": "scorer", "plugin": "example_random",
        "distribution": "harness-example-plugin", "version": "0.1.0"}


def test_harness_compare_uses_the_installed_example(installed, tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(installed))
    with toy_plugins.toy_environment(tmp_path, monkeypatch,
                                     f"{toy_plugins.CORE_PLUGINS},example_random"):
        code = cli.main(["compare", "--spaces", "toy", "--scorers", "random", "--seeds", "0-1",
                         "--samples", "all", "--workers", "1", "--quiet", "--no-report",
                         "--out", str(tmp_path / "run")])
    assert code == 0, capsys.readouterr().err
    trials = load_trials(tmp_path / "run")
    assert len(trials) == 16 and set(trials.status) == {"ok"}
    assert trials.score.between(0, 1).all() and trials.score.nunique() == 16
