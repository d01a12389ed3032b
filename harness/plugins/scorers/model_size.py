"""params and flops: the size baselines every NAS paper reports (higher = better, no flip).

``params``: the number of parameter elements of the model as built (``model.parameters()``,
shared tensors counted once; unused candidate ops that a builder instantiates count).

``flops``: multiply-accumulates (MACs, the quantity NAS-Bench-201 and most NAS papers call
FLOPs) of one forward pass of a single zero image of the dataset's input shape, counted with
forward hooks: a Conv2d call adds output elements × (in_channels / groups) × kernel area, a
Linear call adds output elements × in_features; one term per call. Exact for these layers;
everything else (BN, activations, pooling, additions, biases) is **not** counted. The dummy pass
runs in eval mode without gradients (the count does not depend on mode or values).
Both need no data and no weights (``needs_weights = False``): the harness builds their model
on the CPU without seeding, init schemes or a move to the run's device (docs/performance.md).
Where the space counts its networks itself (``harness.protocols.CountingSpace``, NB-201), they
take its count for the trial's builder options and build nothing; the count is the same number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from harness.errors import ScorerSkipped
from harness.plugins.scorers.zerocost_common import fresh_model, skip_if_undefined
from harness.protocols import CountingSpace, ScoringContext


def parameter_count(model: nn.Module) -> int:
    """Number of parameter elements (each shared tensor once)."""
    return sum(parameter.numel() for parameter in model.parameters())


def multiply_accumulates(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Conv2d and Linear MACs of one forward pass of one example on the model's device (see
    the module docstring)."""
    macs = 0

    def count(layer: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
        nonlocal macs
        if isinstance(layer, nn.Conv2d):
            fan_in = layer.in_channels // layer.groups * math.prod(layer.kernel_size)
        else:
            fan_in = layer.in_features
        macs += output.numel() * fan_in

    layers = [module for module in model.modules() if isinstance(module, nn.Conv2d | nn.Linear)]
    if not layers:
        raise ScorerSkipped("flops counts Conv2d / Linear multiply-accumulates; "
                            "this model has no such layer")
    parameter = next(model.parameters())
    handles = [layer.register_forward_hook(count) for layer in layers]
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros((1, *input_shape), dtype=parameter.dtype, device=parameter.device))
    finally:
        for handle in handles:
            handle.remove()
    return macs


def _space_count(ctx: ScoringContext, count: str, *args: Any) -> int | None:
    """The space's own count (``CountingSpace.count_parameters`` / ``count_macs``) of the model
    ``fresh_model(ctx)`` would build, or None where it has none for these options."""
    if not isinstance(ctx.space, CountingSpace):
        return None
    if "num_classes" in ctx.builder_options:  # the builder call would fail: let it say why
        return None
    return getattr(ctx.space, count)(ctx.arch_id, *args, num_classes=ctx.num_classes,
                                     **ctx.builder_options)


@dataclass
class Params:
    """Parameter count of the model as built."""

    name: str = "params"
    needs_inputs: bool = False
    needs_weights: bool = False
    defaults: dict[str, Any] = field(default_factory=lambda: {"batch_size": 1})

    def score(self, ctx: ScoringContext) -> float:
        counted = _space_count(ctx, "count_parameters")
        if counted is None:
            counted = parameter_count(fresh_model(ctx))
        return float(counted)


@dataclass
class Flops:
    """Conv2d / Linear multiply-accumulates of one example."""

    name: str = "flops"
    needs_inputs: bool = False
    needs_weights: bool = False
    defaults: dict[str, Any] = field(default_factory=lambda: {"batch_size": 1})

    def score(self, ctx: ScoringContext) -> float:
        skip_if_undefined(ctx, self.name)
        counted = _space_count(ctx, "count_macs", tuple(ctx.input_shape))
        if counted is None:
            counted = multiply_accumulates(fresh_model(ctx), ctx.input_shape)
        return float(counted)
