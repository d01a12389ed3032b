"""Where prepared benchmark tables and datasets live: ``--data-dir``, else ``HARNESS_DATA_DIR``,
else the user cache dir (``~/.cache/harness`` on Linux)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from harness.errors import ConfigError


def resolve_data_dir(explicit: str | Path | None = None) -> Path:
    """The data dir to use, in order: the argument, ``HARNESS_DATA_DIR``, the user cache dir.

    ``ConfigError`` when it names a file: every command would fail on it later, less clearly.
    """
    if explicit:
        return _folder(Path(explicit).expanduser(), "--data-dir")
    if os.environ.get("HARNESS_DATA_DIR"):
        return _folder(Path(os.environ["HARNESS_DATA_DIR"]).expanduser(), "HARNESS_DATA_DIR")
    return _folder(Path(platformdirs.user_cache_dir("harness")), "the user cache folder")


def _folder(path: Path, origin: str) -> Path:
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{origin} {path}: is a file, not a folder")
    return path
