"""Image transforms on numpy batches (N, H, W, 3), in the order torchvision pipelines apply them.

Random crop and flip act on raw pixels before scaling, exactly like ``RandomCrop(size,
padding) -> RandomHorizontalFlip -> ToTensor -> Normalize``: padding is black (0) in pixel
space, so after normalization it becomes ``-mean/std``. All randomness comes from the numpy
``Generator`` passed in, so a seed fixes the result.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from harness.errors import ConfigError
from harness.plugins.datasets.normalization import Normalization

# Strings too, because options given on the command line arrive as text.
AUGMENT_MODES: dict[object, tuple[bool, bool]] = {
    False: (False, False), None: (False, False), "none": (False, False), "false": (False, False),
    True: (True, True), "true": (True, True), "crop+flip": (True, True),
    "flip": (False, True), "crop": (True, False),
}


def parse_augment(value: object) -> tuple[bool, bool]:
    """``(crop, flip)`` of an ``augment`` option: False/"none", True/"crop+flip", "flip", "crop"."""
    key = value.lower() if isinstance(value, str) else value
    if isinstance(key, bool | None | str) and key in AUGMENT_MODES:
        return AUGMENT_MODES[key]
    raise ConfigError(
        f"augment={value!r} is not understood; use false, true (= 'crop+flip'), 'crop' or 'flip'")


def random_crop_flip(images: np.ndarray, rng: np.random.Generator, *, crop: bool, flip: bool,
                     padding: int) -> np.ndarray:
    """Zero-pad by ``padding`` and crop back to the original size at a random offset, then flip
    each image horizontally with probability 1/2. Offsets are drawn first, then flips."""
    count, height, width = images.shape[:3]
    out = images
    if crop and padding > 0:
        offsets = rng.integers(0, 2 * padding + 1, size=(count, 2))
        padded = np.pad(images, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
        out = np.stack([padded[i, dy:dy + height, dx:dx + width]
                        for i, (dy, dx) in enumerate(offsets)])
    if flip:
        flips = rng.random(count) < 0.5
        out = np.where(flips[:, None, None, None], out[:, :, ::-1], out)
    return np.ascontiguousarray(out)


def _as_tensor(images: np.ndarray) -> torch.Tensor:
    """A tensor sharing ``images``' memory, or a copy where the array is read-only (cached
    arrays, PIL buffers), which ``torch.from_numpy`` does not accept silently."""
    pixels = np.ascontiguousarray(images)
    return torch.from_numpy(pixels if pixels.flags.writeable else pixels.copy())


def to_normalized_tensor(images: np.ndarray, normalization: Normalization) -> torch.Tensor:
    """(N, H, W, 3) uint8 pixels or floats in [0, 1] -> (N, 3, H, W) float32, normalized.

    Arithmetic as ``ToTensor`` + ``Normalize``: divide by 255 in float32, then subtract the mean
    and divide by the std, both float32 tensors.
    """
    tensor = _as_tensor(images).permute(0, 3, 1, 2)
    tensor = tensor.float().div(255) if images.dtype == np.uint8 else tensor.float()
    mean = torch.tensor(normalization.mean, dtype=torch.float32)[:, None, None]
    std = torch.tensor(normalization.std, dtype=torch.float32)[:, None, None]
    return tensor.sub(mean).div(std).contiguous()


def resize_nearest(tensor: torch.Tensor, size: int) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, size, size) with nearest interpolation (the GenNAS upsampling)."""
    if tensor.shape[-2:] == (size, size):
        return tensor
    return F.interpolate(tensor, size=(size, size), mode="nearest").contiguous()


def resize_images(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, height, width, 3) uint8 by antialiased bilinear resampling.

    For user images whose size differs from the dataset they stand in for; the result is rounded
    back to uint8 so the rest of the pipeline treats it as any other image file.
    """
    if images.shape[1:3] == (height, width):
        return images
    tensor = _as_tensor(images).permute(0, 3, 1, 2).float()
    resized = F.interpolate(tensor, size=(height, width), mode="bilinear", align_corners=False,
                            antialias=True)
    pixels = resized.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    return np.ascontiguousarray(pixels.numpy())
