"""Faster CPU kernels that give bit-identical results, swapped into a model before training.

Profiling one GenNAS trial on CPU (docs/performance.md) showed the NB-201 ``avg_pool_3x3`` op
(``AvgPool2d(3, stride=1, padding=1, count_include_pad=False)``) costing 20 % of the time of a
mid-size cell: torch's CPU kernel for an NCHW tensor walks each 3x3 window element by element.
``ShiftedAvgPool3x3`` computes the same numbers with nine whole-tensor adds of shifted views (each
one contiguous run per padded plane, ``_shifted_sum``):

- forward: each output is ``((0 + x[i-1,j-1]) + x[i-1,j]) + ...`` over its window in row-major
  order (zero-padded positions add an exact 0), divided by the number of in-image positions;
- backward: each input gradient accumulates ``grad_out / count`` of the outputs whose window
  holds it, in the raster order of those outputs, starting from zero.

That is the summation order of torch's CPU kernels (aten/src/ATen/native/cpu/AvgPoolKernel.cpp,
``cpu_avg_pool`` and ``cpu_avg_pool_backward`` for contiguous NCHW input), so scores are
bit-identical; ``tests/test_gennas_kernels.py`` checks it on every NB-201 stage shape. Other
inputs (CUDA, channels-last, other dtypes than float32/float64) run torch's own kernel.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

_WINDOW = [(dh, dw) for dh in range(3) for dw in range(3)]  # row-major window order


@lru_cache(maxsize=16)
def _window_counts(height: int, width: int, dtype: torch.dtype) -> torch.Tensor:
    """In-image positions of each output's 3x3 window (padding excluded), shape (1, 1, H, W)."""
    inside = F.pad(torch.ones(1, 1, height, width, dtype=dtype), (1, 1, 1, 1))
    counts = torch.zeros(1, 1, height, width, dtype=dtype)
    for dh, dw in _WINDOW:
        counts += inside[:, :, dh:dh + height, dw:dw + width]
    return counts


def _shifted_sum(padded: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Sum of the nine shifted (H, W) views of a 1-padded tensor, added in row-major order.

    Each (n, c) plane is read flat: output (i, j) sits at flat position (i + 1) * (W + 2) + j + 1
    of the padded plane, and the window offset (dh, dw) reads dh * (W + 2) + dw before it, so
    every shifted view is one contiguous run per plane (the two padding columns of each row
    are summed too, and dropped). Contiguous runs vectorize where (H, W) views of short rows
    did not (NB-201's last stage is 8 wide); every output still adds the same nine values in
    the same order."""
    planes = padded.shape[0] * padded.shape[1]
    row = width + 2
    flat = padded.reshape(planes, (height + 2) * row)
    total = torch.zeros(padded.shape[:2] + (height, row), dtype=padded.dtype)
    length = height * row - 2  # from output (0, 0) to output (H - 1, W - 1)
    body = total.view(planes, height * row)[:, :length]
    for dh, dw in _WINDOW:
        start = dh * row + dw
        body += flat[:, start:start + length]
    return total[:, :, :, :width]


class _AvgPool3x3Function(torch.autograd.Function):
    @staticmethod
    def forward(ctx, inputs: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        height, width = inputs.shape[-2:]
        counts = _window_counts(height, width, inputs.dtype)
        ctx.save_for_backward(counts)
        return _shifted_sum(F.pad(inputs, (1, 1, 1, 1)), height, width) / counts

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (counts,) = ctx.saved_tensors
        height, width = grad_output.shape[-2:]
        # Input (i, j) gets the outputs (i-1..i+1, j-1..j+1) in raster order: the padded view
        # at offset (dh, dw) holds output (i + dh - 1, j + dw - 1).
        # contiguous, as torch's own gradient is: the sum is a view with the padding columns.
        return _shifted_sum(F.pad(grad_output / counts, (1, 1, 1, 1)), height, width).contiguous()


def _fast_path(inputs: torch.Tensor) -> bool:
    return (inputs.device.type == "cpu" and inputs.dim() == 4
            and inputs.dtype in (torch.float32, torch.float64)
            and inputs.is_contiguous())


class ShiftedAvgPool3x3(nn.AvgPool2d):
    """``AvgPool2d(3, 1, 1, count_include_pad=False)`` with the shifted-add CPU kernel."""

    def __init__(self) -> None:
        super().__init__(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if _fast_path(inputs):
            return _AvgPool3x3Function.apply(inputs)
        return super().forward(inputs)


def _is_same_pool(module: nn.Module) -> bool:
    def pair(value: object) -> tuple:
        return tuple(value) if isinstance(value, tuple | list) else (value, value)

    return (type(module) is nn.AvgPool2d and pair(module.kernel_size) == (3, 3)
            and pair(module.stride) == (1, 1) and pair(module.padding) == (1, 1)
            and not module.count_include_pad and not module.ceil_mode
            and module.divisor_override is None)


def use_fast_kernels(model: nn.Module) -> int:
    """Replace every exact ``AvgPool2d(3, 1, 1, count_include_pad=False)`` of ``model`` in place
    by ``ShiftedAvgPool3x3``; returns how many were replaced. Results stay bit-identical."""
    replaced = 0
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if _is_same_pool(child):
                setattr(parent, name, ShiftedAvgPool3x3())
                replaced += 1
    return replaced
