"""CIFAR-10 and CIFAR-100 from the official "python version" folders, read with numpy only.

Layout under the data dir (what ``harness data fetch cifar10|cifar100`` produces, or what the
official archives from https://www.cs.toronto.edu/~kriz/cifar.html extract to)::

    DATA_DIR/cifar10/cifar-10-batches-py/{data_batch_1..5, test_batch}
    DATA_DIR/cifar100/cifar-100-python/{train, test}            (fine labels are used)
    DATA_DIR/cifar10/cifar-split.txt                            (optional, for "trainval"/"valid")

The files are the official Python pickles; ``pickles.load_dict_pickle`` opens them with an
unpickler that only builds numpy arrays.

Splits: ``train`` (50,000 images), ``test`` (10,000), ``trainval`` (the 25,000 training images
NAS-Bench-201's ``cifar10-valid`` models were trained on) and ``valid`` (the other 25,000, the
``x-valid`` set). The last two come from ``cifar-split.txt``, which ships with NAS-Bench-201:
D-X-Y/AutoDL-Projects ``configs/nas-benchmark/cifar-split.txt`` (NASWOT and GenNAS carry the
same file). CIFAR-100 ``trainval`` applies the same indices to the CIFAR-100 training set, as the
NASWOT reference code does (github.com/BayesWatch/nas-without-training).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
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
from harness.plugins.datasets.fetch import fetch_archive
from harness.plugins.datasets.normalization import (
    CIFAR10_PRESETS,
    CIFAR100_PRESETS,
    Normalization,
    resolve,
)
from harness.plugins.datasets.pickles import concatenate_images, image_rows, load_dict_pickle
from harness.protocols import Batch

CIFAR_PAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"
SPLIT_FILE_NAME = "cifar-split.txt"
SPLIT_FILE_SOURCE = ("it ships with NAS-Bench-201 (github.com/D-X-Y/AutoDL-Projects, "
                     "configs/nas-benchmark/cifar-split.txt)")
SPLITS = ("train", "test", "trainval", "valid")
OPTIONS = ("split", "augment", "normalization", "size", "split_file")


@dataclass(frozen=True)
class CifarLayout:
    """Where one CIFAR variant's official files are and how they are named."""

    folder: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    label_key: str
    archive_url: str
    archive_md5: str


CIFAR10_LAYOUT = CifarLayout(
    folder="cifar-10-batches-py",
    train_files=tuple(f"data_batch_{i}" for i in range(1, 6)),
    test_files=("test_batch",),
    label_key="labels",
    archive_url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    archive_md5="c58f30108f718f92721af3b95e74349a",
)
CIFAR100_LAYOUT = CifarLayout(
    folder="cifar-100-python",
    train_files=("train",),
    test_files=("test",),
    label_key="fine_labels",
    archive_url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    archive_md5="eb9058c3a382ffc7106e4002c42a8d85",
)


def load_cifar_split(path: Path) -> dict[str, np.ndarray]:
    """NAS-Bench-201's ``cifar-split.txt``: ``{"train": ["int", [...]], "valid": [...]}`` ->
    index arrays ``{"train": ..., "valid": ...}``; ``DatasetError`` if absent or malformed."""
    try:
        content = json.loads(path.read_text())
        return {key: np.asarray([int(index) for index in content[key][1]], dtype=np.int64)
                for key in ("train", "valid")}
    except FileNotFoundError:
        raise DatasetError(
            f"NAS-Bench-201 CIFAR split file not found at {path}; {SPLIT_FILE_SOURCE}. Copy it "
            f"there or pass split_file=PATH") from None
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise DatasetError(
            f"{path} is not a NAS-Bench-201 split file: expected JSON "
            f'{{"train": ["int", [indices]], "valid": ["int", [indices]]}} '
            f"({type(exc).__name__}: {exc})") from None


