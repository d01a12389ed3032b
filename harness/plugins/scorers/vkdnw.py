"""vkdnw: the entropy of the Fisher-information spectrum (Týbl and Neumann, "Training-free Neural
Architecture Search through Variance of Knowledge of Deep Network Weights", CVPR 2025; official
code github.com/ondratybl/VKDNW, NB-201 scorer ``NB201/ZeroShotProxy/compute_vkdnw_score.py``;
docs/vkdnw.md).

On a copy re-initialized with Kaiming normal fan-in (``kaiming.py``), in eval mode (the official
``get_fisher`` switches to it: BatchNorm uses its running statistics, 0 and 1 at
initialization), one Gaussian batch x_1 … x_N (``batch_size`` 32, the official NB-201 driver's
default, which feeds random inputs unless told otherwise):

- θ: the **first element** of every parameter tensor (``named_parameters`` order), one scalar
  per tensor, as the official code differentiates (P = the number of parameter tensors);
- J_n = ∂f(x_n)/∂θ, the (C × P) Jacobian of sample n's logits;
- p̃_n = (1 − α)·softmax(f(x_n)) + α/C with α = 0.05 (the official smoothing);
- F = (1/N) Σ_n J_nᵀ (diag p̃_n − p̃_n p̃_nᵀ) J_n, the empirical Fisher information of θ;
- λ_1 … λ_9: the deciles 0.1, 0.2, …, 0.9 of F's eigenvalues (linear interpolation, as
  ``torch.quantile``);
- vkdnw = −Σ_k λ̃_k log(λ̃_k + 1e-10), λ̃_k = λ_k / (Σ_j λ_j + 1e-10): the entropy of the
  normalized deciles (the official analysis's ``vkdnw_entropy``). Higher is better.

The official code factors the covariance as L Lᵀ (Cholesky) and accumulates J_nᵀ Lᵀ L J_n; the
Fisher information is J_nᵀ L Lᵀ J_n, which is what is computed here by default (``fisher``
"paper"); ``fisher`` "official" accumulates the official code's product (docs/vkdnw.md). Cost: C
backward passes per image, vectorized over the batch (``torch.func``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn
from torch.func import functional_call, jacrev, vmap

from harness.errors import ConfigError, ScorerSkipped
from harness.plugins.scorers.kaiming import reinitialize
from harness.plugins.scorers.zerocost_common import (
    fresh_model,
    logits_of,
    skip_unless_image_classifier,
)
from harness.protocols import OptionRanges, ScoringContext

SMOOTHING = 0.05
FISHER_FORMS = ("paper", "official")
DECILES = tuple(k / 10 for k in range(1, 10))
ENTROPY_EPSILON = 1e-10


def first_element_jacobians(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """(N, C, P): ∂ logits of each sample / ∂ the first element of each parameter tensor."""
    parameters = {name: parameter.detach() for name, parameter in model.named_parameters()}
    buffers = {name: buffer.detach() for name, buffer in model.named_buffers()}

    def logits(firsts: dict[str, torch.Tensor], sample: torch.Tensor) -> torch.Tensor:
        spliced = {name: torch.cat([firsts[name].reshape(1), value.reshape(-1)[1:]])
                   .reshape(value.shape) for name, value in parameters.items()}
        output = functional_call(model, (spliced, buffers), (sample.unsqueeze(0),))
        return logits_of(output).squeeze(0)

    firsts = {name: value.reshape(-1)[0] for name, value in parameters.items()}
    per_sample = vmap(jacrev(logits), in_dims=(None, 0))(firsts, inputs)
    return torch.stack([per_sample[name] for name in parameters], dim=-1).detach()


def covariance_factor(probabilities: torch.Tensor) -> torch.Tensor:
    """(N, C, C) lower-triangular L with L Lᵀ = diag p − p pᵀ, built as the official code does:
    with q_k = Σ_{m>k} p_m, L[k, k] = d_k = √(p_k q_k / q_{k−1}) (q_{−1} = 1) and
    L[i, j] = −p_i d_j / q_j below the diagonal."""
    tail = 1 - torch.cumsum(probabilities, dim=1)
    tail[:, -1] = 0.0  # exactly, whatever the rounding of the cumulative sum
    previous = torch.cat([torch.ones_like(tail[:, :1]), tail[:, :-1]], dim=1)
    diagonal = torch.sqrt(probabilities * tail / previous)
    safe_tail = torch.where(tail > 0, tail, torch.ones_like(tail))  # the last column: no rows below
    below = torch.tril(-probabilities[:, :, None] / safe_tail[:, None, :], diagonal=-1)
    return (below + torch.eye(probabilities.shape[1], dtype=below.dtype)) * diagonal[:, None, :]


def fisher_information(jacobians: torch.Tensor, logits: torch.Tensor,
                       form: str = "paper") -> torch.Tensor:
    """(P, P) float64: mean over samples of Jᵀ M J with M = diag p̃ − p̃ p̃ᵀ = L Lᵀ (``paper``)
    or Lᵀ L (``official``, what the official code accumulates); see the module docstring."""
    if form not in FISHER_FORMS:
        raise ConfigError(f"vkdnw fisher must be one of {', '.join(FISHER_FORMS)}, got {form!r}")
    jacobians = jacobians.double()
    classes = logits.shape[1]
    probabilities = torch.softmax(logits.double(), dim=1) * (1 - SMOOTHING) + SMOOTHING / classes
    if form == "paper":
        outer = probabilities[:, :, None] * probabilities[:, None]
        middle = torch.diag_embed(probabilities) - outer
    else:
        factor = covariance_factor(probabilities)
        middle = factor.transpose(1, 2) @ factor
    return (jacobians.transpose(1, 2) @ middle @ jacobians).mean(dim=0)


def decile_entropy(fisher: torch.Tensor) -> float:
    """Entropy of the normalized deciles of the eigenvalues of ``fisher``."""
    eigenvalues = torch.linalg.eigvalsh(fisher)
    deciles = torch.quantile(eigenvalues, torch.tensor(DECILES, dtype=eigenvalues.dtype))
    normalized = deciles / (deciles.sum() + ENTROPY_EPSILON)
    value = float(-(normalized * torch.log(normalized + ENTROPY_EPSILON)).sum())
    return -math.inf if math.isnan(value) else value


@dataclass
class Vkdnw:
    """Entropy of the deciles of the Fisher-information spectrum of one scalar per tensor."""

    name: str = "vkdnw"
    needs_inputs: bool = False
    defaults: dict[str, Any] = field(default_factory=lambda: {
        "batch_size": 32, "weight_init": "kaiming", "fisher": "paper"})
    option_ranges: ClassVar[OptionRanges] = {"batch_size": (1, None)}

    def score(self, ctx: ScoringContext) -> float:
        skip_unless_image_classifier(ctx, self.name)
        model = fresh_model(ctx)
        reinitialize(model, ctx.config.get("weight_init", "kaiming"), ctx.generator)
        model.eval()
        parameter = next(model.parameters(), None)
        if parameter is None:
            raise ScorerSkipped("vkdnw differentiates parameters; this model has none")
        shape = (int(ctx.config["batch_size"]), *ctx.input_shape)
        inputs = torch.randn(shape, generator=ctx.generator, dtype=parameter.dtype)
        inputs = inputs.to(ctx.device)
        with torch.no_grad():
            logits = logits_of(model(inputs))
        fisher = fisher_information(first_element_jacobians(model, inputs), logits,
                                    ctx.config.get("fisher", "paper"))
        return decile_entropy(fisher)
