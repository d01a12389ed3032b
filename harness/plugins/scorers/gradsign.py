"""gradsign: GradSign (Zhang, Jia, "GradSign: Model Performance Inference with Theoretical
Insights", ICLR 2022; official code github.com/cmu-catalyst/GradSign, ``naswot-code/
gradsign.py``, the script of the paper's Kendall-tau experiments; docs/gradsign.md).

For each image i of the batch alone (a forward and backward pass of batch size 1 through the
same network in train mode, gradients zeroed in between), g_i = ∂L_i/∂W of the cross-entropy L_i
of that image, over the weights of every Conv2d / Linear layer (a weight without a gradient
counts zeros). Score:

    gradsign = Σ_θ | Σ_i sign(g_i,θ) |

summed over all weight elements θ, NaN elements left out (the official ``np.nansum``). It is
large when the sample-wise gradients agree in sign. Higher = better, no sign flip.
Inputs and network: NASWOT's (the official script runs inside NASWOT's code): a training batch of
128 without augmentation, NASWOT normalization, and the ``naswot`` network form with the
dataset's classes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from harness.plugins.scorers.naswot import NASWOT_INPUTS, NASWOT_NETWORK
from harness.plugins.scorers.zerocost_common import (
    batch_on_device,
    fresh_model,
    loss_function,
    skip_if_undefined,
    split_data,
    weight_grad,
    weight_layers,
)
from harness.protocols import ScoringContext


@dataclass
class GradSign:
    """Σ over weight elements of |Σ over images of sign(per-image gradient)|."""

    name: str = "gradsign"
    needs_inputs: bool = True
    defaults: dict[str, Any] = field(default_factory=lambda: {
        "batch_size": 128, "inputs": dict(NASWOT_INPUTS), "network": NASWOT_NETWORK})

    def score(self, ctx: ScoringContext) -> float:
        skip_if_undefined(ctx, self.name)
        model = fresh_model(ctx)
        layers = weight_layers(model, self.name)
        loss = loss_function(ctx)
        batch = batch_on_device(ctx, model)
        sign_sums = [torch.zeros_like(layer.weight, dtype=torch.float64) for layer in layers]
        for example in split_data(batch, len(batch.labels)):
            model.zero_grad()
            loss(model, example).backward()
            for total, layer in zip(sign_sums, layers, strict=True):
                total += torch.sign(weight_grad(layer).detach()).double()
        return math.fsum(float(total.abs().nansum()) for total in sign_sums)
