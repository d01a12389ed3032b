"""scikit-learn's handwritten digits as a tiny CIFAR-shaped dataset for `harness data build`.

The 1,797 gray 8×8 images (pixel values 0..16) ship inside scikit-learn, so they need no
download. Each is scaled to [0, 1], upsampled to ``size``×``size`` (default 32) with nearest
interpolation (every pixel becomes a 4×4 block, so pixel values stay exact) and replicated to 3
channels. Fixed split, independent of any random generator: image ``i`` is in ``test`` when
``i % 4 == 3`` (449 images), else in ``train`` (1,348 images); classes are balanced in both.
Normalization: the mean and std of the training pixels (``DIGITS_MEAN``, ``DIGITS_STD``), for
every preset name except ``none`` (no reference used digits).

``digits_arrays(split)`` gives a whole split as tensors; the demo benchmark is trained and
evaluated on exactly these, and the ``digits`` plugin draws its batches from the same arrays.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from harness.errors import DatasetError
from harness.plugins.datasets.base import check_batch_size, draw_batch, reject_unknown_options
from harness.plugins.datasets.normalization import Normalization, resolve, same_for_every_preset
from harness.plugins.datasets.transforms import to_normalized_tensor
from harness.protocols import Batch

DIGITS_MEAN = 0.3053
DIGITS_STD = 0.3760
NORMALIZATION = Normalization((DIGITS_MEAN,) * 3, (DIGITS_STD,) * 3)
PRESETS = same_for_every_preset(NORMALIZATION)
# "trainval" is the NB201 name for "the images models are trained on"; scorer presets written
# for CIFAR ask for it, and for digits it is the training split.
SPLITS = ("train", "test", "trainval")
OPTIONS = ("split", "augment", "normalization", "size")


@lru_cache(maxsize=4)
def digits_images(split: str, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """The ``split`` images as (N, size, size, 3) float32 in [0, 1] and labels (N,) int64."""
    from sklearn.datasets import load_digits

    if split not in SPLITS:
        raise DatasetError(f"dataset 'digits' has no split {split!r}; use one of "
                           f"{', '.join(SPLITS)}")
    digits = load_digits()
    in_test = np.arange(len(digits.target)) % 4 == 3
    chosen = in_test if split == "test" else ~in_test
    gray = torch.from_numpy(digits.images[chosen].astype(np.float32) / 16.0)[:, None]
    upsampled = F.interpolate(gray, size=(size, size), mode="nearest")
    images = upsampled.expand(-1, 3, -1, -1).permute(0, 2, 3, 1).contiguous().numpy()
    images.setflags(write=False)
    labels = digits.target[chosen].astype(np.int64)
    labels.setflags(write=False)
    return images, labels


def digits_arrays(split: str, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """A whole split, normalized: inputs (N, 3, size, size) float32 and labels (N,) int64.

    ``split``: ``train`` (1,348 images) or ``test`` (449); see the module docstring.
    """
    images, labels = digits_images(split, size)
    return to_normalized_tensor(images, NORMALIZATION), torch.from_numpy(labels.copy())


class DigitsDataset:
    """Handwritten digits, 10 classes, 3×32×32 (see the module docstring).

    ``batch`` options: ``split`` (train / test / trainval = train), ``augment`` (false; true =
    RandomCrop(padding side/8) + flip; "flip"; "crop"), ``normalization`` (any preset name; all
    but ``none`` use the digits statistics), ``size`` (image side, default 32).
    ``data_dir`` is not used: the images ship with scikit-learn.
    """

    name = "digits"
    num_classes = 10
    input_shape = (3, 32, 32)
    normalizations = PRESETS
    mean = NORMALIZATION.mean
    std = NORMALIZATION.std

    def whole_split(self, split: str, *, data_dir: Path | None = None, size: int = 32
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """A whole split for ``harness data build`` (``data_dir`` unused)."""
        return digits_arrays(split, size)

    def installed_with(self) -> str:
        """``BundledDataset``: the images ship inside scikit-learn; nothing to download."""
        return "scikit-learn"

    def batch(self, batch_size: int, seed: int, *, data_dir: Path | None = None,
              split: str = "train", augment: object = False, normalization: str = "default",
              size: int | None = None, **unknown: Any) -> Batch:
        """One batch of distinct images drawn with ``numpy.random.default_rng(seed)``."""
        reject_unknown_options(self.name, unknown, OPTIONS)
        check_batch_size(batch_size)
        preset = resolve(self.name, self.normalizations, normalization)
        images, labels = digits_images(split, int(size or self.input_shape[1]))
        return draw_batch(images, labels, batch_size, seed, augment=augment, normalization=preset,
                          size=None, source=f"digits split {split!r}")


DIGITS = DigitsDataset()
