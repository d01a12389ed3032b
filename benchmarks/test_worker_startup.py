"""Fixed start-up of ``harness compare`` on one arch: the lean fork-server preload vs the old one.

The run is one ``params`` trial on one NB-201 cell with one local worker, i.e. almost only
fixed cost: the driver's start, the fork server importing its preload list, one worker, the
report. The rows differ only in ``FORKSERVER_PRELOAD`` of the local executor: today's list
(torch and the two harness modules a trial needs) and the list it replaced, which also imported
``torch._inductor.config`` and ``harness.reports`` in the fork server. Rounds alternate the two
rows in ABBA order (lean, old, old, lean, ...): the first command of a pair re-reads torch's
files when the page cache is cold, which a fixed order would charge to one row. Measured: CPU
seconds of the whole process tree (the command stops its fork server before it exits, so the
fork server and the workers it reaped are counted by ``getrusage(RUSAGE_CHILDREN)``; reading
files from a cold cache waits without spending CPU time) and wall seconds, medians over rounds,
and the ratios old / lean. Run with

    nice -n 10 pytest benchmarks/test_worker_startup.py --benchmark-enable -s -p no:cacheprovider
"""

from __future__ import annotations

import os
import statistics

import pytest
from command_timer import command_seconds

ROUNDS = int(os.environ.get("STARTUP_BENCH_ROUNDS", "4"))  # an even count: ABBA
OLD_PRELOAD = ["torch", "torch._inductor.config", "harness.trial", "harness.seeding",
               "harness.reports"]
ROWS = ("lean", "old")
_measured: dict[str, list[tuple[float, float]]] = {row: [] for row in ROWS}  # (cpu, wall)
_OLD_PRELUDE = ("import harness.plugins.executors.local as local\n"
                f"local.FORKSERVER_PRELOAD[:] = {OLD_PRELOAD!r}")


def _run(row: str, out_dir: str, env: dict[str, str]) -> tuple[float, float]:
    return command_seconds(["compare", "--spaces", "nb201", "--scorers", "params", "--samples",
                            "1", "--workers", "1", "--out", out_dir], env,
                           prelude=_OLD_PRELUDE if row == "old" else "")


@pytest.mark.benchmark(group="compare-startup-one-arch")
@pytest.mark.parametrize(("round_", "row"),
                         [(r, row) for r in range(ROUNDS) for row in ROWS[::(-1) ** r]], ids=str)
def test_compare_one_arch_startup(benchmark, tmp_path, round_, row):
    env = {key: value for key, value in os.environ.items()
           if key not in ("HARNESS_LOAD_PLUGINS", "HARNESS_DISABLE_PLUGINS")}
    env["HARNESS_DATA_DIR"] = str(tmp_path / "data")  # empty: the bundled NB-201 table
    out_dir = str(tmp_path / "run")
    benchmark.pedantic(lambda: _measured[row].append(_run(row, out_dir, env)), rounds=1)
    if len(_measured["lean"]) != len(_measured["old"]):
        return
    print("\nharness compare, 1 arch x params, 1 worker (medians):")
    for index, clock in enumerate(("CPU", "wall")):
        lean = statistics.median(seconds[index] for seconds in _measured["lean"])
        old = statistics.median(seconds[index] for seconds in _measured["old"])
        print(f"  {clock}: lean preload {lean:.2f} s, old preload {old:.2f} s, "
              f"old / lean {old / lean:.2f}x")
