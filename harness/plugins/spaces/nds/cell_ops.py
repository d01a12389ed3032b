"""The candidate operations of the NDS cell spaces (DARTS, ENAS, PNAS, Amoeba, NASNet).

Written from the DARTS paper (Liu et al., ICLR 2019) and the op list the NDS sweeps use (pycls
``models/nas/operations.py`` as vendored by NASWOT): every convolution has no bias, every BN is
affine, ``C`` channels in and out, ``stride`` 2 only for ops reading a reduction cell's inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from harness.errors import ConfigError


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, affine=True)


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv(k, stride, padding) -> BN."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__(nn.ReLU(inplace=False),
                         nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False),
                         _bn(c_out))


class DilConv(nn.Sequential):
    """ReLU -> depthwise k x k (dilation) -> pointwise 1x1 -> BN."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int,
                 dilation: int) -> None:
        super().__init__(nn.ReLU(inplace=False),
                         nn.Conv2d(c_in, c_in, kernel, stride, padding, dilation=dilation,
                                   groups=c_in, bias=False),
                         nn.Conv2d(c_in, c_out, 1, bias=False), _bn(c_out))


class SepConv(nn.Sequential):
    """Two DilConv blocks, the first carrying the stride (dilation 1: the DARTS sep_conv)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int,
                 dilation: int = 1) -> None:
        super().__init__(DilConv(c_in, c_in, kernel, stride, padding, dilation),
                         DilConv(c_in, c_out, kernel, 1, padding, dilation))


class FactorizedConv(nn.Sequential):
    """ReLU -> Conv(1 x k) -> Conv(k x 1) -> BN (``conv_3x1_1x3``, ``conv_7x1_1x7``)."""

    def __init__(self, channels: int, kernel: int, stride: int) -> None:
        pad = kernel // 2
        super().__init__(nn.ReLU(inplace=False),
                         nn.Conv2d(channels, channels, (1, kernel), (1, stride), (0, pad),
                                   bias=False),
                         nn.Conv2d(channels, channels, (kernel, 1), (stride, 1), (pad, 0),
                                   bias=False),
                         _bn(channels))


class FactorizedReduce(nn.Module):
    """Halve the resolution: ReLU, two stride-2 1x1 convs (the second on the input shifted by
    one pixel) concatenated to ``c_out`` channels, BN."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        if c_out % 2:
            raise ConfigError(f"FactorizedReduce needs an even channel count, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = _bn(c_out)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        inputs = self.relu(inputs)
        shifted = inputs[:, :, 1:, 1:] if inputs.shape[-1] > 1 else inputs
        return self.bn(torch.cat([self.conv_1(inputs), self.conv_2(shifted)], dim=1))


class Zero(nn.Module):
    """The ``none`` op: zeros at the output resolution."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs[:, :, ::self.stride, ::self.stride].mul(0.0)


def _pool(kind: str, kernel: int) -> Callable[[int, int], nn.Module]:
    def build(_channels: int, stride: int) -> nn.Module:
        if kind == "avg":
            return nn.AvgPool2d(kernel, stride, kernel // 2, count_include_pad=False)
        return nn.MaxPool2d(kernel, stride, kernel // 2)
    return build


def _skip(channels: int, stride: int) -> nn.Module:
    return nn.Identity() if stride == 1 else FactorizedReduce(channels, channels)


OPS: dict[str, Callable[[int, int], nn.Module]] = {
    "none": lambda c, s: Zero(s),
    "skip_connect": _skip,
    "avg_pool_2x2": _pool("avg", 2),
    "avg_pool_3x3": _pool("avg", 3),
    "avg_pool_5x5": _pool("avg", 5),
    "max_pool_2x2": _pool("max", 2),
    "max_pool_3x3": _pool("max", 3),
    "max_pool_5x5": _pool("max", 5),
    "max_pool_7x7": _pool("max", 7),
    "conv_1x1": lambda c, s: ReLUConvBN(c, c, 1, s, 0),
    "conv_3x3": lambda c, s: ReLUConvBN(c, c, 3, s, 1),
    "sep_conv_3x3": lambda c, s: SepConv(c, c, 3, s, 1),
    "sep_conv_5x5": lambda c, s: SepConv(c, c, 5, s, 2),
    "sep_conv_7x7": lambda c, s: SepConv(c, c, 7, s, 3),
    "dil_conv_3x3": lambda c, s: DilConv(c, c, 3, s, 2, 2),
    "dil_conv_5x5": lambda c, s: DilConv(c, c, 5, s, 4, 2),
    "dil_sep_conv_3x3": lambda c, s: SepConv(c, c, 3, s, 2, 2),
    "conv_3x1_1x3": lambda c, s: FactorizedConv(c, 3, s),
    "conv_7x1_1x7": lambda c, s: FactorizedConv(c, 7, s),
}


def build_op(name: str, channels: int, stride: int) -> nn.Module:
    """The op ``name`` at ``channels`` channels; ``ConfigError`` for a name outside the set."""
    if name not in OPS:
        raise ConfigError(f"unknown NDS cell op {name!r}; known: {', '.join(sorted(OPS))}")
    return OPS[name](channels, stride)
