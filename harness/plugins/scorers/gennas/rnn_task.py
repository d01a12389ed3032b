"""GenNAS-RNN tasks (Li et al., NeurIPS 2021, appendix; official code github.com/leeyeehoo/GenNAS,
``CONF_NLP*``; docs/gennas.md): schema and the synthetic input/target sequences.

A task maps one synthetic **input** sequence (feature ``"0"``) to one synthetic **target**
sequence (feature ``"1"``), both (L, B, D) time-major: L = ``length`` (8) steps, B samples,
D = the task's ``dimension``. Bases are those of the CNN task (sin1d, sin2d, dot,
dot_gaussian; no resize), drawn on a square grid of side S = max(L, D) with positions 1..S,
cropped to the first L rows (time) and D columns (features), one map per sample (C = 1):

- ``sin1d``: per frequency, 32 phases; 32 maps along rows (sin for even k, cos for odd k) and
  the same 32 along columns -> 64 candidates per frequency; a random permutation keeps one;
- ``sin2d``: per ordered frequency pair, theta = 2 pi (b1 i + b2 j) + 2 phi; 32 maps and their
  vertical flips (row i read at S + 1 - i) -> 64 candidates per pair;
- ``dot``: ``int(partial * L * D)`` distinct cells of the L x D map get +1 or -1;
- ``dot_gaussian``: ``dot`` blurred with sigma 1 (SciPy semantics) and scaled to peak 1 (an
  empty map stays zero instead of the reference's 0 / 0).

``local = true`` draws every sample's map independently; ``false`` repeats one map.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

import torch

from harness.errors import ConfigError
from harness.plugins.scorers.gennas.signals import gaussian_blur
from harness.plugins.scorers.gennas.task import (
    NOISE_TYPES,
    Dot,
    LevelFeatures,
    Noise,
    Wave,
    _check_keys,
    _number,
    _parse_level,
)

TOP_KEYS = ("description", "batchsize", "noise", "dimension", "feature")
FEATURES = ("0", "1")  # "0": the input sequence, "1": the target sequence
PHASES = 32


@dataclass(frozen=True)
class RNNTask:
    """One GenNAS-RNN task: input noise, feature dimension, input and target bases."""

    noise: Noise
    dimension: int
    inputs: LevelFeatures
    targets: LevelFeatures
    batchsize: int | None = None
    description: str | None = None

    def canonical_json(self) -> str:
        """Compact JSON of everything that defines the signals (no description)."""
        content = {"noise": [self.noise.type, self.noise.noise_level],
                   "dimension": self.dimension, "inputs": repr(self.inputs),
                   "targets": repr(self.targets)}
        return json.dumps(content, sort_keys=True, separators=(",", ":"))

    @property
    def hash(self) -> str:
        """First 12 hex digits of sha256(canonical_json())."""
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:12]


def parse_rnn_task(obj: Any) -> RNNTask:
    """Validate a ``CONF_NLP``-style JSON object; ``ConfigError`` names the bad field."""
    _check_keys(obj, "task", TOP_KEYS, ("noise", "dimension", "feature"))
    noise = _check_keys(obj["noise"], "noise", ("type", "noise_level"), ("type", "noise_level"))
    if noise["type"] not in NOISE_TYPES:
        raise ConfigError(f"GenNAS-RNN task: noise.type must be one of {', '.join(NOISE_TYPES)}")
    dimension = obj["dimension"]
    if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1:
        raise ConfigError(f"GenNAS-RNN task: dimension must be a positive integer, got "
                          f"{dimension!r}")
    features = _check_keys(obj["feature"], "feature", FEATURES, FEATURES)
    levels = [_parse_level(features[key], f"feature.{key}") for key in FEATURES]
    for key, level in zip(FEATURES, levels, strict=True):
        if level.resize is not None:
            raise ConfigError(f"GenNAS-RNN task: feature.{key}.resize is not a sequence basis "
                              f"(there is no input image); use sin1d, sin2d, dot, dot_gaussian")
    return RNNTask(Noise(noise["type"], _number(noise["noise_level"], "noise.noise_level", 0.0,
                                                math.inf)),
                   dimension, levels[0], levels[1], obj.get("batchsize"), obj.get("description"))


def _wave_map(basis: Wave, two_d: bool, side: int, generator: torch.Generator) -> torch.Tensor:
    """One (side, side) map of the sin1d / sin2d bank, chosen by a random permutation."""
    frequencies = torch.tensor(basis.range, dtype=torch.float64)
    sets = len(frequencies) ** 2 if two_d else len(frequencies)
    phases = torch.rand(sets, PHASES, generator=generator, dtype=torch.float64) * 2 * math.pi
    pick = int(torch.randperm(sets * 2 * PHASES, generator=generator)[0])
    group, in_set = divmod(pick, 2 * PHASES)
    phase = phases[group, in_set % PHASES]
    positions = torch.arange(1, side + 1, dtype=torch.float64)
    rows, cols = positions.view(-1, 1).expand(side, side), positions.view(1, -1).expand(side, side)
    if two_d:
        count = len(frequencies)
        rows = rows if in_set < PHASES else side + 1 - rows
        theta = 2 * math.pi * (frequencies[group // count] * rows
                               + frequencies[group % count] * cols) + 2 * phase
    else:
        theta = 2 * math.pi * frequencies[group] * (rows if in_set < PHASES else cols) + phase
    return torch.sin(theta) if in_set % 2 == 0 else torch.cos(theta)


def _dot_map(basis: Dot, length: int, dimension: int, gaussian: bool,
             generator: torch.Generator) -> torch.Tensor:
    """One (length, dimension) dot map, blurred and peak-normalized for ``dot_gaussian``."""
    count = int(basis.partial * length * dimension)
    cells = torch.randperm(length * dimension, generator=generator)[:count]
    signs = torch.randint(0, 2, (count,), generator=generator).double() * 2 - 1
    flat = torch.zeros(length * dimension, dtype=torch.float64)
    flat[cells] = signs
    dots = flat.view(length, dimension)
    if not gaussian:
        return dots
    blurred = gaussian_blur(dots)
    peak = float(blurred.abs().max())
    return blurred / peak if peak > 0 else blurred


def _per_sample(local: bool, batch: int, draw: Any) -> torch.Tensor:
    """(batch, L, D): ``draw()`` per sample when ``local``, else one draw repeated."""
    if local:
        return torch.stack([draw() for _ in range(batch)])
    return draw().expand(batch, -1, -1)


def sequence_signal(features: LevelFeatures, batch: int, length: int, dimension: int,
                    generator: torch.Generator) -> torch.Tensor:
    """(length, batch, dimension) float32, time-major: the sum of ``level * basis`` in the
    order sin1d, sin2d, dot, dot_gaussian."""
    side = max(length, dimension)
    total = torch.zeros(batch, length, dimension, dtype=torch.float64)
    for wave, two_d in ((features.sin1d, False), (features.sin2d, True)):
        if wave is not None:
            total += wave.level * _per_sample(wave.local, batch, lambda w=wave, t=two_d: _wave_map(
                w, t, side, generator)[:length, :dimension])
    for dot, gaussian in ((features.dot, False), (features.dot_gaussian, True)):
        if dot is not None:
            total += dot.level * _per_sample(dot.local, batch, lambda d=dot, g=gaussian: _dot_map(
                d, length, dimension, g, generator))
    return total.float().transpose(0, 1).contiguous()


def task_sequences(task: RNNTask, batch: int, length: int,
                   seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The clean input and the target sequences of ``task``, drawn with ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    inputs = sequence_signal(task.inputs, batch, length, task.dimension, generator)
    targets = sequence_signal(task.targets, batch, length, task.dimension, generator)
    return inputs, targets
