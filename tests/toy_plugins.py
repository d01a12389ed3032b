"""Tiny in-process plugins for the core tests: a space of 8 archs, a dataset, a few scorers.

The space's ground truth is a prepared table that ``write_ground_truth`` writes under a test's
data dir; ``write_distribution`` makes this module an *installed distribution* (a
``.dist-info`` folder with an entry point) so that ``harness`` subprocesses find it exactly as
they find a pip-installed plugin.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from harness.errors import ConfigError, DataNotPreparedError, ScorerSkipped
from harness.groundtruth.table import (
    GroundTruthTable,
    MetricInfo,
    file_sha256,
    prepared_table_path,
)
from harness.hookspecs import hookimpl
from harness.protocols import Batch

ARCHS = [f"w{width}" for width in (1, 2, 3, 4, 5, 6, 7, 8)]
ENTRY_POINT = "toy"
DISTRIBUTION = "harness-toy-plugins"


def toy_table(accuracy: dict[str, float] | None = None) -> GroundTruthTable:
    """Ground truth where wider is better (accuracy = 50 + 5 * width) unless told otherwise."""
    accuracy = accuracy or {arch: 50.0 + 5 * int(arch[1:]) for arch in ARCHS}
    frame = pd.DataFrame({"acc": list(accuracy.values())}, index=list(accuracy))
    frame.index.name = "arch_id"
    return GroundTruthTable("toy", frame, [MetricInfo("acc", "toyset", True, "test accuracy")],
                            {"toyset": "acc"}, {"file": "toy.csv", "sha256": "0" * 64})


def write_ground_truth(data_dir: Path) -> Path:
    return toy_table().save(prepared_table_path(data_dir, "toy"))


class ToySpace:
    """Archs ``w1``..``w8``: conv(3 -> width) -> ReLU -> pool -> linear."""

    name = "toy"
    datasets = {"toyset": "toyset"}
    prepare_options = {"--column NAME": "the source's accuracy column (default acc)"}

    def parse_arch(self, text: str) -> str:
        if text.strip() not in ARCHS:
            raise ConfigError(f"{text!r} is not a toy arch; toy archs: {', '.join(ARCHS)}")
        return text.strip()

    def ground_truth(self, data_dir: Path) -> GroundTruthTable:
        path = prepared_table_path(data_dir, "toy")
        if not path.exists():
            raise DataNotPreparedError(f"toy ground truth not prepared under {data_dir}; run "
                                       f"`harness data prepare toy --source toy.csv`")
        return GroundTruthTable.load(path)

    def prepare(self, source: Path, data_dir: Path, **options) -> Path:
        frame = pd.read_csv(source, index_col="arch_id")
        column = options.get("column", "acc")
        table = toy_table({str(a): float(v) for a, v in frame[column].items()})
        table.source = {"file": Path(source).name, "sha256": file_sha256(source),
                        "options": options}
        return table.save(prepared_table_path(data_dir, "toy"))

    def build_model(self, arch_id: str, *, num_classes: int, **options) -> nn.Module:
        width = int(arch_id[1:])
        return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes))

    def forward_taps(self, model: nn.Module, inputs: torch.Tensor) -> list[torch.Tensor]:
        return [model[0](inputs)]

    def mutate(self, arch_id: str, rng) -> str:
        return rng.choice([a for a in ARCHS if a != arch_id])


class ToyDataset:
    name = "toyset"
    num_classes = 3
    input_shape = (3, 8, 8)

    def batch(self, batch_size: int, seed: int, *, data_dir: Path, **options) -> Batch:
        generator = torch.Generator().manual_seed(seed)
        inputs = torch.randn(batch_size, *self.input_shape, generator=generator)
        return Batch(inputs, torch.arange(batch_size) % self.num_classes)


class WeightSum:
    """Depends on the arch, the inputs, the init and the trial seed: a determinism probe."""

    name = "weightsum"
    needs_inputs = True
    defaults = {"batch_size": 4, "scale": 1.0, "delay_s": 0.0}

    def score(self, ctx) -> float:
        time.sleep(ctx.config["delay_s"])
        model = ctx.build_model()
        noise = torch.rand(1, generator=ctx.generator).item()
        return ctx.config["scale"] * float(model(ctx.batch.inputs).sum().detach()) + noise


class Width:
    """Data-free and exact: the arch's width (perfectly correlated with the toy ground truth)."""

    name = "width"
    needs_inputs = False
    defaults = {"batch_size": 1}

    def score(self, ctx) -> float:
        return float(ctx.build_model()[0].out_channels)


class NanScorer:
    name = "nan"
    needs_inputs = False
    defaults = {"batch_size": 1}
    nonfinite_reason = "this toy always returns NaN"  # harness.trial.NonFiniteReasonScorer

    def score(self, ctx) -> float:
        return math.nan


class Raising:
    name = "boom"
    needs_inputs = False
    defaults = {"batch_size": 1}

    def score(self, ctx) -> float:
        raise RuntimeError("boom\nsecond line of the message")


