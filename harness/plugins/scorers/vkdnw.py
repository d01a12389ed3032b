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
"paper"); ``fisher`` "official" accumulates the official code's product (docs/vkdnw.md). Cost: one
forward pass with a forward-mode derivative per parameter tensor, then one reverse pass of the
batch per class (``first_element_jacobians``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn
from torch.func import functional_call, jvp

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
# How far the first sample's summed Jacobian row may sit from plain autograd's, relative to the
# sizes of its terms: float32 rounding of a batch against one sample reaches ~1e-3 on NB-201
# cells; a parameter the perturbations miss is off by its whole derivative.
CHECK_TOLERANCE = 1e-2


def first_element_jacobians(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """(N, C, P): ∂ logits of each sample / ∂ the first element of each parameter tensor.

    The official code gets these from a per-sample Jacobian (``torch.func``: vmap over the
    samples of a reverse-mode Jacobian), which builds every parameter's full per-sample gradient
    to keep one element of it. Here each parameter tensor p gets a per-sample perturbation δ_p
    (N zeros): every module adds δ_p · t_p to its output, where t_p = ∂ output / ∂ p[0] on that
    sample (a forward-mode derivative of the module alone). At δ = 0 the network is unchanged and
    ∂ f(x_n) / ∂ δ_{p,n} = ∂ f(x_n) / ∂ p[0], so one ordinary reverse pass per logit gives the
    Jacobians of all N samples: the same values, faster (docs/vkdnw.md has the benchmark). Where
    the logits come straight out of a linear classifier f = W h + b with fewer features D than
    classes C, the passes start from h instead (D of them, J = W ∂h/∂p + the classifier's own
    t_p). It needs what eval mode gives on every space of the harness: samples that do not mix,
    each parameter used only inside the module that owns it, and modules that return one tensor;
    ``check_first_sample`` refuses a network that breaks it.
    """
    forward = PerturbedForward(model, inputs)
    logits = forward.logits
    head = forward.linear_calls.get(id(logits))
    if head is not None and head.features.dim() == 2 and head.features.shape[1] < logits.shape[1]:
        jacobians = torch.einsum("kd,ndp->nkp", head.module.weight.detach(),
                                 reverse_rows(head.features, forward.deltas))
        for derivative, parameter in zip(head.derivatives, head.module.parameters(recurse=False),
                                         strict=True):
            jacobians[:, :, forward.position[id(parameter)]] += derivative.detach()
    else:
        jacobians = reverse_rows(logits, forward.deltas)
    check_first_sample(model, inputs, jacobians)
    return jacobians


@dataclass
class LinearCall:
    """What a perturbed ``nn.Linear`` saw: its input features and its own derivatives t_p."""

    module: nn.Linear
    features: torch.Tensor
    derivatives: list[torch.Tensor]


class PerturbedForward:
    """One forward pass of ``model`` on ``inputs`` in which every module that owns parameters
    adds δ_p · ∂ output / ∂ p[0] to its output (δ_p: ``deltas[position[id(p)]]``, N zeros that
    require grad). ``logits``: the pass's logits; ``linear_calls``: each linear layer's call,
    by the id of the output it returned."""

    def __init__(self, model: nn.Module, inputs: torch.Tensor) -> None:
        parameters = list(model.parameters())
        self.position = {id(parameter): k for k, parameter in enumerate(parameters)}
        self.deltas = [torch.zeros(len(inputs), dtype=inputs.dtype, device=inputs.device,
                                   requires_grad=True) for _ in parameters]
        self.owned = {module: list(module.named_parameters(recurse=False))
                      for module in model.modules()}
        self.owned = {module: own for module, own in self.owned.items() if own}
        self.linear_calls: dict[int, LinearCall] = {}
        self._inside_derivative = False
        for parameter in parameters:
            parameter.requires_grad_(False)
        handles = [module.register_forward_hook(self._perturb, with_kwargs=True)
                   for module in self.owned]
        try:
            self.logits = logits_of(model(inputs))
        finally:
            for handle in handles:
                handle.remove()

    def _perturb(self, module: nn.Module, args: tuple, kwargs: dict, output: Any) -> Any:
        if self._inside_derivative:
            return output
        if not isinstance(output, torch.Tensor):
            raise ScorerSkipped(f"vkdnw needs each module with parameters to return one tensor; "
                                f"{type(module).__name__} returns {type(output).__name__}")
        derivatives = self._derivatives(module, args, kwargs)
        for derivative, (_, parameter) in zip(derivatives, self.owned[module], strict=True):
            delta = self.deltas[self.position[id(parameter)]]
            output = output + delta.reshape(-1, *[1] * (derivative.dim() - 1)) * derivative
        if isinstance(module, nn.Linear) and args and not kwargs:
            self.linear_calls[id(output)] = LinearCall(module, args[0], derivatives)
        return output

    def _derivatives(self, module: nn.Module, args: tuple, kwargs: dict) -> list[torch.Tensor]:
        """∂ module(args) / ∂ p[0] for each parameter p it owns (forward mode, the module
        alone; the modules inside it run unperturbed)."""
        detached = tuple(arg.detach() if isinstance(arg, torch.Tensor) else arg for arg in args)
        self._inside_derivative = True
        try:
            return [jvp(lambda value, name=name: functional_call(
                module, {name: value}, detached, kwargs), (parameter,),
                (first_element_direction(parameter),))[1]
                for name, parameter in self.owned[module]]
        finally:
            self._inside_derivative = False


def reverse_rows(outputs: torch.Tensor, deltas: list[torch.Tensor]) -> torch.Tensor:
    """(N, R, P): ∂ outputs[n, r] / ∂ δ_p[n], one reverse pass of the batch per column r."""
    rows = outputs.shape[1]
    columns = []
    for r in range(rows):
        gradients = torch.autograd.grad(outputs[:, r].sum(), deltas, retain_graph=r < rows - 1,
                                        allow_unused=True)
        columns.append(torch.stack([torch.zeros_like(delta) if gradient is None else gradient
                                    for gradient, delta in zip(gradients, deltas, strict=True)],
                                   dim=-1))
    return torch.stack(columns, dim=1).detach()


def check_first_sample(model: nn.Module, inputs: torch.Tensor, jacobians: torch.Tensor) -> None:
    """Refuse a network the perturbations cannot see through: the first sample alone, by plain
    autograd, must give the summed row of its Jacobian. It differs where a parameter is used
    outside the module that owns it, or where samples of a batch mix."""
    parameters = dict(model.named_parameters())
    for parameter in parameters.values():
        parameter.requires_grad_(True)
    total = logits_of(model(inputs[:1])).sum()
    gradients = torch.autograd.grad(total, list(parameters.values()), allow_unused=True)
    expected = torch.stack([torch.zeros((), dtype=jacobians.dtype) if grad is None
                            else grad.reshape(-1)[0].to(jacobians.dtype) for grad in gradients])
    row = jacobians[0].cpu()
    tolerance = CHECK_TOLERANCE * (row.abs().sum(dim=0) + expected.abs().cpu()) + 1e-12
    wrong = (row.sum(dim=0) - expected.cpu()).abs() > tolerance
    if bool(wrong.any()):
        name = list(parameters)[int(wrong.nonzero()[0])]
        raise ScorerSkipped(f"vkdnw cannot take per-sample derivatives of {name} in this "
                            "network: it is used outside the module that owns it, or the "
                            "samples of a batch mix in eval mode")


def first_element_direction(parameter: torch.Tensor) -> torch.Tensor:
    """The unit tangent along a tensor's first element."""
    direction = torch.zeros_like(parameter)
    direction.view(-1)[0] = 1.0
    return direction


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
