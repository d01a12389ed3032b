"""Where prepared benchmark tables and datasets live: ``--data-dir``, else ``HARNESS_DATA_DIR``,
else the user cache dir (``~/.cache/harness`` on Linux)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def resolve_data_dir(explicit: str | Path | None = None) -> Path:
    """The data dir to use, in order: the argument, ``HARNESS_DATA_DIR``, the user cache dir."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("HARNESS_DATA_DIR"):
        return Path(os.environ["HARNESS_DATA_DIR"]).expanduser()
    return Path(platformdirs.user_cache_dir("harness"))
