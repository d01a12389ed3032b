"""GenNAS signal bases and target construction (docs/gennas.md), on an 8x8 grid.

Every generator takes an explicit ``torch.Generator`` (CPU) so a target depends only on the
seed it is given, and returns float32 ``(B, C, 8, 8)``. ``local=True`` draws an independent
signal per sample; ``local=False`` draws one ``(C, 8, 8)`` signal and repeats it over the batch.

- ``sin1d``: per frequency, 32 phases; 32 maps along rows (sin for even k, cos for odd k),
  the same 32 along columns -> 64 maps per frequency; a random permutation keeps C of them.
- ``sin2d``: per ordered frequency pair, 32 phases; theta = 2 pi (b1 i + b2 j) + 2 phi
  (the phase is added twice, as in the reference); 32 maps and their vertical flips -> 64.
- ``dot``: ``n = int(partial * 64)`` distinct cells per map get +1 or -1.
- ``dot_gaussian``: ``dot`` blurred with a sigma = 1 Gaussian (SciPy ``gaussian_filter``
  semantics: mode "reflect", truncate 4) and divided by its peak magnitude. Zero-dot guard: a
  map with no dots (``partial < 1/64``) stays all zeros; the reference divided 0 by 0 there,
  which made every target NaN and every architecture's loss NaN.
- ``resize``: the clean input batch, nearest-downsampled to 8x8, min-max scaled over the whole
  batch to [-1, 1]; channel c is image channel ``perm(1000)[c] mod 3``. A constant batch
  (max = min) gives zeros instead of the reference's 0 / 0.

Positions i (row) and j (column) run 1..8, as in the reference.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from harness.plugins.scorers.gennas.task import Dot, LevelFeatures, Resize, Task, Wave

GRID = 8
PHASES = 32
RESIZE_PERMUTATION = 1000
_POSITIONS = torch.arange(1, GRID + 1, dtype=torch.float64)


_ROWS = _POSITIONS.view(GRID, 1).expand(GRID, GRID)  # i at (i, j)
_COLS = _POSITIONS.view(1, GRID).expand(GRID, GRID)  # j at (i, j)
MAPS_PER_SET = 2 * PHASES  # 32 phases, each in two orientations


def _sin_even_cos_odd(map_in_set: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """sin for even map index k, cos for odd k (k = index within its set of 64)."""
    even = (map_in_set % 2 == 0).view(-1, 1, 1)
    return torch.where(even, torch.sin(theta), torch.cos(theta))


def sin1d_maps(frequencies: torch.Tensor, phases: torch.Tensor,
               index: torch.Tensor) -> torch.Tensor:
    """Candidates ``index`` of the 1-D wave bank, (len(index), 8, 8) float64.

    Candidate ``64 f + m`` uses frequency ``f`` and phase ``phases[f, m mod 32]``; m < 32 varies
    along i (rows), m >= 32 along j (columns). ``phases``: (F, 32) in [0, 2 pi).
    """
    frequency, map_in_set = index // MAPS_PER_SET, index % MAPS_PER_SET
    beta = frequencies[frequency].view(-1, 1, 1)
    phase = phases[frequency, map_in_set % PHASES].view(-1, 1, 1)
    position = torch.where((map_in_set < PHASES).view(-1, 1, 1), _ROWS, _COLS)
    return _sin_even_cos_odd(map_in_set, 2 * math.pi * beta * position + phase)


def sin2d_maps(frequencies: torch.Tensor, phases: torch.Tensor,
               index: torch.Tensor) -> torch.Tensor:
    """Candidates ``index`` of the 2-D wave bank, (len(index), 8, 8) float64.

    Candidate ``64 p + m`` uses the frequency pair p = (b1, b2) = (range[p // F], range[p % F])
    and theta = 2 pi (b1 i + b2 j) + 2 phases[p, m mod 32]; m >= 32 is the vertical flip of
    m - 32 (row i read at 9 - i). ``phases``: (F * F, 32) in [0, 2 pi).
    """
    count = len(frequencies)
    pair, map_in_set = index // MAPS_PER_SET, index % MAPS_PER_SET
    beta_rows = frequencies[pair // count].view(-1, 1, 1)
    beta_cols = frequencies[pair % count].view(-1, 1, 1)
    phase = phases[pair, map_in_set % PHASES].view(-1, 1, 1)
    rows = torch.where((map_in_set < PHASES).view(-1, 1, 1), _ROWS, GRID + 1 - _ROWS)
    theta = 2 * math.pi * (beta_rows * rows + beta_cols * _COLS) + 2 * phase
    return _sin_even_cos_odd(map_in_set, theta)


def _wave(maps_fn, sets: int, basis: Wave, batch: int, channels: int,
          generator: torch.Generator) -> torch.Tensor:
    """Per draw: ``sets`` x 32 phases, then a permutation keeps ``channels`` of the candidates."""
    frequencies = torch.tensor(basis.range, dtype=torch.float64)

    def one() -> torch.Tensor:
        phases = torch.rand(sets, PHASES, generator=generator, dtype=torch.float64) * 2 * math.pi
        keep = torch.randperm(sets * MAPS_PER_SET, generator=generator)[:channels]
        return maps_fn(frequencies, phases, keep)

    if basis.local:
        return torch.stack([one() for _ in range(batch)]).float()
    return one().float().unsqueeze(0).repeat(batch, 1, 1, 1)


def sin1d(basis: Wave, batch: int, channels: int, generator: torch.Generator) -> torch.Tensor:
    """The ``sin1d`` basis (without its amplitude), (B, C, 8, 8), values in [-1, 1]."""
    return _wave(sin1d_maps, len(basis.range), basis, batch, channels, generator)


def sin2d(basis: Wave, batch: int, channels: int, generator: torch.Generator) -> torch.Tensor:
    """The ``sin2d`` basis (without its amplitude), (B, C, 8, 8), values in [-1, 1]."""
    return _wave(sin2d_maps, len(basis.range) ** 2, basis, batch, channels, generator)


def dot_count(partial: float) -> int:
    """Number of dots per map: ``int(partial * 64)`` (truncation, as the reference code)."""
    return int(partial * GRID * GRID)


def _dot_maps(maps: int, partial: float, generator: torch.Generator) -> torch.Tensor:
    """``maps`` independent (8, 8) maps with ``dot_count(partial)`` distinct +-1 cells each."""
    count = dot_count(partial)
    cells = torch.rand(maps, GRID * GRID, generator=generator).argsort(dim=1)[:, :count]
    signs = torch.randint(0, 2, (maps, count), generator=generator).float() * 2 - 1
    flat = torch.zeros(maps, GRID * GRID)
    flat.scatter_(1, cells, signs)
    return flat.view(maps, GRID, GRID)


def _dots(basis: Dot, batch: int, channels: int, generator: torch.Generator) -> torch.Tensor:
    if basis.local:
        maps = _dot_maps(batch * channels, basis.partial, generator)
        return maps.view(batch, channels, GRID, GRID)
    return _dot_maps(channels, basis.partial, generator).unsqueeze(0).repeat(batch, 1, 1, 1)


def dot(basis: Dot, batch: int, channels: int, generator: torch.Generator) -> torch.Tensor:
    """The ``dot`` basis (without its amplitude), (B, C, 8, 8), values in {-1, 0, 1}."""
    return _dots(basis, batch, channels, generator)


def gaussian_kernel(sigma: float = 1.0, truncate: float = 4.0) -> torch.Tensor:
    """SciPy's 1-D Gaussian filter weights: radius int(truncate * sigma + 0.5), normalized."""
    radius = int(truncate * sigma + 0.5)
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    weights = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return weights / weights.sum()


def _reflect_index(size: int, radius: int) -> torch.Tensor:
    """Indices of SciPy's "reflect" padding (d c b a | a b c d | d c b a), any radius."""
    index = torch.arange(-radius, size + radius)
    period = 2 * size
    index = index % period
    return torch.where(index < size, index, period - 1 - index)


def gaussian_blur(maps: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """Blur the last two dims like ``scipy.ndimage.gaussian_filter(map, sigma)`` per map."""
    kernel = gaussian_kernel(sigma)
    radius = (len(kernel) - 1) // 2
    out = maps.to(torch.float64)
    for dim in (-2, -1):  # separable: rows then columns, as SciPy does axis by axis
        padded = out.index_select(dim, _reflect_index(out.shape[dim], radius))
        windows = padded.unfold(dim, len(kernel), 1)  # (..., size, ..., taps)
        out = (windows * kernel).sum(-1)
    return out


def dot_gaussian(basis: Dot, batch: int, channels: int, generator: torch.Generator) -> torch.Tensor:
    """The ``dot_gaussian`` basis (without amplitude), (B, C, 8, 8), peak magnitude 1 or all 0."""
    blurred = gaussian_blur(_dots(basis, batch, channels, generator))
    peak = blurred.abs().amax(dim=(-2, -1), keepdim=True)
    # Zero-dot guard (see module docstring): an all-zero map stays zero instead of 0 / 0 = NaN.
    normalized = blurred / peak.clamp_min(1e-300)
    return torch.where(peak > 0, normalized, torch.zeros_like(blurred)).float()


def resize(images: torch.Tensor, channels: int, generator: torch.Generator) -> torch.Tensor:
    """The ``resize`` basis (without amplitude) from the clean (B, 3, H, W) batch, (B, C, 8, 8)."""
    small = F.interpolate(images.detach().float().cpu(), size=(GRID, GRID), mode="nearest")
    low, high = small.min(), small.max()
    if high > low:
        small = (small - low) / (high - low) * 2 - 1
    else:  # constant batch: the reference divided by zero here
        small = torch.zeros_like(small)
    picks = torch.randperm(RESIZE_PERMUTATION, generator=generator)[:channels] % small.shape[1]
    return small[:, picks]


def level_target(features: LevelFeatures, images: torch.Tensor, channels: int,
                 generator: torch.Generator) -> torch.Tensor:
    """One level's target: sum of ``level * basis``, bases in the order sin1d, sin2d, resize,
    dot, dot_gaussian."""
    batch = images.shape[0]
    target = torch.zeros(batch, channels, GRID, GRID)
    if features.sin1d is not None:
        target += features.sin1d.level * sin1d(features.sin1d, batch, channels, generator)
    if features.sin2d is not None:
        target += features.sin2d.level * sin2d(features.sin2d, batch, channels, generator)
    if isinstance(features.resize, Resize):
        target += features.resize.level * resize(images, channels, generator)
    if features.dot is not None:
        target += features.dot.level * dot(features.dot, batch, channels, generator)
    if features.dot_gaussian is not None:
        target += features.dot_gaussian.level * dot_gaussian(features.dot_gaussian, batch,
                                                             channels, generator)
    return target


def build_targets(task: Task, images: torch.Tensor, seed: int) -> list[torch.Tensor]:
    """The three fixed targets of ``task`` for the clean batch ``images``, drawn with ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    return [level_target(features, images, channels, generator)
            for features, channels in zip(task.features, task.channels, strict=True)]
