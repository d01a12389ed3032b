"""Per-dataset normalization presets, named after the scorer family whose reference used them.

Every image dataset plugin maps the same preset names to its own constants, so a scorer can ask
for ``normalization="naswot"`` whatever dataset the run uses:

- ``default`` / ``zerocost``: the zero-cost-proxies pipeline (SamsungLabs/zero-cost-nas).
  CIFAR-10 and CIFAR-100 both get mean (0.4914, 0.4822, 0.4465), std (0.2023, 0.1994, 0.2010): the
  reference picks its constants with a substring test on "cifar10", which CIFAR-100 also passes.
- ``naswot``: NASWOT (BayesWatch/nas-without-training), per dataset.
- ``gennas``: GenNAS (leeyeehoo/GenNAS): CIFAR-10 constants for CIFAR-100 too; ImageNet16-120
  is upsampled to 32×32 with nearest interpolation.
- ``none``: pixels scaled to [0, 1] and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import ConfigError


@dataclass(frozen=True)
class Normalization:
    """Per-channel ``(x - mean) / std`` on pixels in [0, 1]; ``size``: side to resize to or None."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    size: int | None = None


def _over_255(values: tuple[float, float, float]) -> tuple[float, float, float]:
    return (values[0] / 255, values[1] / 255, values[2] / 255)


IDENTITY = Normalization((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))

ZEROCOST_CIFAR = Normalization((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))
NASWOT_CIFAR10 = Normalization(_over_255((125.3, 123.0, 113.9)), _over_255((63.0, 62.1, 66.7)))
NASWOT_CIFAR100 = Normalization(_over_255((129.3, 124.1, 112.4)), _over_255((68.2, 65.4, 70.4)))
IMAGENET16 = Normalization(_over_255((122.68, 116.66, 104.01)), _over_255((63.22, 61.26, 65.09)))

CIFAR10_PRESETS: dict[str, Normalization] = {
    "default": ZEROCOST_CIFAR,
    "zerocost": ZEROCOST_CIFAR,
    "naswot": NASWOT_CIFAR10,
    "gennas": NASWOT_CIFAR10,
    "none": IDENTITY,
}
CIFAR100_PRESETS: dict[str, Normalization] = {
    "default": ZEROCOST_CIFAR,
    "zerocost": ZEROCOST_CIFAR,
    "naswot": NASWOT_CIFAR100,
    "gennas": NASWOT_CIFAR10,
    "none": IDENTITY,
}
# The zero-cost reference normalizes ImageNet16-120 with the same constants as its loader
# (its ImageNet16-120 mean/std); NASWOT keeps 16×16, GenNAS upsamples to 32×32.
IMAGENET16_PRESETS: dict[str, Normalization] = {
    "default": IMAGENET16,
    "zerocost": IMAGENET16,
    "naswot": IMAGENET16,
    "gennas": Normalization(IMAGENET16.mean, IMAGENET16.std, size=32),
    "none": IDENTITY,
}

PRESET_NAMES = ("default", "zerocost", "naswot", "gennas", "none")


def same_for_every_preset(normalization: Normalization) -> dict[str, Normalization]:
    """Presets for a dataset no reference used: its own statistics under every name but ``none``."""
    presets = {name: normalization for name in PRESET_NAMES}
    presets["none"] = IDENTITY
    return presets


def resolve(dataset: str, presets: dict[str, Normalization], name: str) -> Normalization:
    """The preset ``name`` of ``dataset``; ``ConfigError`` listing the known names otherwise."""
    if name not in presets:
        raise ConfigError(
            f"dataset {dataset!r} has no normalization {name!r}; "
            f"use one of {', '.join(sorted(presets))}")
    return presets[name]
