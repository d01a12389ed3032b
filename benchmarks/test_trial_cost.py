"""``params`` trials per second in one worker on NB-201: the space's count vs building the model.

A trial is what a worker does for it (``harness.trial.execute_trial``: seeding, the count, the
peak-memory meter, the result record), on ``ARCHS`` distinct random cells with the benchmark's
own network (the ``params`` default). Rows: ``space-count`` is ``params`` as it runs, taking
NB-201's analytic count (``harness.protocols.CountingSpace``); ``weight-free-build`` is the
same scorer building the model without weights (before the count); ``real-weights`` builds it
with the trial seed, the init schemes and the move to the device (before
``harness.trial.WeightFreeScorer``). Rounds alternate the rows; the printed ratios are
medians over rounds of each build row's CPU seconds / the space-count row's. Run with

    OMP_NUM_THREADS=1 nice -n 10 pytest benchmarks/test_trial_cost.py --benchmark-enable \\
        --benchmark-timer time.process_time -s -p no:cacheprovider
"""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass

import pytest
import torch

from harness import seeding
from harness.plugins.scorers.model_size import Params, parameter_count
from harness.plugins.scorers.zerocost_common import fresh_model
from harness.registry import get_registry
from harness.store import Trial
from harness.trial import TrialJob, execute_trial

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
ARCHS = 40
ROUNDS = 3
ROWS = ("space-count", "weight-free-build", "real-weights")
_seconds: dict[str, list[float]] = {row: [] for row in ROWS}


@dataclass
class BuildingParams(Params):
    """``params`` as it ran before it took the space's count: it builds the model."""

    name: str = "params-weight-free-build"

    def score(self, ctx):
        return float(parameter_count(fresh_model(ctx)))


@dataclass
class RealWeightParams(BuildingParams):
    """``params`` as it ran before it declared that it needs no weights."""

    name: str = "params-real-weights"
    needs_weights: bool = True


SCORERS = {"space-count": "params", "weight-free-build": BuildingParams.name,
           "real-weights": RealWeightParams.name}


def _archs() -> list[str]:
    rng = random.Random(0)
    archs = []
    for _ in range(ARCHS):
        ops = [rng.choice(NB201_OPS) for _ in range(6)]
        archs.append(f"|{ops[0]}~0|+|{ops[1]}~0|{ops[2]}~1|+|{ops[3]}~0|{ops[4]}~1|{ops[5]}~2|")
    return archs


def _job(arch: str, scorer: str, tmp_dir: str) -> TrialJob:
    trial = Trial("nb201", "cifar10-valid", arch, scorer, "bench", 0, "default", "default", 1)
    return TrialJob(trial, seeding.derive_trial_seed(0, "nb201", arch), 0, {"batch_size": 1},
                    "cifar10", 10, (3, 32, 32), None, {}, tmp_dir, "cpu")


@pytest.fixture(scope="module")
def registry():
    registry = get_registry()
    if registry.pm.get_plugin("bench-building-params") is None:
        from harness.hookspecs import hookimpl

        class _Plugin:
            @hookimpl
            def harness_register_scorers(self, register):
                register(BuildingParams())
                register(RealWeightParams())

        registry.register_plugin(_Plugin(), "bench-building-params")
    return registry


@pytest.mark.benchmark(group="params-trial-nb201-cpu")
@pytest.mark.parametrize(("round_", "row"), [(r, row) for r in range(ROUNDS) for row in ROWS],
                         ids=str)
def test_params_trials(benchmark, registry, tmp_path, round_, row):
    torch.set_num_threads(1)
    jobs = [_job(arch, SCORERS[row], str(tmp_path)) for arch in _archs()]

    def run_all() -> None:
        for job in jobs:
            result = execute_trial(job)
            assert result.status == "ok", result.message

    benchmark.pedantic(run_all, rounds=1, warmup_rounds=1 if round_ == 0 else 0)
    if benchmark.stats is None:
        return
    _seconds[row].append(benchmark.stats.stats.mean)
    if row == ROWS[-1]:
        count = _seconds["space-count"]
        rates = ", ".join(f"{name} {ARCHS / statistics.median(_seconds[name]):.0f}"
                          for name in ROWS)
        ratios = ", ".join(f"{name} / space-count {_median_ratio(_seconds[name], count):.1f}x"
                           for name in ROWS[1:])
        print(f"\nparams on NB-201, {ARCHS} archs per round, trials/s: {rates}; CPU-time "
              f"ratios: {ratios}")


def _median_ratio(seconds: list[float], baseline: list[float]) -> float:
    return statistics.median(s / b for s, b in zip(seconds, baseline, strict=False))
