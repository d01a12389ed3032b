"""Start-up time of the ``harness`` command against a bare interpreter (``python -c pass``).

Users type ``harness --help`` and ``harness data status`` all day; they must answer at once
(issue 20: under 0.5 s, which means never importing torch or scipy). Each round runs the
baseline and the command one after the other, so both see the same machine load; the ratio of
their medians is printed and stored in ``extra_info``. Run with

    pytest benchmarks/test_cli_startup.py --benchmark-enable -s
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROUNDS = 10
BASELINE = [sys.executable, "-c", "pass"]
SCRIPT = Path(sys.executable).with_name("harness")
HARNESS = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "harness.cli"]
COMMANDS = {"help": ["--help"], "version": ["--version"], "data-status": ["data", "status"]}


def _seconds(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


@pytest.mark.benchmark(group="cli-startup")
@pytest.mark.parametrize("command", list(COMMANDS))
def test_cli_startup_against_bare_python(benchmark, command, tmp_path):
    env = {key: value for key, value in os.environ.items()
           if key not in ("HARNESS_LOAD_PLUGINS", "HARNESS_DISABLE_PLUGINS")}
    env["HARNESS_DATA_DIR"] = str(tmp_path)  # empty: every space reports "missing"
    times: dict[str, list[float]] = {"baseline": [], command: []}

    def one_round() -> None:
        times["baseline"].append(_seconds(BASELINE, env))
        times[command].append(_seconds([*HARNESS, *COMMANDS[command]], env))

    benchmark.pedantic(one_round, rounds=ROUNDS, warmup_rounds=1)
    baseline_s = statistics.median(times["baseline"][-ROUNDS:])
    command_s = statistics.median(times[command][-ROUNDS:])
    benchmark.extra_info.update({"baseline_s": baseline_s, "command_s": command_s,
                                 "ratio": command_s / baseline_s})
    print(f"\nharness {' '.join(COMMANDS[command])}: {command_s:.3f} s, python -c pass "
          f"{baseline_s:.3f} s, ratio {command_s / baseline_s:.1f}")
