"""Real ``harness compare`` processes with two workers: SIGTERM, SIGHUP and SIGINT stop the
whole run (driver, workers, fork server) keeping every finished trial intact, and a second
process on a busy run folder is refused naming the first."""

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import toy_plugins

from harness import load_trials
from harness.config import RunConfig
from harness.execute import execute_plan
from harness.plan import plan_run
from harness.runfolder import hold_run_folder

# Per seed, arch-major: w1's sleepy trial holds one worker for a minute while the other runs
# the seed's 14 other trials; then it takes seed 1's w1 sleepy trial too. With 16 trials stored
# both workers are a minute from done: a worker the driver leaves behind would still be there.
SCORERS = "weightsum,sleepy"
STORED_WHEN_STUCK = 16


def _stored_rows(path: Path) -> int:
    try:
        with sqlite3.connect(path, timeout=5) as connection:
            return connection.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    except sqlite3.Error:
        return 0


def _start_run(tmp_path: Path, data_dir: Path, run_dir: Path) -> tuple[subprocess.Popen, list]:
    """A two-worker run in its own process group; returns once both workers are stuck in a
    one-minute trial (``STORED_WHEN_STUCK`` trials stored)."""
    command = [toy_plugins.harness_executable(), "compare", "--spaces", "toy", "--scorers",
               SCORERS, "--seeds", "0-1", "--samples", "all", "--workers", "2", "--no-report",
               "--quiet", "--out", str(run_dir)]
    process = subprocess.Popen(command, env=toy_plugins.subprocess_env(tmp_path, data_dir),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    deadline = time.monotonic() + 240
    while _stored_rows(run_dir / "trials.sqlite") < STORED_WHEN_STUCK:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run never stored a trial"
        time.sleep(0.05)
    return process, command


def _processes_in_group(group: int) -> list[int]:
    """Pids whose process group is ``group`` (read from /proc: field 5 of /proc/PID/stat)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended while we looked
            continue
        if int(stat.rsplit(")", 1)[1].split()[2]) == group:
            pids.append(int(entry.name))
    return pids


def _reference_scores(tmp_path: Path) -> dict:
    reference_dir = tmp_path / "reference"
    execute_plan(plan_run(RunConfig(
        spaces=["toy"], scorers=["weightsum"], seeds=[0, 1], samples=None, workers=0,
        out=str(reference_dir))), progress=False)
    return load_trials(reference_dir).set_index(["arch_id", "seed"]).score.to_dict()


def _stop_and_check(process: subprocess.Popen, signum: int, run_dir: Path,
                    tmp_path: Path) -> None:
    """Send ``signum`` to the run's driver; check its exit status, that no process of its group
    is left, that the finished trials are stored intact, and that the folder is free again."""
    os.kill(process.pid, signum)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, err
    assert f"interrupted by {signal.Signals(signum).name}" in out
    assert "run the same command again" in err
    deadline = time.monotonic() + 15
    while (left := _processes_in_group(process.pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"processes of the run still alive: {left}"
    trials = load_trials(run_dir)
    assert len(trials) == STORED_WHEN_STUCK and set(trials.status) == {"ok"}
    assert not ((trials.arch_id == "w1") & (trials.scorer == "sleepy")).any()
    weightsum = trials[trials.scorer == "weightsum"]
    stored = weightsum.set_index(["arch_id", "seed"]).score.to_dict()
    reference = _reference_scores(tmp_path)
    assert stored == {key: reference[key] for key in stored}, "finished trials are intact"
    with hold_run_folder(run_dir, ["next"]):
        pass  # the stopped run released the folder


NEEDS_PROC = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


@NEEDS_PROC
@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name)
def test_signal_stops_every_process_and_keeps_finished_trials(toy, tmp_path, signum):
    _, data_dir = toy
    process, _ = _start_run(tmp_path, data_dir, tmp_path / "run")
    _stop_and_check(process, signum, tmp_path / "run", tmp_path)


@NEEDS_PROC
def test_second_run_on_a_busy_folder_is_refused_and_sigterm_stops_the_first(toy, tmp_path):
    _, data_dir = toy
    run_dir = tmp_path / "run"
    first, command = _start_run(tmp_path, data_dir, run_dir)
    try:
        second = subprocess.run(command, env=toy_plugins.subprocess_env(tmp_path, data_dir),
                                capture_output=True, text=True, timeout=300)
        assert second.returncode == 2, second.stderr
        lines = second.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(
            f"harness: error: {run_dir} is in use by pid {first.pid} (harness compare --spaces "
            f"toy "), lines
        assert first.poll() is None, "the first run was still running when refused the second"
        _stop_and_check(first, signal.SIGTERM, run_dir, tmp_path)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
