"""CPU time of AZ-NAS's three network parts on NB-201 cells: one pass each vs one shared pass.

The ``az_nas`` aggregate runs ``az_trainability``, ``az_expressivity`` and ``az_progressivity``
on each arch, one after another in a worker. The baseline row scores each part with nothing to
share (each runs its own pass: the harness before the parts shared their pass); the shared row
scores them as a run does now, trainability first, whose pass the other two read
(``harness.plugins.scorers.az_nas.LastPass``). Same archs (``AZ_BENCH_ARCHS``, default 6
uniform random NB-201 cells, seed 0), same trial contexts (``test_scorer_cost.context``),
batch 64 of Gaussian inputs, one thread; the rows are interleaved per round and the printed
speed-up is the median over rounds of baseline / shared CPU seconds of the same round, beside
each round's. Run with

    OMP_NUM_THREADS=1 nice -n 10 pytest benchmarks/test_az_shared_pass.py --benchmark-enable \\
        --benchmark-timer time.process_time -s -p no:cacheprovider

Without ``--benchmark-enable`` each row runs once (a smoke test). The scores of both rows are
equal bit for bit (``tests/test_scorers_recent_parts.py``).
"""

from __future__ import annotations

import os
import statistics

import pytest
import torch
from gpu_gennas import random_nb201_archs  # benchmarks/ is on sys.path under pytest
from test_scorer_cost import context  # a trial context as the worker builds it

from harness.plugins.scorers import az_nas
from harness.plugins.scorers.az_nas import AzScore

ARCHS = random_nb201_archs(int(os.environ.get("AZ_BENCH_ARCHS", "6")), seed=0)
ROUNDS = int(os.environ.get("AZ_BENCH_ROUNDS", "3"))
PARTS = [AzScore("trainability"), AzScore("expressivity"), AzScore("progressivity")]
ROWS = ("shared", "one_pass_each")
_seconds: dict[str, list[float]] = {row: [] for row in ROWS}


def score_archs(row: str) -> None:
    for arch in ARCHS:
        for part in PARTS:
            if row == "one_pass_each" or part is PARTS[0]:
                az_nas._LAST_PASS = az_nas.LastPass()
            part.score(context(part, arch))


@pytest.mark.benchmark(group="az-nas-parts-nb201-cpu")
@pytest.mark.parametrize(("round_", "row"), [(r, row) for r in range(ROUNDS) for row in ROWS],
                         ids=lambda value: str(value))
def test_az_parts_seconds(benchmark, round_, row):
    torch.set_num_threads(1)
    benchmark.pedantic(score_archs, args=(row,), rounds=1, warmup_rounds=1 if round_ == 0 else 0)
    if benchmark.stats is not None:
        _seconds[row].append(benchmark.stats.stats.mean)
        if row == ROWS[-1]:
            pairs = list(zip(_seconds["shared"], _seconds["one_pass_each"], strict=False))
            print(f"\nAZ-NAS parts, {len(ARCHS)} NB-201 archs, {len(pairs)} round(s): one pass "
                  f"each {statistics.median(b for _, b in pairs):.2f} s, shared "
                  f"{statistics.median(s for s, _ in pairs):.2f} s, speed-up (paired median) "
                  f"{statistics.median(b / s for s, b in pairs):.2f}x (rounds: "
                  f"{', '.join(f'{b / s:.2f}' for s, b in pairs)})")
