"""jacob_cov: Jacobian covariance (Mellor et al., NASWOT arXiv:2006.04647v1, 2020), as a
zero-cost proxy (Abdelfattah et al., ICLR 2021; github.com/SamsungLabs/zero-cost-nas;
docs/zero-cost.md).
Also the ``naswot_v1`` score (docs/naswot.md).

J = ∂(Σ outputs)/∂x per input image, flattened to (N, C·H·W); Σ = Pearson correlation matrix of
the N rows; λ = its eigenvalues; score = −Σ_i [log(λ_i + k) + 1/(λ_i + k)], k = 1e-5. The
expression is maximal for λ = 1 (uncorrelated Jacobians), so higher = better as defined; no
extra sign flip. Σ is symmetric, so a symmetric eigen-solver (float64) is used instead of the
reference's general one: same eigenvalues, always real. An input-independent output (a constant
row of J) makes Σ undefined and gives NaN, as does a round-off eigenvalue below −k; the worker
(``harness.trial``) records status ``nan``. BN kept, train mode.
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
    logits_of,
    skip_if_undefined,
    split_data,
    zerocost_defaults,
)
from harness.protocols import OptionRanges, ScoringContext

EIGEN_OFFSET = 1e-5
# Why a score is NaN, for the trial's message and the report (``harness.trial``).
JACOBIAN_NAN_REASON = ("the input Jacobians' correlation matrix is undefined (a constant "
                       "Jacobian row: the output ignores an image) or has an eigenvalue below "
                       f"-{EIGEN_OFFSET:g}")


def input_jacobians(model: nn.Module, chunks: list[torch.Tensor]) -> torch.Tensor:
    """∂(Σ outputs)/∂x for every image of every chunk, (N, C·H·W) float64."""
    rows = []
    for chunk in chunks:
        x = chunk.detach().clone().requires_grad_(True)
        output = logits_of(model(x))
        (grad,) = torch.autograd.grad(output, x, torch.ones_like(output))
        rows.append(grad.reshape(len(chunk), -1))
    return torch.cat(rows).double()


def correlation_eigen_score(jacobians: torch.Tensor, offset: float = EIGEN_OFFSET) -> float:
    """−Σ [log(λ + k) + 1/(λ + k)] over the eigenvalues λ of the rows' correlation matrix."""
    correlation = torch.corrcoef(jacobians.double())
    if not bool(torch.isfinite(correlation).all()):
        return float("nan")
    eigenvalues = torch.linalg.eigvalsh(correlation)
    return float(-(torch.log(eigenvalues + offset) + 1.0 / (eigenvalues + offset)).sum())


@dataclass
class JacobCov:
    """Correlation-eigenvalue score of the input Jacobians."""

    name: str = "jacob_cov"
    needs_inputs: bool = True
    defaults: dict[str, Any] = field(default_factory=zerocost_defaults)
    option_ranges: ClassVar[OptionRanges] = ZEROCOST_RANGES
    nonfinite_reason: ClassVar[str] = JACOBIAN_NAN_REASON

    def score(self, ctx: ScoringContext) -> float:
        skip_if_undefined(ctx, self.name)
        model = fresh_model(ctx)
        chunks = split_data(batch_on_device(ctx, model), ctx.config.get("split_data", 1))
        return correlation_eigen_score(input_jacobians(model, [chunk.inputs for chunk in chunks]))
