"""``params`` trials per second in one worker on NB-201: weight-free build vs a real-weight build.

A trial is what a worker does for it (``harness.trial.execute_trial``: seeding, the model
build through ``ctx.build_model``, the count, the peak-memory meter, the result record), on
``ARCHS`` distinct random cells with the benchmark's own network (the ``params`` default). The
baseline row is the same scorer declaring ``needs_weights = True`` (the trial seed, the init
schemes and the move to the device, as before ``harness.protocols.WeightFreeScorer``). Rounds
alternate the two rows; the printed ratio is the median over rounds of baseline / weight-free
CPU seconds. Run with

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
from harness.plugins.scorers.model_size import Params
from harness.registry import get_registry
from harness.store import Trial
from harness.trial import TrialJob, execute_trial

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
ARCHS = 40
ROUNDS = 3
ROWS = ("weight-free", "real-weights")
_seconds: dict[str, list[float]] = {row: [] for row in ROWS}


@dataclass
class RealWeightParams(Params):
    """``params`` as it ran before it declared that it needs no weights."""

    name: str = "params-real-weights"
    needs_weights: bool = True


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
    if registry.pm.get_plugin("bench-real-weight-params") is None:
        from harness.hookspecs import hookimpl

        class _Plugin:
            @hookimpl
            def harness_register_scorers(self, register):
                register(RealWeightParams())

        registry.register_plugin(_Plugin(), "bench-real-weight-params")
    return registry


@pytest.mark.benchmark(group="params-trial-nb201-cpu")
@pytest.mark.parametrize(("round_", "row"), [(r, row) for r in range(ROUNDS) for row in ROWS],
                         ids=str)
def test_params_trials(benchmark, registry, tmp_path, round_, row):
    torch.set_num_threads(1)
    scorer = "params" if row == "weight-free" else RealWeightParams.name
    jobs = [_job(arch, scorer, str(tmp_path)) for arch in _archs()]

    def run_all() -> None:
        for job in jobs:
            result = execute_trial(job)
            assert result.status == "ok", result.message

    benchmark.pedantic(run_all, rounds=1, warmup_rounds=1 if round_ == 0 else 0)
    if benchmark.stats is None:
        return
    _seconds[row].append(benchmark.stats.stats.mean)
    if row == ROWS[-1]:
        free, real = _seconds["weight-free"], _seconds["real-weights"]
        ratio = statistics.median(r / f for f, r in zip(free, real, strict=False))
        print(f"\nparams on NB-201, {ARCHS} archs per round: weight-free "
              f"{ARCHS / statistics.median(free):.0f} trials/s, real weights "
              f"{ARCHS / statistics.median(real):.0f} trials/s, ratio {ratio:.2f}x")
