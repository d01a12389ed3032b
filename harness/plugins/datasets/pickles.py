"""Reading the official python-pickle dataset files (CIFAR, downsampled ImageNet) safely.

The CIFAR-10/100 "python version" archives and the downsampled-ImageNet batches are published as
Python pickles of a dict of numpy arrays and lists; the files are the official dataset files the
user downloaded. A pickle can still name arbitrary callables, so the unpickler here resolves only
what such a dict needs (numpy arrays and dtypes) and refuses everything else. Files written by
Python 2 are decoded with ``encoding="latin1"``, as their publishers document.
"""

from __future__ import annotations

import codecs
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import DatasetError

_NUMPY_CORE = np._core.multiarray if hasattr(np, "_core") else np.core.multiarray

# (module, name) -> object; old files name numpy.core, new ones numpy._core.
_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _NUMPY_CORE._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _NUMPY_CORE._reconstruct,
    ("numpy.core.multiarray", "scalar"): _NUMPY_CORE.scalar,
    ("numpy._core.multiarray", "scalar"): _NUMPY_CORE.scalar,
    ("_codecs", "encode"): codecs.encode,
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: the dataset files hold only numpy arrays "
                f"and lists") from None


def load_dict_pickle(path: Path, *, what: str, hint: str) -> dict[str, Any]:
    """Load the dict stored in ``path``, with ``str`` keys; ``DatasetError`` if it is not one.

    ``what`` describes the file for messages, ``hint`` says where the official files come from.
    """
    try:
        with open(path, "rb") as handle:
            content = _ArrayUnpickler(handle, encoding="latin1").load()
    except FileNotFoundError:
        raise DatasetError(f"{what} not found: expected the file {path}. {hint}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, OSError) as exc:
        raise DatasetError(
            f"{path} is not a readable {what} (truncated or not the python-pickle version): "
            f"{type(exc).__name__}: {exc}. {hint}") from None
    if not isinstance(content, dict):
        raise DatasetError(
            f"{path} is not a {what}: expected a pickled dict, found {type(content).__name__}. "
            f"{hint}")
    return {key.decode("latin1") if isinstance(key, bytes) else key: value
            for key, value in content.items()}


def image_rows(content: dict[str, Any], path: Path, *, side: int, label_key: str,
               what: str, hint: str) -> tuple[np.ndarray, np.ndarray]:
    """``content["data"]`` (N, 3·side·side) uint8, channel-major rows, as (N, side, side, 3)
    images (a view), and ``content[label_key]`` as int64 labels; ``DatasetError`` if either
    is malformed."""
    data, labels = content.get("data"), content.get(label_key)
    row_len = 3 * side * side
    if (not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2
            or data.shape[1] != row_len):
        found = (f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray)
                 else type(data).__name__)
        raise DatasetError(
            f"{path} is not a {what}: expected 'data' as uint8 of shape (N, {row_len}), "
            f"found {found}. {hint}")
    if labels is None or len(labels) != len(data):
        raise DatasetError(
            f"{path} is not a {what}: expected {len(data)} '{label_key}', found "
            f"{'none' if labels is None else len(labels)}. {hint}")
    # A strided view: callers concatenate or index it, which makes the one contiguous copy.
    images = data.reshape(-1, 3, side, side).transpose(0, 2, 3, 1)
    return images, np.asarray(labels, dtype=np.int64)


def concatenate_images(chunks: list[np.ndarray]) -> np.ndarray:
    """Concatenate image arrays (views allowed) into one C-contiguous (N, H, W, 3) array."""
    out = np.empty((sum(len(chunk) for chunk in chunks), *chunks[0].shape[1:]), dtype=np.uint8)
    return np.concatenate(chunks, out=out)
