"""NASWOT (Mellor et al., "Neural Architecture Search without Training", ICML 2021; official
code github.com/BayesWatch/nas-without-training; docs/naswot.md).

``naswot`` — the ICML 2021 score ("hook_logdet"). Each ReLU unit gives input i a bit
(pre-activation > 0). K[i, j] = number of units on which inputs i and j agree; score =
log|det K| (float64 ``slogdet``; sign ignored). Higher = better, no sign flip. A singular K
gives −inf (the worker, ``harness.trial``, records status ``inf``: worst).
Units are the inputs of every module whose class name contains "ReLU" (forward pre-hooks), one
contribution per call. As in the reference, only ReLUs reached by a first backward pass (of a
tensor of ones from the output, input requiring grad) count; the second, gradient-free forward
pass of the same batch fills K. The network has **one output** (num_classes 1) and stays in
train mode. A model without ReLU modules is skipped.

``naswot_v1`` — the arXiv v1 (2020) score: the Jacobian-correlation score of ``jacob_cov``
on a one-output network, batch 256.

Inputs: a training batch without augmentation, NASWOT normalization. The reference draws it
from the 25 k ``cifar-split`` half of the CIFAR-10 training set (a uniform random half), so a
seeded draw from the whole training set (``split: train``) has the same distribution and needs
no split file; set ``inputs.split = "trainval"`` for the exact reference pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from harness.errors import ScorerSkipped
from harness.plugins.scorers.jacob_cov import (
    JACOBIAN_NAN_REASON,
    correlation_eigen_score,
    input_jacobians,
)
from harness.plugins.scorers.zerocost_common import (
    batch_on_device,
    forward_with_hooks,
    fresh_model,
    logits_of,
    skip_if_undefined,
)
from harness.protocols import ScoringContext

NASWOT_INPUTS: dict[str, Any] = {"split": "train", "augment": False, "normalization": "naswot"}
# The largest layer width whose agreement counts a float32 product still holds exactly.
FLOAT32_EXACT_UNITS = 2**24


def relu_modules(model: nn.Module) -> list[nn.Module]:
    """Every module whose class name contains "ReLU" (ReLU, ReLU6, LeakyReLU, ...)."""
    return [module for module in model.modules() if "ReLU" in type(module).__name__]


def reached_by_backward(model: nn.Module, relus: list[nn.Module],
                        inputs: torch.Tensor) -> set[nn.Module]:
    """The ReLU modules whose output receives a gradient when ones are back-propagated."""
    reached: set[nn.Module] = set()

    def watch(module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
        if output.requires_grad:
            output.register_hook(lambda _grad: reached.add(module))

    handles = [relu.register_forward_hook(watch) for relu in relus]
    try:
        output = logits_of(model(inputs.detach().clone().requires_grad_(True)))
        output.backward(torch.ones_like(output))
    finally:
        for handle in handles:
            handle.remove()
    return reached


def agreement_kernel(model: nn.Module, relus: set[nn.Module], inputs: torch.Tensor) -> torch.Tensor:
    """K[i, j] = Σ over the units of ``relus`` of [sign bits of i and j agree], float64 (N, N).

    With b = 2·bit − 1 ∈ {−1, +1}: b_i·b_j = agreements − disagreements, so agreements =
    (b_i·b_j + n) / 2 for a layer of n units.
    """
    count = len(inputs)
    kernel = torch.zeros((count, count), dtype=torch.float64, device=inputs.device)

    def accumulate(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        if module not in relus:
            return
        bits = args[0].detach().reshape(count, -1) > 0
        units = bits.shape[1]
        dtype = torch.float32 if units < FLOAT32_EXACT_UNITS else torch.float64
        signs = bits.to(dtype) * 2 - 1
        kernel.add_(((signs @ signs.T).double() + units) / 2)

    forward_with_hooks(model, inputs, relus, accumulate, pre=True)
    return kernel


def hook_logdet(model: nn.Module, inputs: torch.Tensor) -> float:
    """The NASWOT v2 score of ``model`` on ``inputs`` (see the module docstring)."""
    relus = relu_modules(model)
    if not relus:
        raise ScorerSkipped("naswot needs ReLU modules (nn.ReLU and kin); this model has none")
    reached = reached_by_backward(model, relus, inputs)
    kernel = agreement_kernel(model, reached, inputs)
    return float(torch.linalg.slogdet(kernel).logabsdet)


# The network form of NASWOT's reference code (widths, stems), which each space builds.
NASWOT_NETWORK = "naswot"


@dataclass
class Naswot:
    """log|det K| of the ReLU agreement kernel (v2, "hook_logdet")."""

    name: str = "naswot"
    needs_inputs: bool = True
    defaults: dict[str, Any] = field(default_factory=lambda: {
        "batch_size": 128, "inputs": dict(NASWOT_INPUTS), "network": NASWOT_NETWORK})
    nonfinite_reason: ClassVar[str] = ("the ReLU agreement kernel K is singular: the "
                                       "network's activation patterns do not tell the batch's "
                                       "images apart")

    def score(self, ctx: ScoringContext) -> float:
        skip_if_undefined(ctx, self.name)
        model = fresh_model(ctx, num_classes=1)
        return hook_logdet(model, batch_on_device(ctx, model).inputs)


@dataclass
class NaswotV1:
    """Jacobian-correlation score (v1) on a one-output network."""

    name: str = "naswot_v1"
    needs_inputs: bool = True
    defaults: dict[str, Any] = field(default_factory=lambda: {
        "batch_size": 256, "inputs": dict(NASWOT_INPUTS), "network": NASWOT_NETWORK})
    nonfinite_reason: ClassVar[str] = JACOBIAN_NAN_REASON

    def score(self, ctx: ScoringContext) -> float:
        skip_if_undefined(ctx, self.name)
        model = fresh_model(ctx, num_classes=1)
        inputs = batch_on_device(ctx, model).inputs
        return correlation_eigen_score(input_jacobians(model, [inputs]))