class Sleepy:
    name = "sleepy"
    needs_inputs = False
    defaults = {"batch_size": 1, "sleep_s": 60.0}

    def score(self, ctx) -> float:
        time.sleep(ctx.config["sleep_s"] if ctx.arch_id == "w1" else 0.0)
        return 1.0


class Crashing:
    name = "crash"
    needs_inputs = False
    defaults = {"batch_size": 1}

    def score(self, ctx) -> float:
        if ctx.arch_id == "w1":
            os.kill(os.getpid(), signal.SIGSEGV)
        return 2.0


class Skipping:
    name = "skipper"
    needs_inputs = False
    defaults = {"batch_size": 1}

    def score(self, ctx) -> float:
        raise ScorerSkipped("toy archs have no cells")


class OutOfMemory:
    """Asks a GPU for 4 TiB (on CPU it skips rather than let the OS try)."""

    name = "oom"
    needs_inputs = False
    defaults = {"batch_size": 1}

    def score(self, ctx) -> float:
        if ctx.device.type != "cuda":
            raise ScorerSkipped("the oom probe runs on GPUs only")
        return float(torch.empty(2**40, device=ctx.device).sum())


SCORERS = (WeightSum(), Width(), NanScorer(), Raising(), Sleepy(), Crashing(), Skipping(),
           OutOfMemory())


@hookimpl
def harness_register_spaces(register):
    register(ToySpace())


@hookimpl
def harness_register_datasets(register):
    register(ToyDataset())


@hookimpl
def harness_register_scorers(register):
    for scorer in SCORERS:
        register(scorer)


def write_distribution(site_dir: Path, module: str = "toy_plugins",
                       entry_point: str = ENTRY_POINT, name: str = DISTRIBUTION) -> Path:
    """Make ``module`` an installed distribution ``name`` with one ``harness`` entry point.

    Put ``site_dir`` (and the folder holding ``module``) on ``sys.path`` / ``PYTHONPATH`` and
    ``importlib.metadata`` finds it like any pip-installed package.
    """
    dist_info = site_dir / f"{name.replace('-', '_')}-0.0.1.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.0.1\n")
    (dist_info / "entry_points.txt").write_text(f"[harness]\n{entry_point} = {module}\n")
    return dist_info


# Built-in plugins the core tests need; the others' plugins stay out so these tests neither
# depend on them nor pay for importing them (in every worker process).
CORE_PLUGINS = "local_executor,initializers"
REPORTERS = "builtin_reporters"
TESTS_DIR = Path(__file__).resolve().parent


@contextmanager
def toy_environment(tmp_path: Path, monkeypatch,
                    plugins: str = CORE_PLUGINS) -> Iterator[tuple[Any, Path]]:
    """A fresh registry with the core built-ins and these toy plugins; a prepared data dir."""
    from harness import registry as registry_module

    data_dir = tmp_path / "data"
    write_ground_truth(data_dir)
    monkeypatch.setenv("HARNESS_LOAD_PLUGINS", plugins)
    monkeypatch.setenv("HARNESS_DATA_DIR", str(data_dir))
    registry_module.reset_registry()
    registry = registry_module.get_registry()
    registry.register_plugin(sys.modules[__name__], ENTRY_POINT)
    try:
        yield registry, data_dir
    finally:
        registry_module.reset_registry()


def subprocess_env(tmp_path: Path, data_dir: Path, extra_plugins: str = "") -> dict[str, str]:
    """Environment for a ``harness`` subprocess that finds the toy plugins by entry point."""
    site = tmp_path / "site"
    write_distribution(site)
    path = os.pathsep.join([str(site), str(TESTS_DIR), os.environ.get("PYTHONPATH", "")])
    plugins = ",".join(p for p in (CORE_PLUGINS, ENTRY_POINT, extra_plugins) if p)
    return {**os.environ, "PYTHONPATH": path, "HARNESS_DATA_DIR": str(data_dir),
            "HARNESS_LOAD_PLUGINS": plugins, "PYTHONWARNINGS": "ignore"}


class MinimalPlugin:
    """The toy space and dataset with the fast ``width`` scorer only (for ``--scorers all``)."""

    @hookimpl
    def harness_register_spaces(self, register):
        register(ToySpace())

    @hookimpl
    def harness_register_datasets(self, register):
        register(ToyDataset())

    @hookimpl
    def harness_register_scorers(self, register):
        register(Width())


def harness_executable() -> str:
    """The ``harness`` console script of the running interpreter's environment."""
    return str(Path(sys.executable).with_name("harness"))


def toy_config(tmp_path: Path, **overrides: Any) -> Any:
    """A run of the ``width`` scorer on every toy arch, in this process, under ``tmp_path``."""
    from harness.config import RunConfig

    values = {"spaces": ["toy"], "scorers": ["width"], "samples": None, "workers": 0,
              "out": str(tmp_path / "run")}
    return RunConfig(**{**values, **overrides})


def run_toy(config: Any) -> Any:
    """Plan and execute ``config`` without a progress bar; the run's summary."""
    from harness.execute import execute_plan
    from harness.plan import plan_run

    return execute_plan(plan_run(config), progress=False)
