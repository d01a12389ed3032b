"""GenNAS signal generators (docs/gennas.md): shape, value range, local vs global, determinism."""

import math

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from harness.plugins.scorers.gennas import signals
from harness.plugins.scorers.gennas.plugin import TASK_NAMES, named_task
from harness.plugins.scorers.gennas.task import Dot, LevelFeatures, Resize, Task, Wave

B, C = 4, 24
HIGH = tuple(0.375 + 0.0125 * k for k in range(10))


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("fn", [signals.sin1d, signals.sin2d])
@pytest.mark.parametrize("local", [True, False])
def test_waves_shape_range_and_locality(fn, local):
    out = fn(Wave(level=2.0, range=HIGH, local=local), B, C, _gen())
    assert out.shape == (B, C, 8, 8) and out.dtype == torch.float32
    assert out.abs().max() <= 1.0 + 1e-6, "sin/cos maps before the amplitude lie in [-1, 1]"
    same = torch.equal(out[0], out[1])
    assert same is (not local), "global = one signal repeated over the batch; local = per sample"


def _phases(sets, seed=0):
    return torch.rand(sets, 32, generator=_gen(seed), dtype=torch.float64) * 2 * math.pi


def test_sin1d_maps_vary_along_one_axis_only():
    bank = signals.sin1d_maps(torch.tensor(HIGH, dtype=torch.float64), _phases(10),
                              torch.arange(640))
    assert bank.shape == (640, 8, 8), "10 frequencies x 64 maps"
    per_freq = bank.view(10, 64, 8, 8)
    rows, cols = per_freq[:, :32], per_freq[:, 32:]
    assert torch.allclose(rows, rows[..., :1].expand_as(rows)), "maps 0-31 are constant along j"
    assert torch.allclose(cols, cols[..., :1, :].expand_as(cols)), "maps 32-63 are constant along i"
    # map 0 vs map 32 share the phase: the column map is the transposed row map
    assert torch.allclose(cols[:, 0], rows[:, 0].transpose(-2, -1))


def test_sin1d_formula_sin_even_cos_odd():
    phases = _phases(10, 3)
    bank = signals.sin1d_maps(torch.full((10,), 0.1, dtype=torch.float64), phases,
                              torch.arange(640))
    i = torch.arange(1, 9, dtype=torch.float64)
    expected0 = torch.sin(2 * math.pi * 0.1 * i + phases[0, 0])
    expected1 = torch.cos(2 * math.pi * 0.1 * i + phases[0, 1])
    assert torch.allclose(bank[0, :, 0], expected0) and torch.allclose(bank[1, :, 0], expected1)


def test_sin2d_second_half_is_vertical_flip_and_phase_added_twice():
    phases = _phases(100, 5)
    bank = signals.sin2d_maps(torch.tensor(HIGH, dtype=torch.float64), phases,
                              torch.arange(6400))
    assert bank.shape == (6400, 8, 8), "100 frequency pairs x 64 maps"
    pairs = bank.view(100, 64, 8, 8)
    assert torch.equal(pairs[:, 32:], pairs[:, :32].flip(-2))
    i = torch.arange(1, 9, dtype=torch.float64).view(8, 1)
    j = torch.arange(1, 9, dtype=torch.float64).view(1, 8)
    b1, b2 = HIGH[0], HIGH[1]  # pair index 1 = (range[0], range[1])
    expected = torch.sin(2 * math.pi * (b1 * i + b2 * j) + 2 * phases[1, 0])
    assert torch.allclose(pairs[1, 0], expected)
    expected = torch.cos(2 * math.pi * (b1 * i + b2 * j) + 2 * phases[1, 1])
    assert torch.allclose(pairs[1, 1], expected)


def test_wave_keeps_the_permuted_candidates():
    basis = Wave(level=1.0, range=HIGH, local=False)
    out = signals.sin2d(basis, 1, 5, _gen(11))
    g = _gen(11)
    phases = torch.rand(100, 32, generator=g, dtype=torch.float64) * 2 * math.pi
    keep = torch.randperm(6400, generator=g)[:5]
    full = signals.sin2d_maps(torch.tensor(HIGH, dtype=torch.float64), phases, torch.arange(6400))
    assert torch.allclose(out[0], full[keep].float()), "first C of a random permutation"


