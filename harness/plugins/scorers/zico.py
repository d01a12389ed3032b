"""zico: ZiCo (Li, Yang, Bhardwaj, Marculescu, "ZiCo: Zero-shot NAS via Inverse Coefficient of
Variation on Gradients", ICLR 2023; official code github.com/SLDGroup/ZiCo,
``ZeroShotProxy/compute_zico.py``; docs/zico.md).

The batch is cut into ``batches`` equal contiguous chunks (the paper's "at least two batches");
each chunk's mean cross-entropy is back-propagated through a fresh copy of the network in train
mode. For every Conv2d / Linear layer l and every element θ of its weight, over the recorded
gradients g_1..g_B of θ:

    zico = Σ_l log( Σ_{θ ∈ l, σ_θ > 0} mean_b |g_b,θ| / σ_θ ),   σ_θ = std_b g_b,θ (population)

Elements whose gradient does not vary (σ = 0) are left out, and so is a layer whose sum is 0
(both as in the official code). Higher = better, no sign flip.

``gradients`` decides what g_b is. "cumulative" (the default) is what the official code records:
it never zeroes the gradients between batches, so g_b is the running sum of the first b batch
gradients. "per_batch" is the paper's formula: each batch's own gradient.
Inputs: a training batch of 64 with the zero-cost augmentation and normalization, in two chunks
of 32, as the port in MeCo's repository (github.com/HamsterMimi/MeCo,
``zero-cost-nas/foresight/pruners/measures/zico.py``) runs it on NB-201. Network: the benchmark's
(the official code builds NB-201's cells with xautodl's TinyNetwork).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from harness.errors import ConfigError
from harness.plugins.scorers.zerocost_common import (
    ZEROCOST_INPUTS,
    batch_on_device,
    fresh_model,
    loss_function,
    skip_if_undefined,
    split_data,
    weight_grad,
    weight_layers,
)
from harness.protocols import OptionRanges, ScoringContext

GRADIENT_MODES = ("cumulative", "per_batch")


def zico_of(gradients_per_layer: list[torch.Tensor]) -> float:
    """Σ_l log Σ_θ mean|g| / std(g) over layers given as (batches, elements) gradient stacks."""
    terms = []
    for stack in gradients_per_layer:
        stack = stack.double()
        std = stack.std(dim=0, unbiased=False)
        varying = std > 0
        ratio_sum = float((stack.abs().mean(dim=0)[varying] / std[varying]).sum())
        if ratio_sum > 0:
            terms.append(math.log(ratio_sum))
    return math.fsum(terms)


@dataclass
class Zico:
    """Σ over layers of log Σ mean|∂L/∂W| / std(∂L/∂W) across batches."""

    name: str = "zico"
    needs_inputs: bool = True
    defaults: dict[str, Any] = field(default_factory=lambda: {
        "batch_size": 64, "inputs": dict(ZEROCOST_INPUTS), "batches": 2,
        "gradients": "cumulative"})
    option_ranges: ClassVar[OptionRanges] = {"batches": (2, None)}

    def score(self, ctx: ScoringContext) -> float:
        skip_if_undefined(ctx, self.name)
        mode = ctx.config.get("gradients", "cumulative")
        if mode not in GRADIENT_MODES:
            raise ConfigError(f"zico gradients must be one of {', '.join(GRADIENT_MODES)}, "
                              f"got {mode!r}")
        model = fresh_model(ctx)
        layers = weight_layers(model, self.name)
        loss = loss_function(ctx)
        recorded: list[list[torch.Tensor]] = [[] for _ in layers]
        for chunk in split_data(batch_on_device(ctx, model), ctx.config.get("batches", 2)):
            if mode == "per_batch":
                model.zero_grad()
            loss(model, chunk).backward()
            for index, layer in enumerate(layers):
                recorded[index].append(weight_grad(layer).detach().flatten().clone())
        return zico_of([torch.stack(grads) for grads in recorded])
