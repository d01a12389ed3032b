"""fisher: channel-wise Fisher information (Turner et al. 2020, after Theis et al. 2018), as a
zero-cost proxy in its "channel" mode (Abdelfattah et al., ICLR 2021; official code
github.com/SamsungLabs/zero-cost-nas; docs/zero-cost.md).

For every Conv2d / Linear layer, with a its output activation (before BN) and g = ∂L/∂a for
the cross-entropy L on the batch: s_{n,k} = Σ_spatial a·g per sample n and output channel k,
F_k = ½ · mean_n s_{n,k}². The reference expands F_k to the shape of weight[k] before summing,
so layer contributes Σ_k F_k · weight[k].numel() (fan-in scaling, kept). Score = Σ over layers.
Layers not run contribute 0; a layer run several times adds one term per call. With
``split_data = ds`` each chunk's F (its own mean) is added, so the value scales with ds, as in
the reference. BN kept, train mode. Higher = better, no sign flip.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from harness.plugins.scorers.zerocost_common import (
    ZEROCOST_RANGES,
    batch_on_device,
    fresh_model,
    loss_function,
    skip_if_undefined,
    split_data,
    total,
    weight_layers,
    zerocost_defaults,
)
from harness.protocols import OptionRanges, ScoringContext


def channel_products(layer: nn.Module, activation: torch.Tensor,
                     grad: torch.Tensor) -> torch.Tensor:
    """s_{n,k} = Σ over every non-channel position of a·g, shape (N, out channels)."""
    product = activation * grad
    if isinstance(layer, nn.Conv2d):
        return product.flatten(2).sum(2)
    return product.reshape(product.shape[0], -1, product.shape[-1]).sum(1)


@dataclass
class Fisher:
    """Σ_layers Σ_k F_k · fan-in, F_k = ½ mean_n (Σ_spatial a·g)²."""

    name: str = "fisher"
    needs_inputs: bool = True
    defaults: dict[str, Any] = field(default_factory=zerocost_defaults)
    option_ranges: ClassVar[OptionRanges] = ZEROCOST_RANGES

    def score(self, ctx: ScoringContext) -> float:
        skip_if_undefined(ctx, self.name)
        model = fresh_model(ctx)
        loss = loss_function(ctx)
        layers = weight_layers(model, self.name)
        saliency = {layer: torch.zeros(layer.weight.shape[0], dtype=torch.float64,
                                       device=layer.weight.device) for layer in layers}

        def capture(layer: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
            # clone: a later in-place op on the output must not change the stored activation
            activation = output.detach().clone()

            def add_saliency(grad: torch.Tensor) -> None:
                products = channel_products(layer, activation, grad).double()
                saliency[layer] += 0.5 * products.pow(2).mean(0)

            output.register_hook(add_saliency)

        handles = [layer.register_forward_hook(capture) for layer in layers]
        try:
            for chunk in split_data(batch_on_device(ctx, model), ctx.config.get("split_data", 1)):
                loss(model, chunk).backward()
        finally:
            for handle in handles:
                handle.remove()
        return total(saliency[layer].abs() * layer.weight[0].numel() for layer in layers)
