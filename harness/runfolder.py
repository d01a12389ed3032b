"""A run folder's two rules: one run at a time, and the selections its ``run.json`` lists.

``hold_run_folder`` locks ``RUN_DIR/run.lock`` (``fcntl.flock``, non-blocking) for the length
of a run, so two processes never compute the same trial: a second ``harness compare`` on the
folder is refused at once with the first one's pid and command. The operating system drops
the lock when its process ends, however it ends, so a killed run leaves no stale lock behind
(the file stays; only the lock counts).

``check_selection`` keeps a folder to the selections its history records (``run.json``,
``harness.config.run_history``): a run of one of them is a resume (the same command again,
``--config run.json``, ``--retry-failed``); another one is refused before any work unless
``--extend`` adds it on purpose. So every trial in a folder belongs to a command its
provenance lists, and the report (computed over every stored trial) covers exactly them.
"""

from __future__ import annotations

import fcntl
import os
import shlex
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.config import RunConfig, run_history
from harness.errors import ConfigError, HarnessError

LOCK_FILE = "run.lock"


class RunFolderBusy(HarnessError):
    """Another process holds the run folder's lock (it is running trials there now)."""


@contextmanager
def hold_run_folder(run_dir: Path, command: Sequence[str]) -> Iterator[None]:
    """Hold ``run_dir``'s lock for the block; ``RunFolderBusy`` at once if another process has it.

    The lock file names its holder (pid and command) for the message of the process refused.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / LOCK_FILE, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = " ".join(handle.read().split()) or "another process"
            raise RunFolderBusy(f"{run_dir} is in use by {holder}: wait until it ends, or give "
                                f"this run another --out") from None
        handle.truncate(0)
        text = " ".join(shlex.join(command).split()) or "a run with no command line"
        handle.write(f"pid {os.getpid()} ({text})\n")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)  # closing the file releases the lock


def check_selection(run_dir: Path, config: RunConfig, *, extend: bool = False) -> None:
    """Refuse ``config`` on ``run_dir`` unless its selection is one the folder records, or
    ``extend`` adds it on purpose (a folder without a ``run.json`` takes any selection)."""
    history = run_history(run_dir)
    if extend or not history:
        return
    wanted = config.selection_hash()
    recorded = [_recorded_config(entry) for entry in history]
    if any(known is not None and known.selection_hash() == wanted for known in recorded):
        return
    latest = recorded[-1]
    differs = (_differences(latest, config) if latest is not None
               else "its recorded selection is unreadable")
    raise ConfigError(f"--out {run_dir} holds the trials of another selection ({differs}); "
                      f"give this run a new --out, or add --extend to add its trials to that "
                      f"run on purpose")


def _recorded_config(entry: dict[str, Any]) -> RunConfig | None:
    """The ``RunConfig`` of a history entry's selection (defaults for fields it predates)."""
    selection = entry.get("selection")
    if not isinstance(selection, dict):
        return None
    try:
        return RunConfig.from_dict(selection)
    except (ConfigError, TypeError):
        return None


def _differences(recorded: RunConfig, config: RunConfig) -> str:
    """``"--samples 100 here, 10 there; --scorers ..."``: the selection fields that differ."""
    before, now = recorded.selection(), config.selection()
    parts = []
    for name in now:
        if now[name] != before.get(name):
            flag = "--option" if name == "options" else "--" + name.replace("_", "-")
            parts.append(f"{flag} {_shown(name, now[name])} here, "
                         f"{_shown(name, before.get(name))} there")
    return "; ".join(parts)


def _shown(name: str, value: Any) -> str:
    """A selection value as the command line writes it (``None`` samples: all archs)."""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if value is None:
        return "all" if name == "samples" else "unset"
    return str(value)
