"""snip: connection sensitivity (Lee et al., SNIP, ICLR 2019), as a zero-cost proxy
(Abdelfattah et al., ICLR 2021; github.com/SamsungLabs/zero-cost-nas; docs/zero-cost.md).

With a multiplicative mask m = 1 on every Conv2d / Linear weight, |∂L/∂m| = |W ⊙ ∂L/∂W| for the
cross-entropy L on the batch. Score = Σ_layers Σ |W ⊙ ∂L/∂W| (BN kept, train mode).
Higher = better, no sign flip.
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
class Snip:
    """Σ |W ⊙ ∂L/∂W| over Conv2d / Linear weights."""

    name: str = "snip"
    needs_inputs: bool = True
    defaults: dict[str, Any] = field(default_factory=zerocost_defaults)
    option_ranges: ClassVar[OptionRanges] = ZEROCOST_RANGES

    def score(self, ctx: ScoringContext) -> float:
        layers = layers_after_loss_backward(ctx, self.name)
        return total((layer.weight * weight_grad(layer)).abs() for layer in layers)
