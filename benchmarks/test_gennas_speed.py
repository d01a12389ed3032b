"""CPU time per NB201 architecture of GenNAS: the harness loop vs the faithful official loop.

Both rows train the same architecture (a mid-size cell with convolutions and an average pool)
from the same initial weights on the same targets for the same number of iterations; the
baseline is ``gpu_gennas.reference_train``, the official loop re-written (host noise copied per
forward pass, each evaluation loss read when taken, torch's own modules and SGD). The rows are
interleaved: rounds run harness, channels-last harness, reference, harness, ... so a change of
load on a shared machine hits all alike. The printed speed-up is the median over rounds of
reference / harness CPU seconds of the same round. The channels-last row (the ``memory_format``
option) is not bit-identical: docs/performance.md gives its measured effect on Kendall tau. Run with

    OMP_NUM_THREADS=1 nice -n 10 pytest benchmarks/test_gennas_speed.py --benchmark-enable \\
        --benchmark-timer time.process_time --timeout 0 -s -p no:cacheprovider

``GENNAS_BENCH_ITERATIONS`` (default 100, the method's) shortens the runs on busy machines and
``GENNAS_BENCH_ROUNDS`` (default 3) sets the number of pairs. Without ``--benchmark-enable`` each
row runs once (a smoke test). The scores of the two loops differ only by the noise draws (host
global generator vs the trial's generator); ``tests/test_gennas_kernels.py`` checks that the
harness's speed-ups leave its own scores bit-identical.
"""

from __future__ import annotations

import os
import statistics

import pytest
import torch

nb201 = pytest.importorskip("harness.plugins.spaces.nb201.space")

from gpu_gennas import reference_train  # noqa: E402  (benchmarks/ is on sys.path under pytest)

from harness.plugins.scorers.gennas.plugin import named_task  # noqa: E402
from harness.plugins.scorers.gennas.signals import build_targets  # noqa: E402
from harness.plugins.scorers.gennas.train import TrainSettings, train  # noqa: E402
from harness.plugins.scorers.gennas.wrapper import wrap  # noqa: E402

ARCH = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
        "+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
ITERATIONS = int(os.environ.get("GENNAS_BENCH_ITERATIONS", "100"))
ROUNDS = int(os.environ.get("GENNAS_BENCH_ROUNDS", "3"))
TASK = named_task("gennas-search-n")
# The harness loop as scored by default, the same loop with channels-last convolutions (the
# ``memory_format`` option), and the faithful official loop.
LOOPS = ("harness", "channels_last", "reference")
_seconds: dict[str, list[float]] = {loop: [] for loop in LOOPS}


@pytest.fixture(scope="module")
def problem():
    torch.set_num_threads(1)
    inputs = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    return inputs, build_targets(TASK, inputs, seed=0)


def _fresh_model(inputs):
    torch.manual_seed(0)
    space = nb201.NB201Space()
    backbone = space.build_model(ARCH, num_classes=10, variant="gennas")
    return wrap(space, backbone, TASK.channels, inputs[:2])


def _run_loop(loop: str, model, inputs, targets) -> None:
    if loop in ("harness", "channels_last"):
        memory_format = "contiguous" if loop == "harness" else "channels_last"
        settings = TrainSettings(iterations=ITERATIONS, memory_format=memory_format)
        train(model, inputs, targets, TASK.noise, settings, TASK.loss_weights,
              TASK.scored_weights, torch.Generator().manual_seed(0))
    else:
        reference_train(model, inputs, targets, TASK.noise, TrainSettings(iterations=ITERATIONS),
                        TASK.loss_weights, TASK.scored_weights)


def _report() -> None:
    reference = _seconds["reference"]
    print(f"\nGenNAS NB201 CPU, {ITERATIONS} iterations, {len(reference)} interleaved round(s), "
          f"faithful reference {statistics.median(reference):.2f} s")
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
    benchmark.pedantic(_run_loop, setup=lambda: ((loop, _fresh_model(inputs), inputs, targets),
                                                 {}), rounds=1, warmup_rounds=warmup)
    if benchmark.stats is not None:
        _seconds[loop].append(benchmark.stats.stats.mean)
        if loop == LOOPS[-1]:
            _report()
