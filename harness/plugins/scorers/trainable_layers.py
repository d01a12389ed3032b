"""trainable_layers: the count of trainable parameter tensors, the baseline of VKDNW (Týbl,
Neumann, "Training-free Neural Architecture Search through Variance of Knowledge of Deep Network
Weights", CVPR 2025; official code github.com/ondratybl/VKDNW; docs/trainable-layers.md).

The official code (``NB201/ZeroShotProxy/compute_vkdnw_score.py``) records it as
``len(list(model.named_parameters()))``: every parameter tensor of the network counts once (a
convolution's weight, its bias where it has one, a BatchNorm's scale and shift, the classifier's
weight and bias). Here only tensors with ``requires_grad`` count (all of them in the built-in
spaces). Deeper networks with more parametric operations score higher; no data, no weights
(``needs_weights = False``). Network: the benchmark's. On NB-201 the count is 21 + 45 per
convolution edge, a convolution on a dead branch included, as in the official network; the
paper's Table 1 correlates it over the 9,444 cells with GRAF features only, where this count
reproduces the published values exactly (``validation/trainable_layers_nb201.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn

from harness.plugins.scorers.zerocost_common import fresh_model
from harness.protocols import ScoringContext


def trainable_tensor_count(model: nn.Module) -> int:
    """Number of parameter tensors that take gradients (each shared tensor once)."""
    return sum(1 for parameter in model.parameters() if parameter.requires_grad)


@dataclass
class TrainableLayers:
    """Count of trainable parameter tensors of the network as built."""

    name: str = "trainable_layers"
    needs_inputs: bool = False
    needs_weights: bool = False
    defaults: dict[str, Any] = field(default_factory=lambda: {"batch_size": 1})

    def score(self, ctx: ScoringContext) -> float:
        return float(trainable_tensor_count(fresh_model(ctx)))
