"""epe_nas: EPE-NAS (Lopes, Alirezazadeh, Alexandre, "EPE-NAS: Efficient Performance Estimation
Without Training for Neural Architecture Search", ICANN 2021, arXiv:2102.08099; docs/epe-nas.md).

NASWOT v1's Jacobian correlation, taken class by class. J_n = ∂(Σ outputs)/∂x_n for every image
of the batch (``jacob_cov.input_jacobians``), flattened. For each class c with n_c ≥ 2 images in
the batch, Σ_c = the Pearson correlation matrix (n_c × n_c) of its rows and

    E_c = Σ_{i,j} log(|Σ_c(i, j)| + k),   k = 1e-5   (divided by n_c when C > 100)

with C the number of network outputs (classes). The score is

    S = Σ_c |E_c|                               when C ≤ 100,
    S = (1 / m) Σ_c Σ_c' |E_c − E_c'|            when C > 100 (ordered pairs; m classes used),

the two cases of the paper; the per-class normalization for C > 100 follows the authors' code.
|Σ_c(i, j)| ≤ 1, so E_c ≤ 0 and |E_c| grows as the Jacobians of one class decorrelate:
higher = better, no sign flip.

Classes with fewer than two images in the batch are left out: a one-image correlation matrix
is [1], whose term log(1 + k) ≈ 1e-5 the reference adds (negligible). A batch where no class
has two images is a ``ConfigError`` (use a larger ``batch_size``). A class whose Jacobian rows
are constant has an undefined correlation: the score is NaN, as in the reference, and the
worker (``harness.trial``) records status ``nan``. BN kept, train mode; the zero-cost family's
inputs and batch 64, but each space's benchmark network (NB-201: the official cell, as in the
authors' code, which builds on NASWOT's; the ``network`` option names another form).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from harness.errors import ConfigError
from harness.plugins.scorers.jacob_cov import input_jacobians
from harness.plugins.scorers.zerocost_common import (
    ZEROCOST_RANGES,
    batch_on_device,
    fresh_model,
    skip_if_undefined,
    split_data,
    zerocost_defaults,
)
from harness.protocols import OptionRanges, ScoringContext

LOG_OFFSET = 1e-5
# Above this many classes the paper switches to the pairwise-difference form.
MANY_CLASSES = 100


def class_terms(jacobians: torch.Tensor, labels: torch.Tensor, num_classes: int,
                offset: float = LOG_OFFSET) -> dict[int, float]:
    """E_c for every class with at least two images (see the module docstring)."""
    jacobians = jacobians.double()
    terms: dict[int, float] = {}
    for label in torch.unique(labels).tolist():
        rows = jacobians[labels == label]
        if len(rows) < 2:
            continue
        term = torch.log(torch.corrcoef(rows).abs() + offset).sum()
        if num_classes > MANY_CLASSES:
            term = term / len(rows)
        terms[int(label)] = float(term)
    return terms


def epe_score(terms: dict[int, float], num_classes: int) -> float:
    """Σ |E_c| for C ≤ 100; the mean over classes of Σ_c' |E_c − E_c'| above."""
    values = list(terms.values())
    if num_classes <= MANY_CLASSES:
        return math.fsum(abs(value) for value in values)
    return math.fsum(abs(a - b) for a in values for b in values) / len(values)


@dataclass
class EpeNas:
    """Per-class Jacobian correlation score (EPE-NAS)."""

    name: str = "epe_nas"
    needs_inputs: bool = True
    defaults: dict[str, Any] = field(default_factory=lambda: zerocost_defaults(network="benchmark"))
    option_ranges: ClassVar[OptionRanges] = ZEROCOST_RANGES

    def score(self, ctx: ScoringContext) -> float:
        skip_if_undefined(ctx, self.name)
        model = fresh_model(ctx)
        batch = batch_on_device(ctx, model)
        chunks = split_data(batch, ctx.config.get("split_data", 1))
        jacobians = input_jacobians(model, [chunk.inputs for chunk in chunks])
        labels = batch.labels.cpu()
        terms = class_terms(jacobians.cpu(), labels, ctx.num_classes)
        if not terms:
            raise ConfigError(f"epe_nas needs at least two images of one class in its batch; "
                              f"the batch of {len(labels)} has none: use a larger batch_size")
        return epe_score(terms, ctx.num_classes)
