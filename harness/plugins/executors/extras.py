"""The optional libraries of the scale-out executors, each installed by a pip extra."""

from __future__ import annotations

import importlib
from typing import Any

from harness.errors import HarnessError


def import_extra(module: str, *, executor: str, library: str, extra: str) -> Any:
    """``module``, or one clear line saying that ``--executor executor`` needs ``library`` and
    which extra of nas-harness installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise HarnessError(f"--executor {executor} needs {library}, which is not installed: "
                           f"pip install 'nas-harness[{extra}]'") from None
