"""Drawing one seeded, optionally augmented, normalized batch from in-memory images.

Shared by every image dataset plugin so that "the same seed gives the same batch" means the
same thing everywhere: ``numpy.random.default_rng(seed)`` draws the indices (without
replacement), then the crop offsets, then the flips.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.errors import ConfigError, DatasetError
from harness.plugins.datasets.normalization import Normalization
from harness.plugins.datasets.transforms import (
    parse_augment,
    random_crop_flip,
    resize_nearest,
    to_normalized_tensor,
)
from harness.protocols import Batch


class DatasetWarning(UserWarning):
    """A dataset request was served, but not exactly as asked (e.g. fewer images than requested)."""


def reject_unknown_options(dataset: str, unknown: dict[str, Any], accepted: Iterable[str]) -> None:
    """``ConfigError`` naming any option ``dataset.batch`` does not take, and the ones it does."""
    if unknown:
        raise ConfigError(
            f"dataset {dataset!r} does not take option(s) {', '.join(sorted(unknown))}; "
            f"its options are {', '.join(accepted)}")


def file_stamp(path: Path) -> tuple[int, int]:
    """(mtime_ns, size) of ``path``, (-1, -1) if absent: keys caches of loaded files."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return (-1, -1)
    return (status.st_mtime_ns, status.st_size)


def check_batch_size(batch_size: int) -> int:
    if (isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer)
            or batch_size < 1):
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def draw_batch(images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int, *,
               augment: object, normalization: Normalization, size: int | None,
               source: str, allow_fewer: bool = False) -> Batch:
    """One batch of ``batch_size`` distinct images from ``images`` (N, H, W, 3).

    ``augment``: see ``transforms.parse_augment``; crop padding is 1/8 of the image side
    (4 for 32×32, 2 for 16×16, as the references). ``size``: output side (nearest resize),
    default the normalization preset's, else the native size. When fewer than ``batch_size``
    images exist, ``allow_fewer`` returns all of them in a seeded order with one warning naming
    ``source``; otherwise it is a ``DatasetError``. Images are never repeated: duplicates make
    kernel-based scores (NASWOT) singular.
    """
    batch_size = check_batch_size(batch_size)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    crop, flip = parse_augment(augment)
    count = len(images)
    rng = np.random.default_rng(seed)
    if batch_size > count:
        if not allow_fewer:
            raise DatasetError(
                f"{source}: a batch of {batch_size} was requested but only {count} images are "
                f"available; use a smaller batch_size")
        warnings.warn(
            f"{source}: a batch of {batch_size} was requested but only {count} images are "
            f"available; using all {count}, in a seeded order, without repeating any",
            DatasetWarning, stacklevel=3)
        indices = rng.permutation(count)
    else:
        indices = rng.choice(count, size=batch_size, replace=False)
    selected = random_crop_flip(images[indices], rng, crop=crop, flip=flip,
                                padding=images.shape[1] // 8)
    inputs = to_normalized_tensor(selected, normalization)
    out_size = size if size is not None else normalization.size
    if out_size is not None:
        inputs = resize_nearest(inputs, int(out_size))
    return Batch(inputs, torch.from_numpy(labels[indices].astype(np.int64)))
