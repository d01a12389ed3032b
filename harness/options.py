"""Checks a scorer's options before they enter a trial key, with a pydantic model made from the
scorer's defaults and declared ranges.

``options_model(scorer)`` has one field per default: its type is the default's (an integer
default takes integers, a float default any finite number, a dict default a JSON object whose
known keys are checked the same way and whose other keys pass; a ``None`` default takes
anything), bounded by the scorer's ``option_ranges`` (``harness.options.RangedScorer``) and
the harness's own (every scorer's ``batch_size`` is at least 1). Validation is strict: ``"3"``
is not an integer, ``true`` is not a number. ``check_options`` validates a resolved config and
turns the first refusal into one ``ConfigError`` naming the option, so ``harness compare``
stops at planning time, before anything is written. The config itself is used as given (the
model only checks it), so trial keys and config hashes do not depend on pydantic.
"""

from __future__ import annotations

from typing import Annotated, Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from harness.errors import ConfigError
from harness.protocols import BENCHMARK_FORM, OptionRanges
from harness.refusals import rule_text, shown


@runtime_checkable
class RangedScorer(Protocol):
    """Optional: a scorer that bounds its numeric options, checked before a run starts.

    ``option_ranges`` maps an option's dotted path (``"split_data"``, ``"inputs.size"``) to
    inclusive ``(low, high)`` bounds, ``None`` for an open end. Every option's type is already
    checked against its default's; ``batch_size >= 1`` holds for every scorer."""

    option_ranges: OptionRanges

# Bounds every scorer gets: the harness itself draws batches of ``batch_size`` inputs.
HARNESS_RANGES: OptionRanges = {"batch_size": (1, None)}

# Options every scorer takes, whatever its defaults say: ``network``, the network form it scores
# (a scorer declares its own in its defaults: ``"network": "zerocost"``; each space maps a form
# to its builder options, ``harness.protocols.NetworkFormSpace``), and ``model_options``, the
# user's own builder options per space (``--option synflow.model_options.SPACE.KEY=VALUE``).
NETWORK_DEFAULTS: dict[str, Any] = {"network": BENCHMARK_FORM, "model_options": {}}

# Known keys are checked; keys a default dict does not list pass (a scorer may read them).
_MODEL_CONFIG = ConfigDict(strict=True, extra="allow")

_BOUND_ERRORS = ("greater_than_equal", "less_than_equal")


def check_options(scorer: Any, config: dict[str, Any]) -> None:
    """Refuse ``config`` (the scorer's defaults merged with the user's ``--option`` values) when
    a value has another type than its default or lies outside its declared bounds."""
    try:
        options_model(scorer).model_validate(config)
    except ValidationError as exc:
        raise ConfigError(_option_problem(scorer, exc.errors()[0])) from None


def options_model(scorer: Any) -> type[BaseModel]:
    """The pydantic model of ``scorer``'s options: types from its defaults, bounds from its
    ``option_ranges`` and ``HARNESS_RANGES``."""
    declared = scorer.option_ranges if isinstance(scorer, RangedScorer) else {}
    return _model_of(f"{scorer.name}_options", {**NETWORK_DEFAULTS, **scorer.defaults},
                     {**HARNESS_RANGES, **declared}, prefix="")


def _model_of(name: str, defaults: dict[str, Any], ranges: OptionRanges,
              prefix: str) -> type[BaseModel]:
    fields = {key: (_annotation(f"{name}_{key}", default, ranges, f"{prefix}{key}"), default)
              for key, default in defaults.items()}
    return create_model(name, __config__=_MODEL_CONFIG, **fields)


def _annotation(name: str, default: Any, ranges: OptionRanges, path: str) -> Any:
    """The type a value replacing ``default`` must have, with the bounds declared at ``path``."""
    low, high = ranges.get(path, (None, None))
    if default is None:
        return Any
    if isinstance(default, bool):
        return bool
    if isinstance(default, int):
        return Annotated[int, Field(ge=low, le=high)]
    if isinstance(default, float):
        return Annotated[float, Field(ge=low, le=high, allow_inf_nan=False)]
    if isinstance(default, dict):
        return _model_of(name, default, ranges, prefix=f"{path}.")
    if isinstance(default, list | tuple):
        return Annotated[list[Any], Field(strict=False)]  # a tuple is a list, as in JSON
    return type(default)


def _option_problem(scorer: Any, error: dict[str, Any]) -> str:
    """``"--option synflow.batch_size=-4: must be at least 1"``; a type error adds the default."""
    path = [str(part) for part in error["loc"] if not isinstance(part, int)]
    where = f"--option {scorer.name}.{'.'.join(path)}={shown(error.get('input'))}"
    if error["type"] in _BOUND_ERRORS:
        return f"{where}: {rule_text(error)}"
    default: Any = scorer.defaults
    for key in path:
        default = default.get(key) if isinstance(default, dict) else None
    return f"{where}: {rule_text(error)} (default {shown(default)})"
