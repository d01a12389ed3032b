"""ImageNet16-120: the 16×16 downsampled-ImageNet pickles, restricted to classes 1..120.

Layout under the data dir (``ImageNet16/`` may also be left out)::

    DATA_DIR/imagenet16-120/ImageNet16/{train_data_batch_1..10, val_data}

Each file is a pickled dict with ``data`` (N × 768 uint8, channel-major 3×16×16) and
``labels`` (1-based, 1..1000), opened as the publishers wrote it (``encoding="latin1"``).
NAS-Bench-201's ImageNet16-120 keeps the images labelled 1..120 and subtracts 1
(D-X-Y/AutoDL-Projects, ``xautodl/datasets/DownsampledImageNet.py``). Only those rows are
kept as each file is read, so the full 1.28 M-image training set never sits in memory at once.

Splits: ``train`` (the ten training batches), ``test`` (``val_data``, NAS-Bench-201's
``ori-test``); ``trainval`` is accepted as ``train``: NAS-Bench-201 trains ImageNet16-120 on the
full training set, and the references draw proxy batches from it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import DatasetError
from harness.plugins.datasets.base import (
    check_batch_size,
    draw_batch,
    file_stamp,
    reject_unknown_options,
)
from harness.plugins.datasets.normalization import IMAGENET16_PRESETS, resolve
from harness.plugins.datasets.pickles import concatenate_images, image_rows, load_dict_pickle
from harness.protocols import Batch

TRAIN_FILES = tuple(f"train_data_batch_{i}" for i in range(1, 11))
TEST_FILES = ("val_data",)
SPLIT_FILES = {"train": TRAIN_FILES, "trainval": TRAIN_FILES, "test": TEST_FILES}
OPTIONS = ("split", "augment", "normalization", "size")
NUM_CLASSES = 120
HINT = ("Get the 16×16 downsampled ImageNet (Chrabaszcz et al. 2017, 'Imagenet16_train' and "
        "'Imagenet16_val' from https://image-net.org/download-images, or the ImageNet16 folder "
        "linked from NAS-Bench-201's README) and put its files into {folder}")


@lru_cache(maxsize=2)
def _read_files(folder: str, files: tuple[str, ...], stamp: tuple[tuple[int, int], ...]
                ) -> tuple[np.ndarray, np.ndarray]:
    """Rows labelled 1..120 of ``files``, labels shifted to 0..119; ``stamp`` keys the cache."""
    hint = HINT.format(folder=folder)
    kept_images, kept_labels = [], []
    for name in files:
        path = Path(folder) / name
        content = load_dict_pickle(path, what="downsampled-ImageNet batch file", hint=hint)
        images, labels = image_rows(content, path, side=16, label_key="labels",
                                    what="downsampled-ImageNet batch file", hint=hint)
        keep = (labels >= 1) & (labels <= NUM_CLASSES)
        kept_images.append(images[keep])
        kept_labels.append(labels[keep] - 1)
    return concatenate_images(kept_images), np.concatenate(kept_labels)


class ImageNet16Dataset:
    """ImageNet16-120 input batches (see the module docstring for layout and splits).

    ``batch`` options: ``split`` (train / test / trainval = train), ``augment`` (false; true =
    RandomCrop(16, padding 2) + horizontal flip; "flip"; "crop"), ``normalization`` (default /
    zerocost / naswot: 16×16; gennas: upsampled to 32×32 nearest; none), ``size``.
    """

    name = "imagenet16-120"
    num_classes = NUM_CLASSES
    input_shape = (3, 16, 16)
    normalizations = IMAGENET16_PRESETS
    mean = IMAGENET16_PRESETS["default"].mean
    std = IMAGENET16_PRESETS["default"].std

    def folder(self, data_dir: Path) -> Path:
        """``DATA_DIR/imagenet16-120/ImageNet16`` if it exists, else ``DATA_DIR/imagenet16-120``."""
        root = Path(data_dir) / self.name
        return root / "ImageNet16" if (root / "ImageNet16").is_dir() else root

    def arrays(self, data_dir: Path, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
        """All images (N, 16, 16, 3) uint8 and labels (N,) int64 in 0..119 of ``split``."""
        if split not in SPLIT_FILES:
            raise DatasetError(f"dataset {self.name!r} has no split {split!r}; "
                               f"use one of {', '.join(SPLIT_FILES)}")
        folder = self.folder(data_dir)
        files = SPLIT_FILES[split]
        if not folder.is_dir() or not any((folder / name).is_file() for name in files):
            raise DatasetError(
                f"ImageNet16-120 not found: expected {', '.join(files[:1])}"
                f"{'..' + files[-1] if len(files) > 1 else ''} in "
                f"{Path(data_dir) / self.name / 'ImageNet16'}. "
                f"{HINT.format(folder=Path(data_dir) / self.name / 'ImageNet16')}")
        stamp = tuple(file_stamp(folder / name) for name in files)
        images, labels = _read_files(str(folder), files, stamp)
        if not len(images):
            raise DatasetError(f"{folder}: no image of split {split!r} has a label in 1..120; "
                               f"these are not the downsampled-ImageNet files")
        return images, labels

    def batch(self, batch_size: int, seed: int, *, data_dir: Path, split: str = "train",
              augment: object = False, normalization: str = "default", size: int | None = None,
              **unknown: Any) -> Batch:
        """One batch of distinct images drawn with ``numpy.random.default_rng(seed)``."""
        reject_unknown_options(self.name, unknown, OPTIONS)
        check_batch_size(batch_size)
        preset = resolve(self.name, self.normalizations, normalization)
        images, labels = self.arrays(data_dir, split)
        return draw_batch(images, labels, batch_size, seed, augment=augment, normalization=preset,
                          size=size, source=f"{self.name} split {split!r}")


IMAGENET16 = ImageNet16Dataset()
