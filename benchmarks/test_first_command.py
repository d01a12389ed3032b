"""The README's first command, timed whole from a clean data dir, against the command it replaced.

Row ``readme`` is README.md's first command as written there (its ``harness`` part, read from
the file, so the benchmark times what the README says; the installs are not timed), with an
empty ``HARNESS_DATA_DIR`` and a fresh ``--out`` folder every round: the bundled NB-201 table and
images, worker start-up, every trial and the report. Row ``gennas-100`` is the same command
with ``gennas-search-n`` (GenNAS's 100-iteration schedule) in place of ``gennas-search-n-fast``
(30 iterations, docs/performance.md), which the first command ran before. Rounds alternate the
rows in ABBA order; each prints its CPU seconds (the whole process tree, ``command_timer``),
wall seconds, the load average and the command's standard-output lines; at the end, the medians
per row and their ratios. Run with

    nice -n 10 pytest benchmarks/test_first_command.py --benchmark-enable -s -p no:cacheprovider \\
        --timeout 0

``FIRST_COMMAND_BENCH_ROUNDS`` (default 2) sets the rounds; ``FIRST_COMMAND_BENCH_ROWS=readme``
times the README's command alone (the baseline takes about three times as long).
"""

from __future__ import annotations

import os
import shlex
import statistics
from pathlib import Path

import pytest
from command_timer import Timed, command_seconds

README = Path(__file__).resolve().parents[1] / "README.md"
ROUNDS = int(os.environ.get("FIRST_COMMAND_BENCH_ROUNDS", "2"))
ROWS = tuple(os.environ.get("FIRST_COMMAND_BENCH_ROWS", "readme,gennas-100").split(","))
_measured: dict[str, list[Timed]] = {row: [] for row in ROWS}


def readme_first_command() -> list[str]:
    """The ``harness`` arguments of README.md's first command (its first code line, after the
    ``&&`` of the installs)."""
    first_line = README.read_text().split("```", 2)[1].strip().splitlines()[0]
    command = shlex.split(first_line.split("&&")[-1])
    assert command[0] == "harness", f"README's first command runs {command[0]!r}"
    return command[1:]


def _arguments(row: str, out_dir: Path) -> list[str]:
    arguments = readme_first_command()
    arguments[arguments.index("--out") + 1] = str(out_dir)
    if row == "gennas-100":
        scorers = arguments.index("--scorers") + 1
        assert "gennas-search-n-fast" in arguments[scorers].split(","), arguments
        arguments[scorers] = arguments[scorers].replace("gennas-search-n-fast", "gennas-search-n")
    return arguments


def _medians() -> None:
    print("\nREADME's first command, medians:")
    for row in ROWS:
        cpu = statistics.median(timed.cpu_s for timed in _measured[row])
        wall = statistics.median(timed.wall_s for timed in _measured[row])
        print(f"  {row}: CPU {cpu:.1f} s, wall {wall:.1f} s ({len(_measured[row])} runs)")
    if len(ROWS) == 2:
        for clock in ("cpu_s", "wall_s"):
            new, old = (statistics.median(getattr(t, clock) for t in _measured[row])
                        for row in ROWS)
            print(f"  {ROWS[1]} / {ROWS[0]} ({clock}): {old / new:.2f}x")


@pytest.mark.benchmark(group="readme-first-command")
@pytest.mark.parametrize(("round_", "row"),
                         [(r, row) for r in range(ROUNDS) for row in ROWS[::(-1) ** r]], ids=str)
def test_readme_first_command(benchmark, tmp_path, round_, row):
    env = {key: value for key, value in os.environ.items()
           if key not in ("HARNESS_LOAD_PLUGINS", "HARNESS_DISABLE_PLUGINS")}
    env["HARNESS_DATA_DIR"] = str(tmp_path / "data")  # empty: what a fresh clone has
    arguments = _arguments(row, tmp_path / "first")
    timed = benchmark.pedantic(lambda: command_seconds(arguments, env), rounds=1)
    _measured[row].append(timed)
    print(f"\n{row} round {round_}: CPU {timed.cpu_s:.1f} s, wall {timed.wall_s:.1f} s, load "
          f"average {os.getloadavg()[0]:.1f}, {len(timed.stdout.splitlines())} stdout lines")
    if sum(map(len, _measured.values())) == ROUNDS * len(ROWS):
        _medians()
