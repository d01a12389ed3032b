"""Checks a run's inputs when it is planned, before anything is written or any trial runs.

A mistake that would otherwise show up as one ``error`` or ``timeout`` row per trial (a
negative ``--trial-timeout``, ``--device cuda`` without CUDA, an ``--images`` set that cannot
be read) or as a traceback at the first write (an ``--out`` or ``--data-dir`` that is a file,
read-only, or a folder no file can be made in, such as one under ``/proc``) becomes one
``ConfigError`` naming the flag, and the command exits 2 with nothing written.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from harness.config import RunConfig
from harness.errors import ConfigError, HarnessError
from harness.registry import Registry
from harness.trial import TrialJob


@runtime_checkable
class CheckedDataset(Protocol):
    """Optional: a dataset that checks its inputs once when a run is planned, so a source that
    cannot be read stops the run before any trial (the ``images`` dataset reads every image)."""

    def check_inputs(self, *, data_dir: Path, **options: Any) -> None:
        """Raise ``DatasetError`` where ``batch(..., **options)`` would fail for every trial."""


def check_execution(config: RunConfig) -> None:
    """``--workers``, ``--trial-timeout`` and ``--device`` describe something this machine can
    do."""
    if isinstance(config.workers, bool) or not isinstance(config.workers, int) \
            or config.workers < 0:
        raise ConfigError(f"--workers {config.workers}: give 0 (run in this process) or a "
                          f"positive number of worker processes")
    timeout = config.trial_timeout_s
    if timeout is not None and not (isinstance(timeout, int | float) and math.isfinite(timeout)
                                    and timeout > 0):
        raise ConfigError(f"--trial-timeout {timeout}: give a positive number of seconds")
    _check_device(config.device)


def _check_device(device: str) -> None:
    if not isinstance(device, str) or (device not in ("cpu", "cuda")
                                       and not device.startswith("cuda:")):
        raise ConfigError(f"--device {device!r}: use cpu, cuda or cuda:N")
    if device == "cpu":
        return
    index_text = device.partition(":")[2] or "0"
    if not index_text.isdigit():
        raise ConfigError(f"--device {device!r}: N in cuda:N is a device number, e.g. cuda:0")
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise ConfigError(f"--device {device}: this machine has no CUDA device that torch can "
                          f"use (torch {torch.__version__}); use --device cpu")
    if int(index_text) >= count:
        raise ConfigError(f"--device {device}: this machine has {count} CUDA device(s), "
                          f"cuda:0 to cuda:{count - 1}")


def check_run_dir(run_dir: Path) -> None:
    """The run folder is a folder, or can be made one, and is writable."""
    check_writable_folder(Path(run_dir), f"--out {run_dir}")


def check_writable_folder(folder: Path, flag: str) -> None:
    """``folder`` is a folder, or can be made one, and a file can be written in it; ``flag``
    names it in the ``ConfigError``. Permission bits do not tell (``/proc`` is "writable" to
    root, a full disk or a read-only mount is not in them), so both are tried; whatever the try
    made is removed again, leaving the file system as it was."""
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{flag}: is a file, not a folder")
    existing = folder.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{flag}: {existing} is a file, so no folder can be made under it")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag}: {existing} is not writable (read-only file system or no "
                          f"permission)")
    made = [path for path in [folder.absolute(), *folder.absolute().parents]
            if path.is_relative_to(existing) and path != existing]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".harness-write-check-", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(f"{flag}: cannot create or write a file in {folder} "
                          f"({exc.strerror or exc}); choose a folder you can write to") from None
    finally:
        for path in made:  # deepest first
            with contextlib.suppress(OSError):
                path.rmdir()


def check_inputs(jobs: Iterable[TrialJob], registry: Registry) -> None:
    """Let every dataset that can (``CheckedDataset``, e.g. ``images``) check each distinct input
    source once, so an empty folder or a corrupt image stops the run here rather than failing
    every trial."""
    seen: set[str] = set()
    for job in jobs:
        key = repr((job.dataset_plugin, sorted((job.inputs or {}).items())))
        if job.inputs is None or key in seen:
            continue
        seen.add(key)
        plugin = registry.get("dataset", job.dataset_plugin)
        if not isinstance(plugin, CheckedDataset):
            continue
        try:
            plugin.check_inputs(data_dir=Path(job.data_dir), **job.inputs)
        except HarnessError as exc:
            flag = "--images" if job.dataset_plugin == "images" else f"dataset {plugin.name}"
            raise ConfigError(f"{flag}: {exc}") from None