@pytest.mark.parametrize("local", [True, False])
@pytest.mark.parametrize("partial", [0.0, 10 / 64, 0.578125, 1.0])
def test_dot_counts_values_and_locality(local, partial):
    out = signals.dot(Dot(level=1.0, partial=partial, local=local), B, C, _gen())
    assert out.shape == (B, C, 8, 8)
    assert set(out.unique().tolist()) <= {-1.0, 0.0, 1.0}
    counts = (out != 0).sum(dim=(-2, -1))
    assert (counts == int(partial * 64)).all(), "exactly int(p * 64) distinct cells per map"
    if 0 < partial < 1 or partial == 1.0:
        assert torch.equal(out[0], out[1]) is (not local)


def test_dot_signs_are_balanced():
    out = signals.dot(Dot(level=1.0, partial=1.0, local=True), 32, 64, _gen())
    assert abs(out.mean().item()) < 0.02, "+1 / -1 with probability 1/2 each (65536 draws)"


def test_gaussian_blur_matches_scipy_reflect_truncate4():
    maps = torch.randn(6, 8, 8, generator=_gen(), dtype=torch.float64)
    expected = np.stack([gaussian_filter(m, sigma=1.0) for m in maps.numpy()])
    assert np.allclose(signals.gaussian_blur(maps).numpy(), expected, atol=1e-12)


@pytest.mark.parametrize("local", [True, False])
def test_dot_gaussian_peak_is_one_and_locality(local):
    out = signals.dot_gaussian(Dot(level=1.0, partial=0.5, local=local), B, C, _gen())
    peaks = out.abs().amax(dim=(-2, -1))
    assert torch.allclose(peaks, torch.ones_like(peaks)), "each map divided by its peak magnitude"
    assert torch.equal(out[0], out[1]) is (not local)


def test_zero_dot_guard_gives_zeros_not_nan():
    out = signals.dot_gaussian(Dot(level=1.5, partial=0.01, local=True), B, C, _gen())
    assert signals.dot_count(0.01) == 0
    assert torch.isfinite(out).all() and (out == 0).all(), (
        "the reference divided 0 by 0 here (NaN targets); the guard keeps all-zero maps")


def test_resize_nearest_minmax_and_channel_mapping():
    images = torch.randn(B, 3, 32, 32, generator=_gen())
    out = signals.resize(images, 7, _gen(9))
    small = images[:, :, ::4, ::4]  # nearest downsampling 32 -> 8 picks every 4th pixel
    scaled = (small - small.min()) / (small.max() - small.min()) * 2 - 1
    picks = torch.randperm(1000, generator=_gen(9))[:7] % 3
    assert torch.allclose(out, scaled[:, picks])
    assert out.min() >= -1 and out.max() <= 1
    assert not torch.equal(out[0], out[1]), "the resize basis follows each sample's image"


def test_resize_constant_batch_is_zero():
    assert (signals.resize(torch.ones(2, 3, 32, 32), 5, _gen()) == 0).all()


def test_level_target_sums_amplitude_times_basis():
    images = torch.randn(B, 3, 32, 32, generator=_gen())
    only_resize = LevelFeatures(resize=Resize(level=2.5))
    target = signals.level_target(only_resize, images, C, _gen(1))
    assert torch.allclose(target, 2.5 * signals.resize(images, C, _gen(1)))
    empty = signals.level_target(LevelFeatures(), images, C, _gen(1))
    assert empty.shape == (B, C, 8, 8) and (empty == 0).all(), "all-null level: zero target"


@pytest.mark.parametrize("name", TASK_NAMES)
def test_build_targets_shapes_finite_and_deterministic(name):
    task: Task = named_task(name)
    images = torch.randn(16, 3, 32, 32, generator=_gen())
    first = signals.build_targets(task, images, seed=7)
    again = signals.build_targets(task, images, seed=7)
    other = signals.build_targets(task, images, seed=8)
    assert [tuple(t.shape) for t in first] == [(16, c, 8, 8) for c in task.channels]
    assert all(torch.isfinite(t).all() for t in first)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True)), "same seed, same"
    assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=True))
