"""grasp: gradient signal preservation (Wang et al. 2020, GraSP), as a zero-cost proxy
(Abdelfattah et al., ICLR 2021; github.com/SamsungLabs/zero-cost-nas; docs/zero-cost.md), with T = 1
and one iteration.

With g = ∂L/∂W (a constant) and H the Hessian of the cross-entropy L with respect to the
Conv2d / Linear weights, score = Σ_layers Σ −W ⊙ (H g). H g is obtained by back-propagating
z = Σ_layers ⟨g, ∂L/∂W⟩ through a second forward pass. The minus sign is the zero-cost
authors' (the un-negated GraSP saliency correlates negatively with accuracy); with it,
higher = better. BN kept, train mode. With ``split_data = ds`` both g and H g accumulate over
the chunks, as in the reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from harness.plugins.scorers.zerocost_common import (
    ZEROCOST_RANGES,
    batch_on_device,
    fresh_model,
    loss_function,
    skip_if_undefined,
    split_data,
    total,
    weight_grad,
    weight_layers,
    zerocost_defaults,
)
from harness.protocols import OptionRanges, ScoringContext


@dataclass
class Grasp:
    """Σ −W ⊙ (H g) over Conv2d / Linear weights."""

    name: str = "grasp"
    needs_inputs: bool = True
    defaults: dict[str, Any] = field(default_factory=zerocost_defaults)
    option_ranges: ClassVar[OptionRanges] = ZEROCOST_RANGES

    def score(self, ctx: ScoringContext) -> float:
        skip_if_undefined(ctx, self.name)
        model = fresh_model(ctx)
        loss = loss_function(ctx)
        layers = weight_layers(model, self.name)
        weights = [layer.weight for layer in layers]
        chunks = split_data(batch_on_device(ctx, model), ctx.config.get("split_data", 1))
        gradient = [torch.zeros_like(weight) for weight in weights]
        for chunk in chunks:
            grads = torch.autograd.grad(loss(model, chunk), weights, allow_unused=True)
            for accumulated, grad in zip(gradient, grads, strict=True):
                if grad is not None:
                    accumulated += grad
        for chunk in chunks:
            grads = torch.autograd.grad(loss(model, chunk), weights, create_graph=True,
                                        allow_unused=True)
            terms = [(constant * grad).sum()
                     for constant, grad in zip(gradient, grads, strict=True) if grad is not None]
            if terms:
                torch.stack(terms).sum().backward()
        return total(-layer.weight * weight_grad(layer) for layer in layers)
