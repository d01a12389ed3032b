"""The NAS-Bench-101 network in PyTorch (Ying et al., ICML 2019; official code
github.com/google-research/nasbench, ``nasbench/lib/model_builder.py``).

Stem Conv3x3-BN-ReLU (3 -> C), three stacks of three copies of the cell, a 2x2 stride-2
max-pool before stacks 2 and 3 whose first cell doubles the width (C, 2C, 4C), global average
pool and a linear classifier. With ``stem_channels=128`` the trainable parameter count equals
the benchmark's ``trainable_parameters`` (convs carry no bias; BN has gamma and beta).

Inside a cell, the output width is split over the interior vertices that feed the output
(``vertex_channels``); edges from the cell input get a 1x1 Conv-BN-ReLU projection, interior
edges are truncated to the receiving vertex's width, and an input -> output edge adds a
projection to the concatenated output.

``taps="blocks"`` (AZ-NAS's network form) makes ``forward_taps`` return the stem's output and
every cell's (10 maps; the max-pools between stacks are not blocks) instead of the three stack
outputs; the network and its outputs are unchanged.

``bn_momentum``: the BatchNorm running-statistics momentum (PyTorch's convention). The benchmark
trained with TensorFlow's decay 0.997, i.e. 0.003, the default; GenNAS's code builds its NB-101
network with PyTorch's default 0.1 (``pynbs/nasbench101/base_ops.py``, github.com/leeyeehoo/GenNAS).
It matters only where a scorer trains and then reads the network in eval mode, as GenNAS does:
after its 100 steps, running statistics at 0.003 have moved a quarter of the way from their
start (0 and 1), and the eval-mode losses of 20-30 barely normalized layers blow up to 1e5-1e28.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from harness.errors import ConfigError
from harness.plugins.spaces.nb101.cell import CONV1X1, CONV3X3, MAXPOOL3X3, Cell
from harness.protocols import TAPS

NUM_STACKS = 3
CELLS_PER_STACK = 3
# The benchmark trained with TensorFlow batch norm: decay 0.997, epsilon 1e-5.
BN_MOMENTUM = 1 - 0.997
BN_EPS = 1e-5
# Makes the normalization of a block of the given width; None: no BatchNorm (synflow's variant).
Norm = Callable[[int], nn.Module] | None


def vertex_channels(in_channels: int, out_channels: int, matrix: tuple[tuple[int, ...], ...]
                    ) -> list[int]:
    """Width of every vertex (``compute_vertex_channels``): the output split, then max over
    successors."""
    size = len(matrix)
    channels = [0] * size
    channels[0], channels[-1] = in_channels, out_channels
    if size == 2:
        return channels
    feeding = [v for v in range(1, size - 1) if matrix[v][size - 1]]
    share, extra = divmod(out_channels, len(feeding))
    for rank, v in enumerate(feeding):
        channels[v] = share + (1 if rank < extra else 0)
    for v in range(size - 2, 0, -1):
        if not matrix[v][size - 1]:
            channels[v] = max(channels[w] for w in range(v + 1, size - 1) if matrix[v][w])
    return channels


class ConvBnRelu(nn.Sequential):
    """Conv (no bias) -> BN -> ReLU; without ``norm`` no BN (synflow's variant)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, norm: Norm):
        layers: list[nn.Module] = [nn.Conv2d(in_channels, out_channels, kernel_size,
                                             padding=kernel_size // 2, bias=False)]
        if norm is not None:
            layers.append(norm(out_channels))
        layers.append(nn.ReLU())
        super().__init__(*layers)


def _vertex_op(op: str, channels: int, norm: Norm) -> nn.Module:
    if op == CONV3X3:
        return ConvBnRelu(channels, channels, 3, norm)
    if op == CONV1X1:
        return ConvBnRelu(channels, channels, 1, norm)
    if op == MAXPOOL3X3:
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise ValueError(f"unknown NB101 op {op!r}")


class NB101Cell(nn.Module):
    """One module of the network: the cell's DAG at a given input and output width."""

    def __init__(self, cell: Cell, in_channels: int, out_channels: int, norm: Norm):
        super().__init__()
        self.matrix = cell.matrix
        size = cell.num_vertices
        self.channels = vertex_channels(in_channels, out_channels, cell.matrix)
        self.projections = nn.ModuleDict({
            str(v): ConvBnRelu(in_channels, self.channels[v], 1, norm)
            for v in range(1, size) if cell.matrix[0][v]})
        self.ops = nn.ModuleDict({str(v): _vertex_op(cell.ops[v], self.channels[v], norm)
                                  for v in range(1, size - 1)})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = len(self.matrix)
        outputs: list[torch.Tensor | None] = [x] + [None] * (size - 1)
        for v in range(1, size - 1):
            width = self.channels[v]
            terms = [outputs[u][:, :width] for u in range(1, v) if self.matrix[u][v]]
            if self.matrix[0][v]:
                terms.append(self.projections[str(v)](x))
            outputs[v] = self.ops[str(v)](sum(terms[1:], terms[0]))
        feeding = [outputs[v] for v in range(1, size - 1) if self.matrix[v][size - 1]]
        if not feeding:
            return self.projections[str(size - 1)](x)
        out = torch.cat(feeding, dim=1) if len(feeding) > 1 else feeding[0]
        if self.matrix[0][size - 1]:
            out = out + self.projections[str(size - 1)](x)
        return out


class NB101Network(nn.Module):
    """Stem, 3 stacks x 3 cells with max-pool + width doubling between stacks, GAP, linear."""

    def __init__(self, cell: Cell, *, num_classes: int = 10, stem_channels: int = 128,
                 batchnorm: bool = True, bn_momentum: float = BN_MOMENTUM,
                 taps: str = "stages"):
        super().__init__()
        if taps not in TAPS:
            raise ConfigError(f"unknown nb101 taps {taps!r}; known: {', '.join(TAPS)}")
        self.taps = taps
        norm = partial(nn.BatchNorm2d, eps=BN_EPS, momentum=bn_momentum) if batchnorm else None
        self.stem = ConvBnRelu(3, stem_channels, 3, norm)
        self.stacks = nn.ModuleList()
        in_channels = out_channels = stem_channels
        for stack in range(NUM_STACKS):
            layers: list[nn.Module] = []
            if stack > 0:
                layers.append(nn.MaxPool2d(2, stride=2))
                out_channels *= 2
            for _ in range(CELLS_PER_STACK):
                layers.append(NB101Cell(cell, in_channels, out_channels, norm))
                in_channels = out_channels
            self.stacks.append(nn.Sequential(*layers))
        self.classifier = nn.Linear(out_channels, num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The proxies' PyTorch init: conv N(0, sqrt(2/(k*k*C_out))), BN 1/0, linear N(0, 0.01),
        bias 0."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
                nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_out))
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)
                nn.init.zeros_(module.bias)

    def forward_taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The outputs of the three stacks (before the next max-pool): the GenNAS taps; with
        ``taps="blocks"`` the stem output and every cell's output, shallow first."""
        x = self.stem(x)
        taps = [x] if self.taps == "blocks" else []
        for stack in self.stacks:
            for layer in stack:
                x = layer(x)
                if self.taps == "blocks" and isinstance(layer, NB101Cell):
                    taps.append(x)
            if self.taps == "stages":
                taps.append(x)
        return taps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.forward_taps(x)[-1]
        return self.classifier(features.mean(dim=(2, 3)))
