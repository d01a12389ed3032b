"""CPU time of GenNAS on NB201 architectures: the harness loop vs the faithful official loop.

Every row trains the same architectures (``GENNAS_BENCH_ARCHS``, default 6, uniform random
NB201 cells drawn with seed 0, as ``harness compare`` samples them) from the same initial
weights on the same targets for the same number of iterations; a round's time is the sum over
the architectures. The baseline is ``gpu_gennas.reference_train``, the official loop re-written
(host noise copied per forward pass, each evaluation loss read when taken, torch's own modules
and SGD, every selected op run). The harness rows are its loop with contiguous tensors (the
bit-identical speed-ups: the shifted-add 3x3 pool, skipped dead paths, foreach SGD, inference
mode) and the same with channels-last convolutions, the default ``memory_format`` (not
bit-identical: docs/performance.md gives its measured effect on Kendall tau). The rows are
interleaved: each round runs every row once, so a change of load on a shared machine hits all
alike. The printed speed-up is the median over rounds of reference / row CPU seconds of the
same round. Run with

    OMP_NUM_THREADS=1 nice -n 10 pytest benchmarks/test_gennas_speed.py --benchmark-enable \\
        --benchmark-timer time.process_time --timeout 0 -s -p no:cacheprovider

``GENNAS_BENCH_ITERATIONS`` (default 100, the method's) shortens the runs on busy machines and
``GENNAS_BENCH_ROUNDS`` (default 3) sets the number of rounds. Without ``--benchmark-enable``
each row runs once (a smoke test). The scores of the harness and the reference differ only by
the noise draws (host global generator vs the trial's generator); ``tests/test_gennas_kernels.py``
checks that the harness's bit-identical speed-ups leave its own scores so.
"""

from __future__ import annotations

import os
import statistics

import pytest
import torch

nb201 = pytest.importorskip("harness.plugins.spaces.nb201.space")

from gpu_gennas import (  # noqa: E402  (benchmarks/ is on sys.path under pytest)
    gennas_model,
    random_nb201_archs,
    train_row,
)

from harness.plugins.scorers.gennas.plugin import named_task  # noqa: E402
from harness.plugins.scorers.gennas.signals import build_targets  # noqa: E402
from harness.plugins.scorers.gennas.train import TrainSettings  # noqa: E402

ARCHS = random_nb201_archs(int(os.environ.get("GENNAS_BENCH_ARCHS", "6")), seed=0)
ITERATIONS = int(os.environ.get("GENNAS_BENCH_ITERATIONS", "100"))
ROUNDS = int(os.environ.get("GENNAS_BENCH_ROUNDS", "3"))
TASK = named_task("gennas-search-n")
# The harness loop with contiguous tensors, the same loop with channels-last convolutions (the
# default ``memory_format``), and the faithful official loop.
LOOPS = ("contiguous", "channels_last", "reference")
_seconds: dict[str, list[float]] = {loop: [] for loop in LOOPS}


@pytest.fixture(scope="module")
def problem():
    torch.set_num_threads(1)
    inputs = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    return inputs, build_targets(TASK, inputs, seed=0)


def _fresh_models(loop: str, inputs) -> list:
    """Each arch's network as the row trains it, same initial weights in every row."""
    space = nb201.NB201Space()
    return [gennas_model(space, arch, TASK, inputs, reference=loop == "reference", seed=0)
            for arch in ARCHS]


def _run_loop(loop: str, models, inputs, targets) -> None:
    memory_format = "channels_last" if loop == "channels_last" else "contiguous"
    settings = TrainSettings(iterations=ITERATIONS, memory_format=memory_format)
    for model in models:
        train_row(model, inputs, targets, TASK, settings, reference=loop == "reference", seed=0)


def _report() -> None:
    reference = _seconds["reference"]
    print(f"\nGenNAS NB201 CPU, {len(ARCHS)} archs x {ITERATIONS} iterations, {len(reference)} "
          f"interleaved round(s), faithful reference {statistics.median(reference):.2f} s")
    for loop in LOOPS[:-1]:
        pairs = list(zip(_seconds[loop], reference, strict=False))
        speedup = statistics.median(ref / seconds for seconds, ref in pairs)
        print(f"  {loop}: {statistics.median(s for s, _ in pairs):.2f} s, speed-up over the "
              f"reference (paired median) {speedup:.2f}x")


@pytest.mark.benchmark(group="gennas-nb201-cpu")
@pytest.mark.parametrize(("round_", "loop"), [(r, loop) for r in range(ROUNDS) for loop in LOOPS],
                         ids=lambda value: str(value))
def test_loop_seconds(benchmark, problem, round_, loop):
    inputs, targets = problem
    warmup = 1 if round_ == 0 else 0  # allocator and kernel caches, once per loop
    benchmark.pedantic(_run_loop, setup=lambda: ((loop, _fresh_models(loop, inputs), inputs,
                                                  targets), {}), rounds=1, warmup_rounds=warmup)
    if benchmark.stats is not None:
        _seconds[loop].append(benchmark.stats.stats.mean)
        if loop == LOOPS[-1]:
            _report()
