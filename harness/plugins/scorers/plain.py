"""plain: the signed first-order saliency Σ W ⊙ ∂L/∂W, a zero-cost proxy (Abdelfattah et al.,
ICLR 2021; official code github.com/SamsungLabs/zero-cost-nas; docs/zero-cost.md).

Cross-entropy on the batch, BN kept, train mode. Used as is (higher = better, no sign flip),
although it correlates negatively with accuracy on NB-201 (NAS-Bench-Suite-Zero: ρ ≈ −0.26).
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
class Plain:
    """Σ W ⊙ ∂L/∂W over Conv2d / Linear weights (signed)."""

    name: str = "plain"
    needs_inputs: bool = True
    defaults: dict[str, Any] = field(default_factory=zerocost_defaults)
    option_ranges: ClassVar[OptionRanges] = ZEROCOST_RANGES

    def score(self, ctx: ScoringContext) -> float:
        layers = layers_after_loss_backward(ctx, self.name)
        return total(layer.weight * weight_grad(layer) for layer in layers)
