"""l2_norm: Σ_layers ‖W‖_F over Conv2d / Linear weights (scorers.md §5.9).

Needs no data. Computed on the network exactly as built, so builders that instantiate unused
candidate ops (the zero-cost NB-201 builder) include their weights. Higher = better.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from harness.plugins.scorers.common import fresh_model, total, weight_layers, zerocost_defaults
from harness.protocols import ScoringContext


@dataclass
class L2Norm:
    """Sum of the Frobenius norms of the Conv2d / Linear weights."""

    name: str = "l2_norm"
    needs_inputs: bool = False
    defaults: dict[str, Any] = field(default_factory=zerocost_defaults)

    def score(self, ctx: ScoringContext) -> float:
        model = fresh_model(ctx)
        with torch.no_grad():
            return total(layer.weight.double().norm() for layer in weight_layers(model, self.name))
