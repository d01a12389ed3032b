"""grad_norm: Σ_layers ‖∂L/∂W‖_F, a zero-cost proxy (Abdelfattah et al., ICLR 2021; official
code github.com/SamsungLabs/zero-cost-nas; docs/zero-cost.md).

The **sum of per-layer** Frobenius norms of the cross-entropy gradient of each Conv2d / Linear
weight (not the norm of the concatenated gradient). BN kept, train mode. Higher = better.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from harness.plugins.scorers.zerocost_common import (
    ZEROCOST_RANGES,
    layers_after_loss_backward,
    total,
    weight_grad,
    zerocost_defaults,
)
from harness.protocols import OptionRanges, ScoringContext


@dataclass
class GradNorm:
    """Σ_layers ‖∂L/∂W‖_F over Conv2d / Linear weights."""

    name: str = "grad_norm"
    needs_inputs: bool = True
    defaults: dict[str, Any] = field(default_factory=zerocost_defaults)
    option_ranges: ClassVar[OptionRanges] = ZEROCOST_RANGES

    def score(self, ctx: ScoringContext) -> float:
        layers = layers_after_loss_backward(ctx, self.name)
        return total(weight_grad(layer).double().norm() for layer in layers)
