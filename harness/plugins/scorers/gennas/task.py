"""The GenNAS task schema (paper Fig. 1; docs/gennas.md): parse, validate, serialize, hash.

A task is a JSON object describing the three synthetic regression targets of a GenNAS proxy
task: input noise, the channel count of each level and, per level, the signal bases that are
summed into that level's target. Parsing is strict: an unknown key, a wrong type or a value
out of range raises ``ConfigError`` naming the field (as a JSON path) and what is allowed.

``Task.to_dict()`` is the canonical form: every basis key of every level is present (``null``
for an absent basis) and the optional keys appear only when set, so a task written in canonical
form (the shipped ones are) round-trips through ``parse_task`` / ``to_json`` to the same JSON.
``task_hash`` is the first 12 hex digits of the sha256 of the canonical JSON without the
free-text ``description``: two tasks with the same hash generate the same signals.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

LEVELS = ("0", "1", "2")
BASES = ("sin1d", "sin2d", "dot", "dot_gaussian", "resize")
NOISE_TYPES = ("uniform", "gaussian")
CHANNEL_BASE = 64
NUM_FREQUENCIES = 10
DEFAULT_LOSS_WEIGHTS = (0.25, 0.5, 1.0)
TOP_KEYS = ("description", "batchsize", "noise", "last_channel_l0", "last_channel_l1",
            "last_channel_l2", "feature", "train_weights", "eval_weights")
REQUIRED_TOP_KEYS = ("noise", "last_channel_l0", "last_channel_l1", "last_channel_l2", "feature")


@dataclass(frozen=True)
class Noise:
    """Input noise added on every forward pass: U(-level, level) or N(0, 1) * level."""

    type: str
    noise_level: float


@dataclass(frozen=True)
class Wave:
    """A ``sin1d`` / ``sin2d`` basis: amplitude, 10 frequencies (cycles per pixel), locality."""

    level: float
    range: tuple[float, ...]
    local: bool


@dataclass(frozen=True)
class Dot:
    """A ``dot`` / ``dot_gaussian`` basis: amplitude, fraction of the 64 cells holding a +-1 dot."""

    level: float
    partial: float
    local: bool


@dataclass(frozen=True)
class Resize:
    """A ``resize`` basis: amplitude of the 8x8 nearest-downsampled, min-max scaled input images."""

    level: float


@dataclass(frozen=True)
class LevelFeatures:
    """The bases summed into one level's target (``None`` = basis absent)."""

    sin1d: Wave | None = None
    sin2d: Wave | None = None
    dot: Dot | None = None
    dot_gaussian: Dot | None = None
    resize: Resize | None = None


