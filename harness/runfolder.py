"""A run folder: its ``run.json``, and its two rules (one run at a time, and the selections
its ``run.json`` lists).

``run.json`` records the run's configuration with its provenance (``write_run_config``): the
command, the versions, what the plan selected, and ``history``, one entry per command that ran
trials in the folder. ``harness compare --config`` reads the configuration back
(``read_run_config``); reports read the whole record (``read_run_record``).

``hold_run_folder`` locks ``RUN_DIR/run.lock`` (``fcntl.flock``, non-blocking) for the length
of a run, so two processes never compute the same trial: a second ``harness compare`` on the
folder is refused at once with the first one's pid and command. The operating system drops
the lock when its process ends, however it ends, so a killed run leaves no stale lock behind
(the file stays; only the lock counts).

``check_selection`` keeps a folder to the selections its history records (``run_history``): a
run of one of them is a resume (the same command again, ``--config run.json``,
``--retry-failed``); another one is refused before any work unless ``--extend`` adds it on
purpose. So every trial in a folder belongs to a command its
provenance lists, and the report (computed over every stored trial) covers exactly them.
``check_configs_kept`` refuses a resume (a selection ``is_recorded``) that would score archs
again under another config of a scorer than the one the folder already scored them with (a
default changed in a newer version, or the images changed): never a silent re-scoring beside
the finished trials.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.config import RunConfig
from harness.errors import ConfigError, HarnessError, one_line
from harness.store import Trial
from harness.version import __version__

RUN_CONFIG_FILE = "run.json"
LOCK_FILE = "run.lock"


def write_run_config(run_dir: Path, config: RunConfig, command: list[str] | None,
                     selected: dict[str, Any], *, runs_trials: bool = True,
                     extend: bool = False) -> Path:
    """``RUN_DIR/run.json``: the configuration (``harness compare --config`` reads it back), the
    command and versions that ran it, ``selected``: what its plan selected
    (``RunPlan.summary()``: spaces, skipped spaces, scorer configs, trial count), and
    ``history``: one entry per command that ran trials in the folder (``run_history``), this
    one added when it ``runs_trials`` (``extend``: it added its selection with ``--extend``)."""
    import torch  # for its version only: the command line imports this module before torch

    path = Path(run_dir) / RUN_CONFIG_FILE
    now = datetime.now(UTC).isoformat(timespec="seconds")
    history = run_history(run_dir)
    if runs_trials:
        history.append({"command": command or [], "selection": config.selection(),
                        "n_trials": selected.get("n_trials"), "extend": extend,
                        "started_at": now})
    document = {
        "command": command or [],
        "config": config.to_dict(),
        "harness_version": __version__,
        "torch_version": torch.__version__,
        "python_version": sys.version.split()[0],
        "written_at": now,
        **selected,
        "history": history,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)
    return path


def record_import(run_dir: Path, entry: dict[str, Any]) -> Path:
    """Add ``entry`` (``command``, ``import``: what a ``harness import`` read, and how many
    trials it added) to ``RUN_DIR/run.json``'s history, keeping the rest of the record; a
    folder without a ``run.json`` gets one holding only its history."""
    path = Path(run_dir) / RUN_CONFIG_FILE
    document = read_run_record(run_dir)
    history = run_history(run_dir)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    history.append({**entry, "started_at": now})
    document["history"] = history
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)
    return path


def run_history(run_dir: Path) -> list[dict[str, Any]]:
    """The commands that ran trials in ``run_dir``, oldest first, each with its ``command``,
    ``selection`` (``RunConfig.selection()``), ``n_trials``, ``extend`` and ``started_at``.

    [] without a readable ``run.json``; a ``run.json`` written before the history existed
    counts as one entry, its own command and configuration.
    """
    document = read_run_record(run_dir)
    history = document.get("history")
    if isinstance(history, list):
        return [entry for entry in history if isinstance(entry, dict)]
    config = document.get("config")
    if not isinstance(config, dict):
        return []
    selection = {k: v for k, v in config.items() if k not in RunConfig.EXECUTION_FIELDS}
    return [{"command": document.get("command", []), "selection": selection,
             "n_trials": document.get("n_trials"), "extend": False,
             "started_at": document.get("written_at")}]


def read_run_config(path: Path) -> RunConfig:
    """The ``RunConfig`` saved in a ``run.json`` (or a run folder holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / RUN_CONFIG_FILE
    try:
        document = json.loads(path.read_text())
        return RunConfig.from_dict(document["config"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"--config {path}: not a run.json written by harness compare "
                          f"({one_line(exc)})") from exc


def read_run_record(run_dir: Path) -> dict[str, Any]:
    """``RUN_DIR/run.json`` (command, configuration, versions, history) as a dict, as recorded
    for provenance; {} when absent or unreadable (a report then says unknown)."""
    try:
        loaded = json.loads((Path(run_dir) / RUN_CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


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


def is_recorded(run_dir: Path, config: RunConfig) -> bool:
    """Whether ``run_dir``'s history records ``config``'s selection: running it is a resume."""
    wanted = config.selection_hash()
    return any(known is not None and known.selection_hash() == wanted
               for known in (_recorded_config(entry) for entry in run_history(run_dir)
                             if "import" not in entry))


def check_selection(run_dir: Path, config: RunConfig, *, extend: bool = False) -> None:
    """Refuse ``config`` on ``run_dir`` unless its selection is one the folder records, or
    ``extend`` adds it on purpose (a folder without a ``run.json`` takes any selection)."""
    # Imported scores (``record_import``) never constrain which selection runs beside them.
    history = [entry for entry in run_history(run_dir) if "import" not in entry]
    if extend or not history or is_recorded(run_dir, config):
        return
    latest = _recorded_config(history[-1])
    differs = (_differences(latest, config) if latest is not None
               else "its recorded selection is unreadable")
    raise ConfigError(f"--out {run_dir} holds the trials of another selection ({differs}); "
                      f"give this run a new --out, or add --extend to add its trials to that "
                      f"run on purpose")


def check_configs_kept(run_dir: Path, to_run: Iterable[Trial], stored: Iterable[Trial],
                       configs: dict[str, dict[str, Any]]) -> None:
    """Refuse to run ``to_run``, a resume's trials, when ``stored`` holds the same cell (space,
    dataset, arch, scorer, seed, inits) under another config of the scorer: the folder's trials
    were scored with the defaults or images of their time, and a resume must not score them
    again beside them unasked. ``configs`` maps config hashes to the key configs (stored and
    planned)."""
    planned = {_cell(trial): trial.scorer_config_hash for trial in to_run}
    changed: Counter[tuple[str, str, str]] = Counter()
    for trial in stored:
        new_hash = planned.get(_cell(trial))
        if new_hash is not None and new_hash != trial.scorer_config_hash:
            changed[(trial.scorer, trial.scorer_config_hash, new_hash)] += 1
    if not changed:
        return
    (scorer, old_hash, new_hash), count = changed.most_common(1)[0]
    old, new = configs.get(old_hash, {}), configs.get(new_hash, {})
    keys = sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))
    differs = "; ".join(f"{key} {_config_value(new, key)} now, {_config_value(old, key)} there"
                        for key in keys) or "configs unreadable"
    raise ConfigError(
        f"--out {run_dir}: {count} finished {scorer} trials there were scored under another "
        f"config ({differs}): a default or the input images changed since they ran. Resume "
        f"them as they were with --extend and --option {scorer}.KEY=VALUE giving their values "
        f"(an option absent there ran its default of that time: docs/compare.md), or score "
        f"the new config beside them with --extend and --option {scorer}.KEY=VALUE giving the "
        f"new values (a study: the row's options)")


def _cell(trial: Trial) -> tuple[str, ...]:
    return (trial.space, trial.dataset, trial.arch_id, trial.scorer, str(trial.seed),
            trial.weight_init, trial.bias_init)


def _config_value(config: dict[str, Any], key: str) -> str:
    return json.dumps(config[key], sort_keys=True) if key in config else "absent"


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