@lru_cache(maxsize=4)
def _read_files(folder: str, files: tuple[str, ...], label_key: str, what: str, hint: str,
                stamp: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of ``files`` concatenated; ``stamp`` keys the cache."""
    parts = [image_rows(load_dict_pickle(Path(folder) / name, what=what, hint=hint),
                        Path(folder) / name, side=32, label_key=label_key, what=what, hint=hint)
             for name in files]
    return (concatenate_images([images for images, _ in parts]),
            np.concatenate([labels for _, labels in parts]))


class CifarDataset:
    """CIFAR-10 or CIFAR-100 input batches (see the module docstring for layout and splits).

    ``batch`` options: ``split`` (train / test / trainval / valid, default train), ``augment``
    (false; true = RandomCrop(32, padding 4) + horizontal flip; "flip"; "crop"),
    ``normalization`` (default / zerocost / naswot / gennas / none, see ``normalization``),
    ``size`` (output side, nearest resize), ``split_file`` (path of ``cifar-split.txt``).
    """

    input_shape = (3, 32, 32)

    def __init__(self, name: str, title: str, num_classes: int, layout: CifarLayout,
                 normalizations: dict[str, Normalization]) -> None:
        self.name = name
        self.title = title
        self.num_classes = num_classes
        self.layout = layout
        self.normalizations = normalizations

    @property
    def mean(self) -> tuple[float, float, float]:
        return self.normalizations["default"].mean

    @property
    def std(self) -> tuple[float, float, float]:
        return self.normalizations["default"].std

    def folder(self, data_dir: Path) -> Path:
        """Where the extracted official folder must be."""
        return Path(data_dir) / self.name / self.layout.folder

    def sample_images(self, data_dir: Path) -> tuple[Path, int] | None:
        """The 20 bundled test images (``data/DATA_NOTICE.md``) when the official files are
        absent under ``data_dir``; the plan then reads them through the ``images`` dataset."""
        if self.folder(data_dir).is_dir():
            return None
        path = Path(str(resources.files(__package__) / "data" / f"{self.name}_sample20.npz"))
        with np.load(path) as sample:
            return path, len(sample["y"])

    def _hint(self, data_dir: Path) -> str:
        archive = self.layout.archive_url.rsplit("/", 1)[-1]
        return (f"Run `harness data fetch {self.name}`, or download {archive} (python version) "
                f"from {CIFAR_PAGE} and extract it into {Path(data_dir) / self.name}")

    def arrays(self, data_dir: Path, split: str = "train",
               split_file: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
        """All images (N, 32, 32, 3) uint8 and labels (N,) int64 of ``split``."""
        if split not in SPLITS:
            raise DatasetError(f"dataset {self.name!r} has no split {split!r}; "
                               f"use one of {', '.join(SPLITS)}")
        folder = self.folder(data_dir)
        if not folder.is_dir():
            raise DatasetError(f"{self.title} not found: expected the folder {folder}. "
                               f"{self._hint(data_dir)}")
        files = self.layout.test_files if split == "test" else self.layout.train_files
        stamp = tuple(file_stamp(folder / name) for name in files)
        images, labels = _read_files(str(folder), files, self.layout.label_key,
                                     f"{self.title} batch file", self._hint(data_dir), stamp)
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise DatasetError(
                f"{folder} is not {self.title}: labels range over {labels.min()}.."
                f"{labels.max()}, expected 0..{self.num_classes - 1}")
        if split in ("trainval", "valid"):
            indices = load_cifar_split(self._split_path(data_dir, split_file))[
                "train" if split == "trainval" else "valid"]
            if indices.size and (indices.min() < 0 or indices.max() >= len(images)):
                raise DatasetError(
                    f"the split file indexes up to {indices.max()}, but {folder} holds only "
                    f"{len(images)} training images")
            images, labels = images[indices], labels[indices]
        return images, labels

    def _split_path(self, data_dir: Path, split_file: str | Path | None) -> Path:
        if split_file is not None:
            return Path(split_file).expanduser()
        candidates = [Path(data_dir) / self.name / SPLIT_FILE_NAME,
                      Path(data_dir) / "cifar10" / SPLIT_FILE_NAME]
        return next((path for path in candidates if path.is_file()), candidates[-1])

    def batch(self, batch_size: int, seed: int, *, data_dir: Path, split: str = "train",
              augment: object = False, normalization: str = "default", size: int | None = None,
              split_file: str | Path | None = None, **unknown: Any) -> Batch:
        """One batch of distinct images drawn with ``numpy.random.default_rng(seed)``."""
        reject_unknown_options(self.name, unknown, OPTIONS)
        check_batch_size(batch_size)
        preset = resolve(self.name, self.normalizations, normalization)
        images, labels = self.arrays(data_dir, split, split_file)
        return draw_batch(images, labels, batch_size, seed, augment=augment, normalization=preset,
                          size=size, source=f"{self.name} split {split!r}")

    def fetch(self, data_dir: Path, *, url: str | None = None, md5: str | None = None,
              retries: int = 3) -> Path:
        """Download and extract the official archive into ``DATA_DIR/<name>``; return the folder.

        Downloads through pooch (``harness.download.download``: retries, progress bar) and
        checks the archive's MD5 (the official one unless ``md5`` is given, e.g. with a test
        server's ``url``; an archive already in place with that MD5 is used as is), extracts
        without letting any member escape the target folder, and checks the result reads.
        Does nothing when the folder is already there.
        """
        folder = self.folder(data_dir)
        if not folder.is_dir():
            target = Path(data_dir) / self.name
            fetch_archive(url or self.layout.archive_url,
                          md5 or self.layout.archive_md5,
                          target / self.layout.archive_url.rsplit("/", 1)[-1], target,
                          expected_folder=self.layout.folder, retries=retries)
        self.arrays(data_dir, "test")
        return folder


CIFAR10 = CifarDataset("cifar10", "CIFAR-10", 10, CIFAR10_LAYOUT, CIFAR10_PRESETS)
CIFAR100 = CifarDataset("cifar100", "CIFAR-100", 100, CIFAR100_LAYOUT, CIFAR100_PRESETS)
