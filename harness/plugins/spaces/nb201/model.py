"""The NAS-Bench-201 network for one cell (docs/protocol.md, "Networks").

Macro skeleton (Dong & Yang, ICLR 2020): 3×3 conv stem (C channels) + BN; three stages of N
cells at widths C, 2C, 4C, separated by stride-2 residual basic blocks; BN-ReLU, global average
pool, linear classifier. A cell has nodes 0..3, node j = Σ_{i<j} op_ij(node i), output node 3.
Ops: ``none`` (zeros), ``skip_connect`` (identity), ``nor_conv_1x1`` / ``nor_conv_3x3``
(ReLU → Conv → BN), ``avg_pool_3x3`` (stride 1, pad 1, padding excluded from the mean).

Variants (``variant=``):

- ``"official"`` (default): the benchmark's inference network. Cells hold only the selected
  op per edge; convolutions have no bias; every BN is affine with running statistics. Its
  parameter count equals the benchmark's stored ``params``.
- ``"zerocost"`` (alias ``"gennas"``): the builder the zero-cost-proxy and GenNAS references
  share (github.com/SamsungLabs/zero-cost-nas): every edge instantiates all five candidate
  ops and runs only the selected one (the others' parameters exist, e.g. for ``l2_norm``);
  cell convolutions have a bias; cell BN is non-affine without running statistics. Stem,
  reduction blocks and head are as in ``"official"``.

``taps="blocks"`` (AZ-NAS's network form) makes ``forward_taps`` return the stem's output and
every block's (each cell and each reduction block: 3N + 3 maps) instead of the three stage
outputs; the network and its outputs are unchanged.

``batchnorm=False`` is synflow's BN-free copy (docs/zero-cost.md): the stem, cell and head BNs
become identities, while the residual reduction blocks keep theirs, as in the reference.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from harness.errors import ConfigError
from harness.plugins.spaces.nb201.arch import EDGES, OPS
from harness.protocols import TAPS

VARIANTS = ("official", "zerocost", "gennas")


def _norm(channels: int, enabled: bool, affine: bool = True,
          track_running_stats: bool = True) -> nn.Module:
    if not enabled:
        return nn.Identity()
    return nn.BatchNorm2d(channels, affine=affine, track_running_stats=track_running_stats)


class ReLUConvBN(nn.Sequential):
    """ReLU → Conv2d → BN (the ``nor_conv_*`` op and the reduction block's halves)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, *, bias: bool,
                 norm: nn.Module) -> None:
        super().__init__(nn.ReLU(inplace=False),
                         nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2,
                                   bias=bias),
                         norm)


