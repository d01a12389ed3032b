"""Pydantic's validation errors in the harness's words: one line naming the value and the rule.

The run configuration (``harness.config``) and scorer options (``harness.options``) are pydantic
models; a value they refuse must reach the user as one ``ConfigError`` line (exit 2 from the
CLI), never as pydantic's multi-line report. ``rule_text`` words one error of
``ValidationError.errors()``; the callers add the flag it belongs to.
"""

from __future__ import annotations

from typing import Any

# pydantic error type -> what the value must be, in the words the CLI's messages use.
_TYPE_WORDS = {
    "int_type": "expects an integer",
    "int_parsing": "expects an integer",
    "int_from_float": "expects an integer",
    "float_type": "expects a finite number",
    "float_parsing": "expects a finite number",
    "finite_number": "expects a finite number",
    "bool_type": "expects true or false",
    "bool_parsing": "expects true or false",
    "string_type": "expects a string",
    "list_type": "expects a JSON list",
    "dict_type": "expects a JSON object",
    "model_type": "expects a JSON object",
    "model_attributes_type": "expects a JSON object",
    "none_required": "expects null",
}

_BOUND_WORDS = {
    "greater_than_equal": ("ge", "must be at least {}"),
    "greater_than": ("gt", "must be more than {}"),
    "less_than_equal": ("le", "must be at most {}"),
    "less_than": ("lt", "must be less than {}"),
    "too_short": ("min_length", "needs at least {} item(s)"),
    "too_long": ("max_length", "takes at most {} item(s)"),
}


def rule_text(error: dict[str, Any]) -> str:
    """``"must be at least 1"``, ``"expects an integer"``: the rule one pydantic error broke."""
    kind = error.get("type", "")
    if kind in _BOUND_WORDS:
        key, words = _BOUND_WORDS[kind]
        bound = (error.get("ctx") or {}).get(key)
        return words.format(_number(bound))
    if kind in _TYPE_WORDS:
        return _TYPE_WORDS[kind]
    return str(error.get("msg", "is not valid")).lower()


def shown(value: Any) -> str:
    """A value as a message quotes it: text in quotes, everything else as written, cut to 60."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(bound: Any) -> str:
    """``1.0`` -> ``"1"``: a bound as the user would type it."""
    if isinstance(bound, float) and bound.is_integer():
        return str(int(bound))
    return str(bound)
