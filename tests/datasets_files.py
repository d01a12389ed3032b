"""Tiny dataset folders in the official layouts, written by the dataset tests.

Pixels are seeded random uint8; every file is a pickled dict shaped like the official ones
(``data``: N × 3·side·side uint8, channel-major rows; a label list).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np

CIFAR10_TRAIN_PER_FILE = 4  # 5 files -> 20 training images
CIFAR10_TEST = 6


def rows(count: int, side: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(count, 3 * side * side),
                                                dtype=np.uint8)


def write_pickle(path: Path, content: dict, *, bytes_keys: bool = False) -> None:
    if bytes_keys:  # what Python-2 pickles look like when read with encoding="bytes"
        content = {key.encode(): value for key, value in content.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(content, protocol=2))


def write_cifar10(data_dir: Path, *, bytes_keys: bool = False) -> Path:
    """DATA_DIR/cifar10/cifar-10-batches-py with 5 × 4 training and 6 test images."""
    folder = data_dir / "cifar10" / "cifar-10-batches-py"
    for i in range(1, 6):
        labels = [(4 * (i - 1) + j) % 10 for j in range(CIFAR10_TRAIN_PER_FILE)]
        write_pickle(folder / f"data_batch_{i}",
                     {"batch_label": f"training batch {i} of 5",
                      "data": rows(CIFAR10_TRAIN_PER_FILE, 32, seed=i), "labels": labels},
                     bytes_keys=bytes_keys)
    write_pickle(folder / "test_batch",
                 {"data": rows(CIFAR10_TEST, 32, seed=99), "labels": [9, 8, 7, 6, 5, 4]},
                 bytes_keys=bytes_keys)
    return folder


def cifar10_train_rows() -> tuple[np.ndarray, np.ndarray]:
    """The rows and labels ``write_cifar10`` wrote to the training files, in file order."""
    data = np.concatenate([rows(CIFAR10_TRAIN_PER_FILE, 32, seed=i) for i in range(1, 6)])
    return data, np.arange(20) % 10


def write_cifar100(data_dir: Path) -> Path:
    """DATA_DIR/cifar100/cifar-100-python with 12 training and 5 test images."""
    folder = data_dir / "cifar100" / "cifar-100-python"
    write_pickle(folder / "train", {"data": rows(12, 32, seed=5),
                                    "fine_labels": [0, 99, 50, 7, 1, 2, 3, 4, 5, 6, 8, 9],
                                    "coarse_labels": [0] * 12})
    write_pickle(folder / "test", {"data": rows(5, 32, seed=6), "fine_labels": [3, 1, 4, 1, 5],
                                   "coarse_labels": [0] * 5})
    return folder


def write_split_file(path: Path, train: list[int], valid: list[int]) -> Path:
    """A ``cifar-split.txt`` in NAS-Bench-201's format (indices as strings)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"train": ["int", [str(i) for i in train]],
                                "valid": ["int", [str(i) for i in valid]]}))
    return path


IMAGENET16_TRAIN_LABELS = [1, 120, 121, 500, 60]  # per file; 121 and 500 are dropped


def write_imagenet16(folder: Path) -> Path:
    """Ten training batches of 5 images (3 kept each) and a val_data of 4 images (2 kept)."""
    for i in range(1, 11):
        write_pickle(folder / f"train_data_batch_{i}",
                     {"data": rows(5, 16, seed=100 + i), "labels": IMAGENET16_TRAIN_LABELS,
                      "mean": np.zeros(768)})
    write_pickle(folder / "val_data", {"data": rows(4, 16, seed=200), "labels": [2, 999, 120, 300]})
    return folder