class Zero(nn.Module):
    """The ``none`` op: multiplies by zero, so gradients still reach the input (as zeros)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def _make_op(code: int, channels: int, *, conv_bias: bool, batchnorm: bool, affine: bool,
             track_running_stats: bool) -> nn.Module:
    name = OPS[code]
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    kernel = 1 if name == "nor_conv_1x1" else 3
    return ReLUConvBN(channels, channels, kernel, 1, bias=conv_bias,
                      norm=_norm(channels, batchnorm, affine, track_running_stats))


class Cell(nn.Module):
    """One searched cell; ``edges[k]`` computes edge ``EDGES[k]``."""

    def __init__(self, ops: Sequence[int], channels: int, *, supernet: bool,
                 batchnorm: bool) -> None:
        super().__init__()
        self.ops = tuple(ops)
        settings = {"conv_bias": supernet, "batchnorm": batchnorm, "affine": not supernet,
                    "track_running_stats": not supernet}
        if supernet:
            # All candidates exist per edge; only the selected one runs.
            self.edges = nn.ModuleList(
                nn.ModuleList(_make_op(code, channels, **settings) for code in range(len(OPS)))
                for _ in EDGES)
        else:
            self.edges = nn.ModuleList(_make_op(code, channels, **settings) for code in self.ops)
        self.supernet = supernet
        self.running_edges = tuple(range(len(EDGES)))

    def _edge(self, k: int) -> nn.Module:
        return self.edges[k][self.ops[k]] if self.supernet else self.edges[k]

    def skip_dead_paths(self) -> None:
        """Run only the edges that change the output: not ``none`` and into a node with a
        path of non-``none`` edges to node 3. A skipped edge would add an exact zero to its
        node, or feed a node the output never reads, so outputs and the gradients of the
        parameters that still run are bit-identical for finite values; skipped parameters get
        no gradient, and ReLU hooks on skipped edges no longer fire (NASWOT must not use it)."""
        live = {3}
        for node in (2, 1):
            if any(src == node and dst in live and OPS[self.ops[k]] != "none"
                   for k, (src, dst) in enumerate(EDGES)):
                live.add(node)
        self.running_edges = tuple(k for k, (_, dst) in enumerate(EDGES)
                                   if dst in live and OPS[self.ops[k]] != "none")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for target in (1, 2, 3):
            incoming = [self._edge(k)(nodes[EDGES[k][0]]) for k in self.running_edges
                        if EDGES[k][1] == target]
            nodes.append(_node_sum(incoming, nodes) if incoming else torch.zeros_like(x))
        return nodes[3]


def _node_sum(terms: list[torch.Tensor], nodes: list[torch.Tensor]) -> torch.Tensor:
    """``terms[0] + terms[1] + ...``, never one of ``nodes`` itself.

    Python's ``sum`` starts from ``0 +``: a whole-tensor add (and a backward node) that changes
    no value. It is skipped where the first term is an edge's own output. Where that term *is*
    an earlier node (a skip edge) the add stays, so the new node stays a tensor of its own and
    the gradients reaching the earlier node accumulate in the same grouping and order as with
    ``sum``: training is bit-identical (tests/test_gennas_kernels.py), 1.06x on light cells."""
    first = terms[0]
    total = 0 + first if any(first is node for node in nodes) else first
    for term in terms[1:]:
        total = total + term
    return total


class ResidualReduction(nn.Module):
    """Stride-2 residual basic block: two ReLU-Conv3×3-BN, shortcut AvgPool2×2 → Conv1×1."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, bias=False, norm=nn.BatchNorm2d(c_out))
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, bias=False, norm=nn.BatchNorm2d(c_out))
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, stride=2, padding=0),
                                      nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """Stem, three stages of ``cells_per_stage`` cells, head; ``forward`` returns logits."""

    def __init__(self, ops: Sequence[int], *, num_classes: int, channels: int = 16,
                 cells_per_stage: int = 5, batchnorm: bool = True,
                 variant: str = "official", in_channels: int = 3,
                 taps: str = "stages") -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ConfigError(f"unknown nb201 builder variant {variant!r}; known: "
                              f"{', '.join(VARIANTS)}")
        if taps not in TAPS:
            raise ConfigError(f"unknown nb201 taps {taps!r}; known: {', '.join(TAPS)}")
        self.taps = taps
        if channels < 1 or cells_per_stage < 1 or num_classes < 1:
            raise ConfigError(f"nb201 builder needs C >= 1, N >= 1 and num_classes >= 1; got "
                              f"C={channels}, N={cells_per_stage}, num_classes={num_classes}")
        supernet = variant != "official"
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
                                  _norm(channels, batchnorm))
        stages: list[nn.Module] = []
        width = channels
        for stage in range(3):
            blocks: list[nn.Module] = []
            if stage > 0:
                blocks.append(ResidualReduction(width, width * 2))
                width *= 2
            blocks.extend(Cell(ops, width, supernet=supernet, batchnorm=batchnorm)
                          for _ in range(cells_per_stage))
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)
        self.head_norm = _norm(width, batchnorm)
        self.head_act = nn.ReLU(inplace=False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(width, num_classes)

    def forward_taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The three stage outputs (before the head): C×H×W, 2C×H/2×W/2, 4C×H/4×W/4; with
        ``taps="blocks"`` the stem output and every block's output, shallow first."""
        out = self.stem(x)
        if self.taps == "stages":
            taps = []
            for stage in self.stages:
                out = stage(out)
                taps.append(out)
            return taps
        taps = [out]
        for block in (block for stage in self.stages for block in stage):
            out = block(out)
            taps.append(out)
        return taps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.forward_taps(x)[-1]
        pooled = self.pool(self.head_act(self.head_norm(features))).flatten(1)
        return self.classifier(pooled)
