"""synflow and synflow_bn: synaptic flow (Tanaka et al. 2020), as a zero-cost proxy
(Abdelfattah et al., ICLR 2021; github.com/SamsungLabs/zero-cost-nas; docs/zero-cost.md).

On a fresh copy with every parameter and buffer replaced by its absolute value, converted to
float64, the all-ones input x = 1 (one image of the dataset's shape) gives
R = Σ f(x); the score is Σ_layers Σ |W ⊙ ∂R/∂W| over Conv2d / Linear weights. No data or labels
are used (``needs_inputs`` is False; ``batch_size`` is ignored). Higher = better, no sign flip.

``synflow`` uses the BN-free copy (``zerocost_common.batchnorm_free_model``); ``synflow_bn`` keeps
BN in train mode (batch statistics over the single image's pixels).

Magnitude: the score grows geometrically with depth (≈1e20–1e60 on NB-201). It is returned as
the raw float64 sum, which represents such values exactly enough to rank them (53-bit mantissa,
range up to 1.8e308), so no log transform is applied. A network whose flow leaves the float64
range gives inf (or NaN), which the worker (``harness.trial``) records as status ``inf`` / ``nan``
rather than as a huge finite number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from harness.plugins.scorers.zerocost_common import (
    ZEROCOST_RANGES,
    batchnorm_free_model,
    fresh_model,
    logits_of,
    skip_if_undefined,
    total,
    weight_grad,
    weight_layers,
    zerocost_defaults,
)
from harness.protocols import ExampleLossSpace, OptionRanges, ScoringContext


def synflow_of(model: nn.Module, input_shape: tuple[int, ...], device: torch.device,
               scorer: str = "synflow", ones: torch.Tensor | None = None) -> float:
    """The synaptic-flow score of ``model`` (modified in place: abs values, float64).

    ``ones``: the all-ones input where the model does not take a float64 tensor of
    ``input_shape`` (a space's ``constant_input``)."""
    layers = weight_layers(model, scorer)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            tensor.abs_()
    model.double()
    if ones is None:
        ones = torch.ones((1, *input_shape), dtype=torch.float64, device=device)
    flow = logits_of(model(ones)).sum()
    flow.backward()
    return total((layer.weight * weight_grad(layer)).abs() for layer in layers)


@dataclass
class Synflow:
    """Synaptic flow; ``batchnorm`` False = the reference ``synflow``, True = ``synflow_bn``."""

    name: str = "synflow"
    batchnorm: bool = False
    needs_inputs: bool = False
    defaults: dict[str, Any] = field(default_factory=zerocost_defaults)
    option_ranges: ClassVar[OptionRanges] = ZEROCOST_RANGES

    def score(self, ctx: ScoringContext) -> float:
        skip_if_undefined(ctx, self.name)
        model = fresh_model(ctx) if self.batchnorm else batchnorm_free_model(ctx)
        ones = None
        if isinstance(ctx.space, ExampleLossSpace):
            ones = ctx.space.constant_input(torch.float64, ctx.device)
        return synflow_of(model, ctx.input_shape, ctx.device, self.name, ones)
