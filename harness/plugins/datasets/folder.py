"""``images``: a user's own small image set standing in for a dataset (``--images PATH``).

``PATH`` is either

- a folder of ``.png`` / ``.jpg`` / ``.jpeg`` files, read in file-name order; the label is the
  integer after the last ``_`` of the file name (``cat_0007_3.png`` -> 3), else 0;
- one such image file (a set of one image, labelled the same way); or
- an ``.npz`` file with ``x`` (N, H, W, 3) uint8 (or (N, H, W) gray) and optionally ``y`` (N,)
  integer labels (default 0).

``like`` names the dataset plugin the images stand in for: its input size (images of another
size are resized, antialiased bilinear), its normalization presets and its class count (labels
must be below it). When ``batch_size`` exceeds the number of images, all of them are returned
in a seeded order with one warning naming the file and the count; images are never repeated,
because duplicates make NASWOT's kernel singular. The ``split`` option is accepted and ignored
(a user's image set has one split), so scorer presets written for CIFAR work unchanged.
"""

from __future__ import annotations

import re
import zipfile
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
from harness.plugins.datasets.normalization import Normalization, resolve
from harness.plugins.datasets.transforms import resize_images
from harness.protocols import Batch, MeanStdDataset, NormalizedDataset

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
LABEL_PATTERN = re.compile(r"_(\d+)$")
OPTIONS = ("path", "like", "augment", "normalization", "size", "split")


def label_from_name(path: Path) -> int:
    """The integer after the last ``_`` of the file's stem, else 0."""
    match = LABEL_PATTERN.search(path.stem)
    return int(match.group(1)) if match else 0


def _read_image_file(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as exc:
        raise DatasetError(f"{path} is not a readable PNG/JPEG image: {exc}") from None


def _read_folder(folder: Path, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DatasetError(f"{folder} holds no {'/'.join(IMAGE_SUFFIXES)} image files")
    return _read_files(files, height, width)


def _read_files(files: list[Path], height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    images = [resize_images(_read_image_file(p)[None], height, width)[0] for p in files]
    return np.stack(images), np.asarray([label_from_name(p) for p in files], dtype=np.int64)


def _read_npz(path: Path, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    if not zipfile.is_zipfile(path):  # what np.load would read as a pickle or a text
        raise DatasetError(f"{path} is not a readable .npz file, nor a folder or a "
                           f"{'/'.join(IMAGE_SUFFIXES)} image file")
    try:
        with np.load(path, allow_pickle=False) as content:
            if "x" not in content:
                raise DatasetError(f"{path} has no array 'x' (expected x: (N, H, W, 3) uint8 "
                                   f"and y: (N,) labels); it holds {', '.join(content.files)}")
            images = content["x"]
            labels = content["y"] if "y" in content else np.zeros(len(images), dtype=np.int64)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{path} is not a readable .npz file: {exc}") from None
    if images.ndim == 3:
        images = np.repeat(images[..., None], 3, axis=3)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3 or not len(images):
        raise DatasetError(f"{path}: 'x' must be (N, H, W, 3) uint8 with N > 0, found "
                           f"{images.dtype} {images.shape}")
    if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
        raise DatasetError(f"{path}: 'y' must be ({len(images)},) integers, found "
                           f"{labels.dtype} {labels.shape}")
    return resize_images(images, height, width), labels.astype(np.int64)


@lru_cache(maxsize=4)
def load_images(path: str, height: int, width: int, stamp: tuple[int, int]
                ) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, height, width, 3) uint8 and labels of a folder, an image or an .npz
    (``stamp``: cache key)."""
    source = Path(path)
    if source.is_dir():
        images, labels = _read_folder(source, height, width)
    elif source.suffix.lower() in IMAGE_SUFFIXES:
        images, labels = _read_files([source], height, width)
    else:
        images, labels = _read_npz(source, height, width)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def _like_plugin(like: str) -> Any:
    from harness.registry import get_registry

    return get_registry().get("dataset", like)


def _presets_of(plugin: Any) -> dict[str, Normalization]:
    """A dataset plugin's normalization presets; a third-party plugin with only ``mean``/``std``
    gets those under ``default``."""
    if isinstance(plugin, NormalizedDataset) and plugin.normalizations:
        return plugin.normalizations
    if isinstance(plugin, MeanStdDataset):
        return {"default": Normalization(tuple(plugin.mean), tuple(plugin.std))}
    raise DatasetError(f"dataset {plugin.name!r} defines no normalization (no 'normalizations' "
                       f"or 'mean'/'std'); pick another like=")


class ImageFilesDataset:
    """A folder of images or an .npz standing in for the dataset ``like`` (module docstring).

    ``batch`` options: ``path`` (required), ``like`` (dataset plugin name, default cifar10),
    ``augment``, ``normalization`` and ``size`` (as that dataset's), ``split`` (ignored).
    ``num_classes`` and ``input_shape`` are CIFAR-10's; ``harness.plan`` gives each trial
    those of the ``like`` plugin.
    """

    name = "images"
    num_classes = 10
    input_shape = (3, 32, 32)

    def batch(self, batch_size: int, seed: int, *, data_dir: Path | None = None,
              path: str | Path | None = None, like: str = "cifar10", augment: object = False,
              normalization: str = "default", size: int | None = None, split: str | None = None,
              **unknown: Any) -> Batch:
        """A batch of distinct images of ``path``, drawn with ``default_rng(seed)``."""
        reject_unknown_options(self.name, unknown, OPTIONS)
        check_batch_size(batch_size)
        images, labels, preset, source = self._load(path, like, normalization)
        return draw_batch(images, labels, batch_size, seed, augment=augment, normalization=preset,
                          size=size, source=f"{source} ({len(images)} images)", allow_fewer=True)

    def check_inputs(self, *, data_dir: Path | None = None, path: str | Path | None = None,
                     like: str = "cifar10", normalization: str = "default", **options: Any
                     ) -> None:
        """Read every image of ``path`` once (``CheckedDataset``): a run stops when planned."""
        unknown = {key: value for key, value in options.items() if key not in OPTIONS}
        reject_unknown_options(self.name, unknown, OPTIONS)
        self._load(path, like, normalization)

    def image_count(self, *, data_dir: Path | None = None, path: str | Path | None = None,
                    like: str = "cifar10", **options: Any) -> int:
        """``CountedDataset``: how many images ``path`` holds (read once, then cached)."""
        return len(self._load(path, like, "default")[0])

    def _load(self, path: str | Path | None, like: str, normalization: str
              ) -> tuple[np.ndarray, np.ndarray, Normalization, Path]:
        """The images and labels of ``path`` (checked against ``like``), and the preset."""
        if path is None:
            raise DatasetError("the 'images' dataset needs path=PATH (a folder of PNG/JPEG files "
                               "or an .npz with x and y); on the command line: --images PATH")
        source = Path(path).expanduser()
        if not source.exists():
            raise DatasetError(f"image set not found: {source} (expected a folder of PNG/JPEG "
                               f"files or an .npz with x: (N, H, W, 3) uint8 and y)")
        plugin = _like_plugin(like)
        preset = resolve(f"{self.name} like {like}", _presets_of(plugin), normalization)
        _, height, width = plugin.input_shape
        images, labels = load_images(str(source.resolve()), height, width,
                                     file_stamp(source))
        if labels.size and (labels.min() < 0 or labels.max() >= plugin.num_classes):
            raise DatasetError(
                f"{source}: labels range over {labels.min()}..{labels.max()}, but {like!r} has "
                f"{plugin.num_classes} classes; pick a matching like= dataset")
        return images, labels, preset, source


IMAGES = ImageFilesDataset()
