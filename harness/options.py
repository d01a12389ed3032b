"""Checks a scorer's options before they enter a trial key: types from its defaults, ranges
from its declaration.

An override must have the type of the default it replaces (an integer default takes integers,
a float default takes any finite number, a dict default takes a dict whose known keys are
checked the same way; a ``None`` default takes anything). Numeric options may be bounded by
the scorer's ``option_ranges`` (``harness.protocols.RangedScorer``); every scorer's
``batch_size`` must be at least 1. A failed check is a ``ConfigError`` naming the option, so
``harness compare`` stops before anything is written.
"""

from __future__ import annotations

import math
from typing import Any

from harness.errors import ConfigError
from harness.protocols import OptionRanges, RangedScorer

# Bounds every scorer gets: the harness itself draws batches of ``batch_size`` inputs.
HARNESS_RANGES: OptionRanges = {"batch_size": (1, None)}


def check_overrides(scorer_name: str, defaults: dict[str, Any], overrides: dict[str, Any],
                    prefix: str = "") -> None:
    """Refuse an override whose type differs from its default's (recursing into dicts)."""
    for key, value in overrides.items():
        if key not in defaults:
            continue
        default = defaults[key]
        where = f"--option {scorer_name}.{prefix}{key}"
        expected = _expected_type(default)
        if expected is not None and not _has_type(value, default):
            raise ConfigError(f"{where}={_shown(value)}: expects {expected} (default "
                              f"{_shown(default)})")
        if isinstance(default, dict):
            check_overrides(scorer_name, default, value, f"{prefix}{key}.")


def check_ranges(scorer: Any, config: dict[str, Any]) -> None:
    """Refuse a numeric option outside the harness's or the scorer's declared bounds."""
    declared = scorer.option_ranges if isinstance(scorer, RangedScorer) else {}
    for path, (low, high) in {**HARNESS_RANGES, **declared}.items():
        value = _lookup(config, path.split("."))
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        where = f"--option {scorer.name}.{path}={_shown(value)}"
        if low is not None and value < low:
            raise ConfigError(f"{where}: must be at least {low}")
        if high is not None and value > high:
            raise ConfigError(f"{where}: must be at most {high}")


def _expected_type(default: Any) -> str | None:
    """How an error names the type a default asks for (None: any value is accepted)."""
    if default is None:
        return None
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, float):
        return "a finite number"
    if isinstance(default, str):
        return "a string"
    if isinstance(default, dict):
        return "a JSON object"
    if isinstance(default, list | tuple):
        return "a JSON list"
    return None


def _has_type(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int)
    if isinstance(default, float):
        return isinstance(value, int | float) and math.isfinite(value)
    if isinstance(default, list | tuple):
        return isinstance(value, list | tuple)
    return isinstance(value, type(default))


def _lookup(config: dict[str, Any], path: list[str]) -> Any:
    node: Any = config
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
