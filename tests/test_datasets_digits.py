"""The ``digits`` dataset (what `harness data build` trains on) and its ``digits_arrays`` split."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from harness.plugins.datasets.digits import DIGITS, DIGITS_MEAN, DIGITS_STD, digits_arrays


def test_fixed_split_sizes_and_membership():
    train_x, train_y = digits_arrays("train")
    test_x, test_y = digits_arrays("test")
    assert train_x.shape == (1348, 3, 32, 32) and test_x.shape == (449, 3, 32, 32)
    assert train_x.dtype == torch.float32 and train_y.dtype == torch.int64
    target = load_digits().target
    index = np.arange(len(target))
    assert test_y.tolist() == target[index % 4 == 3].tolist(), "test = every 4th image from 3"
    assert train_y.tolist() == target[index % 4 != 3].tolist()
    assert sorted(set(train_y.tolist())) == list(range(10))


def test_upsampling_is_exact_and_normalization_matches_the_training_statistics():
    train_x, _ = digits_arrays("train")
    gray = load_digits().images[np.arange(1797) % 4 != 3] / 16.0
    pixels = train_x * DIGITS_STD + DIGITS_MEAN
    # Every 8x8 pixel becomes a 4x4 block, identical on the 3 channels.
    blocks = torch.from_numpy(gray).float().repeat_interleave(4, 1).repeat_interleave(4, 2)
    for channel in range(3):
        torch.testing.assert_close(pixels[:, channel], blocks, rtol=0, atol=1e-6)
    assert gray.mean() == pytest.approx(DIGITS_MEAN, abs=1e-4)
    assert gray.std() == pytest.approx(DIGITS_STD, abs=1e-4)
    assert DIGITS.mean == (DIGITS_MEAN,) * 3 and DIGITS.std == (DIGITS_STD,) * 3


def test_plugin_batches_come_from_the_same_arrays():
    train_x, train_y = digits_arrays("train")
    batch = DIGITS.batch(16, 2, data_dir=None)
    drawn = np.random.default_rng(2).choice(len(train_y), size=16, replace=False)
    assert torch.equal(batch.inputs, train_x[drawn]) and torch.equal(batch.labels, train_y[drawn])
    assert torch.equal(DIGITS.batch(16, 2, data_dir=None).inputs, batch.inputs)
    for preset in ("default", "zerocost", "naswot", "gennas"):
        assert torch.equal(DIGITS.batch(16, 2, data_dir=None, normalization=preset,
                                        split="trainval").inputs, batch.inputs)
    test_batch = DIGITS.batch(8, 2, data_dir=None, split="test", augment=True)
    assert test_batch.inputs.shape == (8, 3, 32, 32)
    small = DIGITS.batch(4, 0, data_dir=None, size=16)
    assert small.inputs.shape == (4, 3, 16, 16)
    assert DIGITS.num_classes == 10 and DIGITS.input_shape == (3, 32, 32)
