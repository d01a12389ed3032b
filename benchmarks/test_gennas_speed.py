"""Seconds per NB201 architecture of GenNAS on CPU: the harness loop vs the reference habits.

Both benchmarks train the same architecture (a mid-size cell) on the same targets for the
same number of iterations; the baseline is ``gpu_gennas.reference_train`` (host noise + copy,
``.item()`` every iteration). Compare the two rows of the ``gennas-nb201-cpu`` group; the
ratio is also printed. Run with

    pytest benchmarks/test_gennas_speed.py --benchmark-enable --timeout 0 -s

``GENNAS_BENCH_ITERATIONS`` (default 100, the method's) shortens the runs on busy machines;
``--benchmark-timer time.process_time`` measures CPU time, which shared cores distort less.
"""

from __future__ import annotations

import os

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
TASK = named_task("gennas-search-n")
_seconds: dict[str, float] = {}


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


def _record(benchmark, name):
    if benchmark.stats is not None:
        _seconds[name] = benchmark.stats.stats.mean
    if {"harness", "reference"} <= set(_seconds):
        ratio = _seconds["reference"] / _seconds["harness"]
        print(f"\nGenNAS NB201 CPU, {ITERATIONS} iterations: harness {_seconds['harness']:.2f} s, "
              f"reference loop {_seconds['reference']:.2f} s, ratio {ratio:.2f}")


@pytest.mark.benchmark(group="gennas-nb201-cpu")
def test_harness_loop(benchmark, problem):
    inputs, targets = problem
    settings = TrainSettings(iterations=ITERATIONS)

    def run(model):
        train(model, inputs, targets, TASK.noise, settings, TASK.loss_weights,
              TASK.scored_weights, torch.Generator().manual_seed(0))

    benchmark.pedantic(run, setup=lambda: ((_fresh_model(inputs),), {}), rounds=2,
                       warmup_rounds=1)
    _record(benchmark, "harness")


@pytest.mark.benchmark(group="gennas-nb201-cpu")
def test_reference_loop(benchmark, problem):
    inputs, targets = problem
    settings = TrainSettings(iterations=ITERATIONS)

    def run(model):
        reference_train(model, inputs, targets, TASK.noise, settings, TASK.loss_weights,
                        TASK.scored_weights)

    benchmark.pedantic(run, setup=lambda: ((_fresh_model(inputs),), {}), rounds=2,
                       warmup_rounds=1)
    _record(benchmark, "reference")
