"""The one hash of the harness: short, stable names for JSON-able values (trial keys' scorer
configs, a run's selection, default run folder names)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_hash(value: Any) -> str:
    """First 12 hex digits of the sha256 of ``value``'s canonical JSON (sorted keys, no spaces),
    so equal values hash equal whatever their key order."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
