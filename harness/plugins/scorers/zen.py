"""zen: Zen-score (Lin, Wang, Sun, Chen, Sun, Qian, Li, Jin, "Zen-NAS: A Zero-Shot NAS for
High-Performance Image Recognition", ICCV 2021; official code github.com/idstcv/ZenNAS;
docs/zen.md).

On a copy of the network with every Conv2d / Linear weight drawn from N(0, 1), biases 0 and
BatchNorm scale 1 / shift 0 (the paper's Gaussian initialization), BatchNorm in train mode,
and with x, ε two independent N(0, 1) batches of the dataset's input shape:

    Δ = mean over images n of ‖f(x_n) − f(x_n + α ε_n)‖_F,          α = 0.01
    zen = log Δ + Σ_i log σ̄_i,   σ̄_i = sqrt( mean_j σ²_{i,j} )

f is the pre-global-average-pool feature map: the deepest stage output of the space's
``forward_taps`` (``harness.protocols.TappedSpace``; NB-201: the last cell's output, before the
head's BN-ReLU-pool-linear; NB-101: the last stack's output). σ²_{i,j} is the batch variance
(biased, as BN normalizes with) of channel j at the input of BatchNorm layer i during the
forward pass of the unperturbed x; only BN layers that ran in that pass count, and a BN whose
input is identically zero (an NB-201 branch behind a ``none`` edge) is left out: its output is
zero whatever its scale, so there is no scale for the term to restore. Higher = better, no sign
flip. A feature difference that is identically zero (an all-``none`` cell) gives −inf, which
the worker (``harness.trial``) records as status ``inf`` (worst). ``repeats`` > 1 averages the
score over independent draws (weights and inputs).

Choices where the official code differs from the paper's formula (docs/zen.md): ``norm`` "fro"
is the paper's Frobenius norm, "l1" the official code's sum of absolute differences; the code
reads σ from BN's running variance after two forward passes (momentum 0.1 blended with the
initial 1), while the paper's σ — the mini-batch statistic — is used here.

Network: each space's benchmark network (NB-201: the official cell, selected ops only;
the ``network`` option names another form). ``weight_init`` "gaussian" replaces the trial's weight
initialization (the harness's ``--weight-inits`` axis has no effect then); "trial" keeps it.
A space without ``forward_taps`` is skipped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from harness.errors import ConfigError, ScorerSkipped
from harness.plugins.scorers.zerocost_common import fresh_model
from harness.protocols import OptionRanges, ScoringContext, TappedSpace

NORMS = ("fro", "l1")
FeatureMap = Callable[[torch.Tensor], torch.Tensor]


def gaussian_init(model: nn.Module, generator: torch.Generator) -> None:
    """The paper's initialization: Conv2d / Linear weights N(0, 1), their biases 0, BN γ=1 β=0.

    Values are drawn on the CPU from ``generator`` (module order) and copied, so the result is
    the same on every device."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator,
                                                dtype=module.weight.dtype))
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.modules.batchnorm._BatchNorm) and module.affine:
                module.weight.fill_(1.0)
                module.bias.zero_()


def batchnorm_log_scales(model: nn.Module, features: FeatureMap,
                         inputs: torch.Tensor) -> tuple[torch.Tensor, float]:
    """f(inputs), and Σ_i log sqrt(mean_j σ²_{i,j}) over the BN layers that ran with a
    non-zero input (batch variance of each channel at the layer's input, float64)."""
    log_scales: list[float] = []

    def record(_module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        x = args[0].double()
        dims = [0, *range(2, x.dim())]
        mean_variance = x.var(dim=dims, unbiased=False).mean()
        if mean_variance > 0:  # a BN fed only zeros (a dead branch) has no scale to restore
            log_scales.append(0.5 * float(torch.log(mean_variance)))

    handles = [module.register_forward_pre_hook(record) for module in model.modules()
               if isinstance(module, nn.modules.batchnorm._BatchNorm)]
    try:
        output = features(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return output, math.fsum(log_scales)


def zen_of(model: nn.Module, features: FeatureMap, inputs: torch.Tensor,
           perturbation: torch.Tensor, alpha: float, norm: str = "fro") -> float:
    """The Zen-score of ``model`` for one draw of x = ``inputs`` and ε = ``perturbation``."""
    if norm not in NORMS:
        raise ConfigError(f"zen norm must be one of {', '.join(NORMS)}, got {norm!r}")
    with torch.no_grad():
        clean, log_bn = batchnorm_log_scales(model, features, inputs)
        perturbed = features(inputs + alpha * perturbation)
        difference = (clean - perturbed).double().flatten(1)
        if norm == "fro":
            per_image = difference.norm(dim=1)
        else:
            per_image = difference.abs().sum(dim=1)
        return float(torch.log(per_image.mean())) + log_bn


def pre_pool_features(ctx: ScoringContext, model: nn.Module) -> FeatureMap:
    """x ↦ the deepest stage output of ``model`` (the space's ``forward_taps``)."""
    space = ctx.space
    if not isinstance(space, TappedSpace):
        raise ScorerSkipped(f"zen needs the feature map before global pooling, which space "
                            f"{space.name!r} does not expose (it has no forward_taps)")
    return lambda inputs: space.forward_taps(model, inputs)[-1]


@dataclass
class Zen:
    """log E‖f(x) − f(x + αε)‖ + Σ log σ̄_BN on a Gaussian-initialized copy, Gaussian inputs."""

    name: str = "zen"
    needs_inputs: bool = False
    defaults: dict[str, Any] = field(default_factory=lambda: {
        "batch_size": 64, "alpha": 0.01, "repeats": 1, "norm": "fro",
        "weight_init": "gaussian"})
    option_ranges: ClassVar[OptionRanges] = {"alpha": (0.0, None), "repeats": (1, None)}

    def score(self, ctx: ScoringContext) -> float:
        weight_init = ctx.config.get("weight_init", "gaussian")
        if weight_init not in ("gaussian", "trial"):
            raise ConfigError(f"zen weight_init must be 'gaussian' or 'trial', got "
                              f"{weight_init!r}")
        values = []
        for _ in range(int(ctx.config.get("repeats", 1))):
            model = fresh_model(ctx)
            if weight_init == "gaussian":
                gaussian_init(model, ctx.generator)
            parameter = next(model.parameters(), None)
            dtype = parameter.dtype if parameter is not None else torch.float32
            shape = (int(ctx.config["batch_size"]), *ctx.input_shape)
            inputs = torch.randn(shape, generator=ctx.generator, dtype=dtype)
            perturbation = torch.randn(shape, generator=ctx.generator, dtype=dtype)
            values.append(zen_of(model, pre_pool_features(ctx, model), inputs.to(ctx.device),
                                 perturbation.to(ctx.device), float(ctx.config["alpha"]),
                                 ctx.config.get("norm", "fro")))
        return math.fsum(values) / len(values)
