"""Parameter and multiply-accumulate counts of the NB-201 network, from the arch alone.

The ``params`` and ``flops`` scorers of a trial would otherwise build the whole network
(``model.py``, about 11 ms on a CPU) to count what its layers hold; these closed forms give the
same numbers in microseconds (``harness.protocols.CountingSpace``, docs/performance.md; the
per-op counts are cached, as a worker sees the same few widths in every trial). They
follow ``model.py`` layer by layer, for every builder option it takes:

- a ``BatchNorm2d(c)`` holds 2c parameters when affine, none otherwise (running statistics are
  buffers); ``batchnorm=False`` turns stem, cell and head BNs into identities, while the
  residual reduction blocks keep theirs (affine);
- a cell convolution ``nor_conv_kxk`` at width c holds c·c·k² weights, plus c biases in the
  ``zerocost``/``gennas`` variant; ``none``, ``skip_connect`` and ``avg_pool_3x3`` hold none;
- the ``official`` cell holds its six selected ops; the ``zerocost`` cell holds all five
  candidates on each of its six edges and runs only the selected one;
- multiply-accumulates are those the ``flops`` scorer's hooks count: for each Conv2d call,
  output elements × in_channels × kernel area; for the classifier, classes × in_features.

An option value the builder rejects (unknown variant, C < 1, ...), an unknown option, or an
input shape the network cannot run gives None: the caller then builds the model, which raises
the builder's own error.
"""

from __future__ import annotations

from functools import lru_cache

from harness.plugins.spaces.nb201.arch import OPS, str_to_ops
from harness.plugins.spaces.nb201.model import VARIANTS

_KERNEL = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}


def _valid(num_classes: int, channels: int, cells: int, variant: str, in_channels: int) -> bool:
    values = (num_classes, channels, cells, in_channels)
    return (variant in VARIANTS and all(isinstance(value, int) and not isinstance(value, bool)
                                        for value in values)
            and min(values) >= 1)


def _norm_params(channels: int, batchnorm: bool, affine: bool = True) -> int:
    return 2 * channels if batchnorm and affine else 0


@lru_cache(maxsize=256)
def _op_params(name: str, channels: int, *, supernet: bool, batchnorm: bool) -> int:
    kernel = _KERNEL.get(name)
    if kernel is None:
        return 0
    bias = channels if supernet else 0
    return channels * channels * kernel * kernel + bias + _norm_params(channels, batchnorm,
                                                                       affine=not supernet)


def _cell_params(ops: tuple[int, ...], channels: int, supernet: bool, batchnorm: bool) -> int:
    if supernet:
        return len(ops) * sum(_op_params(name, channels, supernet=True, batchnorm=batchnorm)
                              for name in OPS)
    return sum(_op_params(OPS[code], channels, supernet=False, batchnorm=batchnorm)
               for code in ops)


def _reduction_params(c_in: int, c_out: int) -> int:
    """``ResidualReduction``: two 3×3 convs with affine BN, 1×1 shortcut conv."""
    return c_in * c_out * 9 + 2 * c_out + c_out * c_out * 9 + 2 * c_out + c_in * c_out


def parameter_count(arch_id: str, num_classes: int, channels: int = 16, cells: int = 5,
                    batchnorm: bool = True, variant: str = "official",
                    in_channels: int = 3) -> int | None:
    """``sum(p.numel() for p in NB201Network(...).parameters())``; None for invalid options."""
    if not _valid(num_classes, channels, cells, variant, in_channels):
        return None
    ops, supernet, batchnorm = str_to_ops(arch_id), variant != "official", bool(batchnorm)
    total = in_channels * channels * 9 + _norm_params(channels, batchnorm)
    width = channels
    for stage in range(3):
        if stage > 0:
            total += _reduction_params(width, width * 2)
            width *= 2
        total += cells * _cell_params(ops, width, supernet, batchnorm)
    return total + _norm_params(width, batchnorm) + width * num_classes + num_classes


def _conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def multiply_accumulates(arch_id: str, input_shape: tuple[int, int, int], num_classes: int,
                         channels: int = 16, cells: int = 5, variant: str = "official",
                         in_channels: int = 3) -> int | None:
    """Conv2d and Linear MACs of one forward pass of one ``input_shape`` example (the
    ``flops`` scorer's count); None for invalid options or a shape the network cannot run."""
    if not _valid(num_classes, channels, cells, variant, in_channels):
        return None
    depth, height, width_px = input_shape
    if depth != in_channels or height < 1 or width_px < 1:
        return None
    cell_kernels = sum(_KERNEL.get(OPS[code], 0) ** 2 for code in str_to_ops(arch_id))
    width = channels
    total = height * width_px * channels * in_channels * 9
    for stage in range(3):
        if stage > 0:
            # The block adds conv_b(conv_a(x)) (3×3, stride 2, padding 1) to the shortcut
            # (2×2 average pool, stride 2): their sizes agree only for an even size >= 2.
            if height % 2 or width_px % 2:
                return None
            out_h, out_w = _conv_out(height, 3, 2, 1), _conv_out(width_px, 3, 2, 1)
            total += out_h * out_w * (width * 2) * width * 9       # conv_a
            total += out_h * out_w * (width * 2) * (width * 2) * 9  # conv_b
            total += out_h * out_w * (width * 2) * width            # shortcut 1×1
            height, width_px, width = out_h, out_w, width * 2
        total += cells * height * width_px * width * width * cell_kernels
    return total + num_classes * width
