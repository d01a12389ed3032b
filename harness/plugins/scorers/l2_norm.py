"""l2_norm: Σ_layers ‖W‖_F over Conv2d / Linear weights (Abdelfattah et al., ICLR 2021;
official code github.com/SamsungLabs/zero-cost-nas; docs/zero-cost.md).

Needs no data. Computed on the network exactly as built. Default NB-201 builder: the
``official`` network (selected ops only), unlike the rest of the zero-cost family. The
reference's builder instantiates all five candidate ops on every edge, so under one seed every
arch has the same weights and the same l2_norm (a constant; validation/validation-zerocost.md); the
only published l2_norm values (NAS-Bench-Suite-Zero) rank like the official network's (ρ 0.84).
The reference quirk: ``--option l2_norm.network=zerocost``. Higher = better.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from harness.plugins.scorers.zerocost_common import (
    ZEROCOST_RANGES,
    fresh_model,
    skip_if_undefined,
    total,
    weight_layers,
    zerocost_defaults,
)
from harness.protocols import OptionRanges, ScoringContext


@dataclass
class L2Norm:
    """Sum of the Frobenius norms of the Conv2d / Linear weights."""

    name: str = "l2_norm"
    needs_inputs: bool = False
    defaults: dict[str, Any] = field(default_factory=lambda: zerocost_defaults(network="benchmark"))
    option_ranges: ClassVar[OptionRanges] = ZEROCOST_RANGES

    def score(self, ctx: ScoringContext) -> float:
        skip_if_undefined(ctx, self.name)
        model = fresh_model(ctx)
        with torch.no_grad():
            return total(layer.weight.double().norm() for layer in weight_layers(model, self.name))
