"""TE-NAS's two per-arch measures (Chen, Gong, Wang, "Neural Architecture Search on ImageNet in
Four GPU Hours: A Theoretically Inspired Perspective", ICLR 2021; official code
github.com/VITA-Group/TENAS; docs/te-nas.md).

TE-NAS itself prunes a supernet; the per-arch form scored here is the one the published
per-arch correlations come from, AZ-NAS's NB-201 port (github.com/cvlab-yonsei/AZ-NAS,
``NB201/ZeroShotProxy/compute_te_nas_score.py``, itself after TENAS's ``lib/procedures/ntk.py``
and ``linear_region_counter.py``). Both run the benchmark's network as the trial builds it, in
train mode (BatchNorm on batch statistics).

- ``ntk_cond``: −κ, κ = λ_max / λ_min of the empirical NTK Θ = G Gᵀ on one batch of real
  training images, where row n of G is the gradient of Σ_c f_c(x_n) (the sum of sample n's
  logits, back-propagated through the whole batch's graph, BatchNorm coupling included) with
  respect to every parameter whose name contains "weight" (Conv, Linear and BatchNorm scales)
  that receives a gradient. A lower condition number is better, so the score is its negative;
  a NaN κ counts as 1e5 (the port's ``nan_to_num``), a negative or zero λ_min as +inf (−inf
  score). N backward passes for a batch of N (64 in the port): the NTK needs one gradient per
  image.
- ``linear_regions``: the number of distinct activation patterns of one Gaussian batch
  (``batch_size`` 64, as the port): the signs of the outputs of every ``nn.ReLU`` module that
  receives a 4-D input, concatenated per image; two images share a linear region when every
  unit agrees. Higher is better. The count is at most the batch size, which wide networks
  reach for almost every arch (docs/te-nas.md). A model without such ReLU modules is skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from harness.plugins.scorers.zerocost_common import (
    ZEROCOST_INPUTS,
    batch_on_device,
    fresh_model,
    logits_of,
    relu_map_activations,
    skip_unless_image_classifier,
)
from harness.protocols import OptionRanges, ScoringContext

NAN_CONDITION = 1e5


def weight_parameters(model: nn.Module) -> list[torch.Tensor]:
    """Parameters whose name contains "weight", in ``named_parameters`` order."""
    return [parameter for name, parameter in model.named_parameters() if "weight" in name]


def ntk_gradients(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """(N, P) float64: row n = ∂(Σ_c logits[n, c])/∂(weights that receive a gradient)."""
    weights = weight_parameters(model)
    logits = logits_of(model(inputs))
    rows = []
    for index in range(len(inputs)):
        grads = torch.autograd.grad(logits[index].sum(), weights, retain_graph=True,
                                    allow_unused=True)
        rows.append(torch.cat([grad.reshape(-1).double() for grad in grads
                               if grad is not None]))
    return torch.stack(rows)


def condition_number(gradients: torch.Tensor) -> float:
    """λ_max / λ_min of G Gᵀ; 1e5 where it is NaN, +inf where λ_min ≤ 0 < λ_max."""
    eigenvalues = torch.linalg.eigvalsh(gradients @ gradients.T)
    ratio = float(eigenvalues[-1] / eigenvalues[0])
    if math.isnan(ratio):
        return NAN_CONDITION
    return math.inf if eigenvalues[0] <= 0 < eigenvalues[-1] else ratio


def distinct_rows(patterns: torch.Tensor) -> int:
    """Number of distinct rows (activation patterns) of a boolean matrix."""
    return int(torch.unique(patterns, dim=0).shape[0])


@dataclass
class NtkCondition:
    """−cond(NTK) on one batch of real images (lower condition number = better)."""

    name: str = "ntk_cond"
    needs_inputs: bool = True
    defaults: dict[str, Any] = field(default_factory=lambda: {
        "batch_size": 64, "inputs": dict(ZEROCOST_INPUTS)})
    option_ranges: ClassVar[OptionRanges] = {"batch_size": (2, None)}

    def score(self, ctx: ScoringContext) -> float:
        skip_unless_image_classifier(ctx, self.name)
        model = fresh_model(ctx)
        gradients = ntk_gradients(model, batch_on_device(ctx, model).inputs)
        return -condition_number(gradients)


@dataclass
class LinearRegions:
    """Distinct ReLU activation patterns over one Gaussian batch."""

    name: str = "linear_regions"
    needs_inputs: bool = False
    defaults: dict[str, Any] = field(default_factory=lambda: {"batch_size": 64})

    def score(self, ctx: ScoringContext) -> float:
        skip_unless_image_classifier(ctx, self.name)
        model = fresh_model(ctx)
        parameter = next(model.parameters())
        shape = (int(ctx.config["batch_size"]), *ctx.input_shape)
        inputs = torch.randn(shape, generator=ctx.generator, dtype=parameter.dtype)
        activations = relu_map_activations(model, inputs.to(ctx.device), self.name)
        return float(distinct_rows(activations > 0))
