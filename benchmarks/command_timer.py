"""Seconds of one ``harness`` command in a child process: CPU time of its whole process tree
and wall time.

The child runs the command through ``harness.cli.main``, then stops (and reaps) the local
executor's fork server, so the fork server's CPU time and that of the workers it reaped reach
``getrusage(RUSAGE_CHILDREN)`` here; ``harness`` itself leaves the fork server to exit on its
own, unwaited, which a plain ``time harness ...`` would not count. Reading files from a cold page
cache waits without spending CPU time, so the CPU seconds move less with load than the wall ones.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from typing import NamedTuple

_SCRIPT = """
import sys
{prelude}
from harness.cli import main
status = main(sys.argv[1:])
from multiprocessing import forkserver
forkserver._forkserver._stop()
sys.exit(status)
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Timed(NamedTuple):
    """One command's CPU seconds (its whole process tree), wall seconds and standard output."""

    cpu_s: float
    wall_s: float
    stdout: str


def command_seconds(arguments: list[str], env: dict[str, str], prelude: str = "") -> Timed:
    """Run ``harness ARGUMENTS`` and time it; ``prelude`` is Python run in the child before the
    command (e.g. to patch a module)."""
    command = [sys.executable, "-c", _SCRIPT.format(prelude=prelude), *arguments]
    cpu, start = _children_cpu(), time.perf_counter()
    done = subprocess.run(command, env=env, check=True, stdout=subprocess.PIPE, text=True)
    return Timed(_children_cpu() - cpu, time.perf_counter() - start, done.stdout)
