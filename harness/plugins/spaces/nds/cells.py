"""The NDS cell networks (DARTS-style): one genotype, stacked ``depth`` times at ``width``.

Macro structure from DARTS (Liu et al., ICLR 2019) as the NDS sweeps trained it (pycls
``models/nas/nas.py``; Radosavovic et al., ICCV 2019):

- CIFAR network: stem Conv3x3 (3 -> 3W) + BN; cells 0..L-1, cells L//3 and 2L//3 reduce
  (stride 2, double width); global average pool, linear classifier.
- ImageNet network (``_in`` records): stem0 Conv3x3/2 (3 -> W/2)-BN-ReLU-Conv3x3/2 (W/2 -> W)-BN,
  stem1 ReLU-Conv3x3/2-BN, and cell 0 treats its first input as coming after a reduction.
- Cell inputs: s0 through FactorizedReduce after a reduction cell, else ReLU-Conv1x1-BN; s1
  through ReLU-Conv1x1-BN. Node = op_a(state_a) + op_b(state_b); ops reading the cell inputs of
  a reduction cell have stride 2; output = concatenation of the ``*_concat`` states.

Scoring builds it with drop-path 0 and no auxiliary head (the records' ``aux`` heads only train).
``gennas_stem=True`` is GenNAS's ImageNet rewrite (spec §8.3): the three stem convolutions get
stride 1 and cell 0's FactorizedReduce preprocess becomes a stride-1 ReLU-Conv1x1-BN, so 32x32
CIFAR inputs reach cell 0 at 32x32.
``taps="blocks"`` (AZ-NAS's network form) makes ``forward_taps`` return the stem's output and
every cell's instead of GenNAS's three maps; the network and its outputs are unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from harness.errors import ConfigError
from harness.plugins.spaces.nds.cell_ops import FactorizedReduce, ReLUConvBN, build_op
from harness.protocols import TAPS

STEM_MULTIPLIER = 3


class Cell(nn.Module):
    """One normal or reduction cell of a genotype."""

    def __init__(self, pairs: Sequence[Sequence[Any]], concat: Sequence[int], c_prev_prev: int,
                 c_prev: int, channels: int, reduction: bool, reduction_prev: bool) -> None:
        super().__init__()
        self.preprocess0 = (FactorizedReduce(c_prev_prev, channels) if reduction_prev
                            else ReLUConvBN(c_prev_prev, channels, 1, 1, 0))
        self.preprocess1 = ReLUConvBN(c_prev, channels, 1, 1, 0)
        self.inputs = [int(index) for _, index in pairs]
        self.ops = nn.ModuleList(
            build_op(str(name), channels, 2 if reduction and index < 2 else 1)
            for name, index in pairs)
        self.concat = [int(index) for index in concat]
        self.out_channels = len(self.concat) * channels

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(len(self.ops) // 2):
            first, second = 2 * node, 2 * node + 1
            states.append(self.ops[first](states[self.inputs[first]])
                          + self.ops[second](states[self.inputs[second]]))
        return torch.cat([states[index] for index in self.concat], dim=1)


class CellNetwork(nn.Module):
    """A CIFAR or ImageNet cell network; ``forward`` returns logits."""

    def __init__(self, genotype: dict[str, Any], width: int, depth: int, num_classes: int,
                 imagenet: bool, gennas_stem: bool = False, taps: str = "stages") -> None:
        super().__init__()
        if taps not in TAPS:
            raise ConfigError(f"unknown NDS taps {taps!r}; known: {', '.join(TAPS)}")
        self.taps = taps
        self.reduction_at = (depth // 3, 2 * depth // 3)
        if imagenet:
            c_prev_prev = c_prev = width
            reduction_prev = not gennas_stem
            self.stems = nn.ModuleList([_imagenet_stem0(width, 1 if gennas_stem else 2),
                                        _imagenet_stem1(width, 1 if gennas_stem else 2)])
        else:
            c_prev_prev = c_prev = STEM_MULTIPLIER * width
            reduction_prev = False
            self.stems = nn.ModuleList([nn.Sequential(
                nn.Conv2d(3, c_prev, 3, padding=1, bias=False), nn.BatchNorm2d(c_prev))])
        channels = width
        self.cells = nn.ModuleList()
        for index in range(depth):
            reduction = index in self.reduction_at
            channels *= 2 if reduction else 1
            kind = "reduce" if reduction else "normal"
            cell = Cell(genotype[kind], genotype[f"{kind}_concat"], c_prev_prev, c_prev,
                        channels, reduction, reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.out_channels
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def _stem(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s0 = self.stems[0](inputs)
        return (s0, self.stems[1](s0)) if len(self.stems) > 1 else (s0, s0)

    def forward_taps(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        """``s1`` just before cells L//3 and 2L//3 run, and the last cell's output (§1.6); with
        ``taps="blocks"`` the stem's output and every cell's, shallow first."""
        s0, s1 = self._stem(inputs)
        blocks = self.taps == "blocks"
        taps = [s1] if blocks else []
        for index, cell in enumerate(self.cells):
            if not blocks and index in self.reduction_at:
                taps.append(s1)
            s0, s1 = s1, cell(s0, s1)
            if blocks:
                taps.append(s1)
        return taps if blocks else [*taps, s1]

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        features = self.forward_taps(inputs)[-1]
        return self.classifier(self.global_pooling(features).flatten(1))


def _imagenet_stem0(width: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, width // 2, 3, stride, 1, bias=False), nn.BatchNorm2d(width // 2),
        nn.ReLU(inplace=True),
        nn.Conv2d(width // 2, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width))


def _imagenet_stem1(width: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(inplace=True),
                         nn.Conv2d(width, width, 3, stride, 1, bias=False),
                         nn.BatchNorm2d(width))