@dataclass(frozen=True)
class Task:
    """One GenNAS task configuration (a distribution over concrete targets; seeds pick one)."""

    noise: Noise
    channel_multipliers: tuple[float, float, float]
    features: tuple[LevelFeatures, LevelFeatures, LevelFeatures]
    batchsize: int | None = None
    train_weights: tuple[float, float, float] | None = None
    eval_weights: tuple[float, float, float] | None = None
    description: str | None = None

    @property
    def channels(self) -> tuple[int, int, int]:
        """Target channels per level: ``int(m_l * 64)`` (as the reference code)."""
        return tuple(int(m * CHANNEL_BASE) for m in self.channel_multipliers)  # type: ignore[return-value]

    @property
    def loss_weights(self) -> tuple[float, float, float]:
        """Training loss weights per level (default 0.25, 0.5, 1.0)."""
        return self.train_weights or DEFAULT_LOSS_WEIGHTS

    @property
    def scored_weights(self) -> tuple[float, float, float]:
        """Evaluation loss weights per level (default 0.25, 0.5, 1.0)."""
        return self.eval_weights or DEFAULT_LOSS_WEIGHTS

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON object (key order as in the paper's configs)."""
        out: dict[str, Any] = {}
        if self.description is not None:
            out["description"] = self.description
        if self.batchsize is not None:
            out["batchsize"] = self.batchsize
        out["noise"] = {"type": self.noise.type, "noise_level": self.noise.noise_level}
        for index, multiplier in enumerate(self.channel_multipliers):
            out[f"last_channel_l{index}"] = multiplier
        out["feature"] = {level: _level_to_dict(features)
                          for level, features in zip(LEVELS, self.features, strict=True)}
        if self.train_weights is not None:
            out["train_weights"] = list(self.train_weights)
        if self.eval_weights is not None:
            out["eval_weights"] = list(self.eval_weights)
        return out

    def to_json(self, indent: int | None = 2) -> str:
        """Serialize to JSON (floats are written with ``repr``, so they read back exactly)."""
        return json.dumps(self.to_dict(), indent=indent)

    def canonical_json(self) -> str:
        """Compact canonical JSON of the signal-defining content (no ``description``)."""
        content = self.to_dict()
        content.pop("description", None)
        return json.dumps(content, sort_keys=True, separators=(",", ":"))

    @property
    def hash(self) -> str:
        """First 12 hex digits of sha256(canonical_json())."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:12]


def _level_to_dict(features: LevelFeatures) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in BASES:
        basis = getattr(features, name)
        if basis is None:
            out[name] = None
        elif isinstance(basis, Wave):
            out[name] = {"level": basis.level, "range": list(basis.range), "local": basis.local}
        elif isinstance(basis, Dot):
            out[name] = {"level": basis.level, "partial": basis.partial, "local": basis.local}
        else:
            out[name] = {"level": basis.level}
    return out


# -- parsing ------------------------------------------------------------------------------------
def _fail(path: str, problem: str) -> ConfigError:
    return ConfigError(f"GenNAS task: {path}: {problem}")


def _check_keys(obj: Any, path: str, allowed: tuple[str, ...], required: tuple[str, ...]) -> dict:
    if not isinstance(obj, dict):
        raise _fail(path, f"must be a JSON object with keys {', '.join(allowed)}; "
                          f"got {type(obj).__name__}")
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        raise _fail(path, f"unknown key(s) {', '.join(map(repr, unknown))}; "
                          f"allowed: {', '.join(allowed)}")
    missing = [key for key in required if key not in obj]
    if missing:
        raise _fail(path, f"missing key(s) {', '.join(map(repr, missing))}")
    return obj


def _number(value: Any, path: str, low: float, high: float, *,
            high_inclusive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(path, f"must be a finite number; got {value!r}")
    too_high = value > high if high_inclusive else value >= high
    if value < low or too_high:
        bracket = "]" if high_inclusive else ")"
        raise _fail(path, f"must be in [{low}, {high}{bracket}; got {value!r}")
    return float(value)


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(path, f"must be true or false; got {value!r}")
    return value


def _weights(value: Any, path: str) -> tuple[float, float, float]:
    if not isinstance(value, list) or len(value) != 3:
        raise _fail(path, f"must be a list of 3 non-negative numbers (levels 0, 1, 2); "
                          f"got {value!r}")
    return tuple(_number(w, f"{path}[{i}]", 0.0, math.inf) for i, w in enumerate(value))  # type: ignore[return-value]


def _parse_wave(obj: Any, path: str) -> Wave:
    _check_keys(obj, path, ("level", "range", "local"), ("level", "range", "local"))
    frequencies = obj["range"]
    if not isinstance(frequencies, list) or len(frequencies) != NUM_FREQUENCIES:
        raise _fail(f"{path}.range", f"must be a list of {NUM_FREQUENCIES} frequencies in "
                                     f"[0, 0.5) cycles per pixel; got {frequencies!r}")
    return Wave(level=_number(obj["level"], f"{path}.level", 0.0, math.inf),
                range=tuple(_number(f, f"{path}.range[{i}]", 0.0, 0.5, high_inclusive=False)
                            for i, f in enumerate(frequencies)),
                local=_bool(obj["local"], f"{path}.local"))


def _parse_dot(obj: Any, path: str) -> Dot:
    _check_keys(obj, path, ("level", "partial", "local"), ("level", "partial", "local"))
    # The paper's generator draws partial in [0, 1); CONF_COMBO uses 1.0 (every cell): allowed.
    return Dot(level=_number(obj["level"], f"{path}.level", 0.0, math.inf),
               partial=_number(obj["partial"], f"{path}.partial", 0.0, 1.0),
               local=_bool(obj["local"], f"{path}.local"))


def _parse_level(obj: Any, path: str) -> LevelFeatures:
    _check_keys(obj, path, BASES, ())
    parsed: dict[str, Any] = {}
    for name in BASES:
        value = obj.get(name)
        if value is None:
            continue
        basis_path = f"{path}.{name}"
        if name in ("sin1d", "sin2d"):
            parsed[name] = _parse_wave(value, basis_path)
        elif name in ("dot", "dot_gaussian"):
            parsed[name] = _parse_dot(value, basis_path)
        else:
            _check_keys(value, basis_path, ("level",), ("level",))
            level = _number(value["level"], f"{basis_path}.level", 0.0, math.inf)
            parsed[name] = Resize(level=level)
    return LevelFeatures(**parsed)


def parse_task(obj: Any) -> Task:
    """Validate a task JSON object and return the ``Task``; ``ConfigError`` names the bad field."""
    _check_keys(obj, "task", TOP_KEYS, REQUIRED_TOP_KEYS)
    description = obj.get("description")
    if description is not None and not isinstance(description, str):
        raise _fail("description", f"must be a string; got {description!r}")
    batchsize = obj.get("batchsize")
    if batchsize is not None and (isinstance(batchsize, bool) or not isinstance(batchsize, int)
                                  or batchsize < 1):
        raise _fail("batchsize", f"must be a positive integer (the harness batch_size option "
                                 f"overrides it); got {batchsize!r}")
    noise = _check_keys(obj["noise"], "noise", ("type", "noise_level"), ("type", "noise_level"))
    if noise["type"] not in NOISE_TYPES:
        raise _fail("noise.type", f"must be one of {', '.join(NOISE_TYPES)}; got {noise['type']!r}")
    multipliers = tuple(_number(obj[f"last_channel_l{i}"], f"last_channel_l{i}",
                                1 / CHANNEL_BASE, 8.0) for i in range(3))
    features = _check_keys(obj["feature"], "feature", LEVELS, LEVELS)
    return Task(
        noise=Noise(type=noise["type"],
                    noise_level=_number(noise["noise_level"], "noise.noise_level", 0.0, math.inf)),
        channel_multipliers=multipliers,  # type: ignore[arg-type]
        features=tuple(_parse_level(features[level], f"feature.{level}")  # type: ignore[arg-type]
                       for level in LEVELS),
        batchsize=batchsize,
        train_weights=_weights(obj["train_weights"], "train_weights")
        if "train_weights" in obj else None,
        eval_weights=_weights(obj["eval_weights"], "eval_weights")
        if "eval_weights" in obj else None,
        description=description,
    )


def load_task(path: Path | str) -> Task:
    """Read and validate a task JSON file (``ConfigError`` naming the file on any problem)."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"GenNAS task file {path} cannot be read: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"GenNAS task file {path} is not valid JSON: {exc}") from exc
    try:
        return parse_task(obj)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
