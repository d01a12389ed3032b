"""Which official NDS sweep file belongs to which space and trial dataset.

The official ``data.zip`` of NDS (Radosavovic et al., "On Network Design Spaces for Visual
Recognition", ICCV 2019; github.com/facebookresearch/nds) holds one JSON per sweep, named
``<Proposer>[_<variant>][_in].json``: ``_in`` marks an ImageNet sweep (else CIFAR-10), the
variant ``fix-w-d`` is a design space of its own (width and depth fixed: the ``-f`` spaces), and
the other variants (``lr-wd``: learning rate and weight decay varied too; ``reruns`` and
``rng1..3``: seed repeats) are extra sweeps of the same design space, kept apart as their own
trial datasets (``imagenet-lr-wd``, ``cifar10-reruns``, ...) so a ranking never mixes them.

Light module (no torch, no pandas): ``harness data status`` and the plugin hook import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The proposer prefix of a sweep file -> the space it belongs to.
PROPOSERS = {
    "Amoeba": "nds-amoeba",
    "DARTS": "nds-darts",
    "ENAS": "nds-enas",
    "NASNet": "nds-nasnet",
    "PNAS": "nds-pnas",
    "ResNet": "nds-resnet",
    "ResNeXt-A": "nds-resnext-a",
    "ResNeXt-B": "nds-resnext-b",
    "Vanilla": "nds-vanilla",
}
FIX_WIDTH_DEPTH = "fix-w-d"
# Spaces whose networks are DARTS-style cells (the others are AnyNet).
CELL_SPACES = ("nds-amoeba", "nds-darts", "nds-darts-f", "nds-enas", "nds-enas-f",
               "nds-nasnet", "nds-pnas", "nds-pnas-f")
ANYNET_SPACES = ("nds-resnet", "nds-resnext-a", "nds-resnext-b", "nds-vanilla")
SPACE_NAMES = CELL_SPACES + ANYNET_SPACES
PRIMARY_DATASETS = ("cifar10", "imagenet")
# Arch-id prefix of each base dataset: CIFAR and ImageNet records build different networks.
ID_PREFIX = {"cifar10": "c10", "imagenet": "in"}

_NAME = re.compile(r"^(?P<proposer>[A-Za-z]+(?:-[AB])?)(?:_(?P<variant>(?!in$)[A-Za-z0-9-]+))?"
                   r"(?P<imagenet>_in)?$")


@dataclass(frozen=True)
class Sweep:
    """One official sweep file: its space, its trial dataset, and the dataset it trained on."""

    file_name: str
    space: str
    dataset: str
    base_dataset: str

    @property
    def id_prefix(self) -> str:
        """``in`` or ``c10``, then a variant tag for the extra sweeps (``in-lr-wd``)."""
        extra = self.dataset[len(self.base_dataset):]
        return ID_PREFIX[self.base_dataset] + extra


# The sweep files of the official data.zip (Radosavovic et al., ICCV 2019, released at
# github.com/facebookresearch/nds; docs/nds.md "Ground truth").
OFFICIAL_SWEEPS = (
    "Amoeba", "DARTS", "DARTS_fix-w-d", "DARTS_lr-wd", "ENAS", "ENAS_fix-w-d", "NASNet", "PNAS",
    "PNAS_fix-w-d", "ResNeXt-A", "ResNeXt-B", "ResNet", "ResNet_lr-wd", "ResNet_reruns",
    "ResNet_rng1", "ResNet_rng2", "ResNet_rng3", "Vanilla", "Vanilla_lr-wd", "Vanilla_reruns",
    "Vanilla_rng1", "Vanilla_rng2", "Vanilla_rng3", "Amoeba_in", "DARTS_in",
    "DARTS_fix-w-d_in", "DARTS_lr-wd_in", "ENAS_in", "NASNet_in", "PNAS_in", "ResNeXt-A_in",
    "ResNeXt-B_in", "ResNet_lr-wd_in", "Vanilla_lr-wd_in")


def sweep_of(file_name: str) -> Sweep | None:
    """The sweep a file name denotes, or None for a name outside the official list (of which
    ``ResNet-B``, a design space none of the 12 spaces is, is left out)."""
    if not file_name.endswith(".json") or file_name[:-len(".json")] not in OFFICIAL_SWEEPS:
        return None
    match = _NAME.match(file_name[:-len(".json")])
    if match is None or match["proposer"] not in PROPOSERS:
        return None
    space = PROPOSERS[match["proposer"]]
    variant = match["variant"]
    base = "imagenet" if match["imagenet"] else "cifar10"
    if variant == FIX_WIDTH_DEPTH:
        space += "-f"
        if space not in SPACE_NAMES:
            return None
        return Sweep(file_name, space, base, base)
    return Sweep(file_name, space, f"{base}-{variant}" if variant else base, base)


def datasets_of(space: str) -> list[str]:
    """The trial datasets of ``space``'s official sweeps, ``cifar10`` and ``imagenet`` first."""
    found = [sweep.dataset for sweep in map(sweep_of, (f"{name}.json" for name in OFFICIAL_SWEEPS))
             if sweep is not None and sweep.space == space]
    return list(dict.fromkeys([d for d in PRIMARY_DATASETS if d in found] + sorted(found)))
