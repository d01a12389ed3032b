"""The re-initialization AZ-NAS and VKDNW score with: Kaiming normal, fan-in, ReLU gain.

Both official NB-201 scripts (github.com/cvlab-yonsei/AZ-NAS ``NB201/ZeroShotProxy/
compute_az_nas_score.py``; github.com/ondratybl/VKDNW ``NB201/ZeroShotProxy/
compute_vkdnw_score.py``) re-initialize the network before scoring, whatever its construction
did: every Conv2d / Linear weight ~ N(0, 2 / fan_in), their biases 0, affine BatchNorm scale 1
and shift 0. The scorers that follow them take ``weight_init`` "kaiming" (this scheme, the
default) or "trial" (keep the trial's ``--weight-inits`` scheme).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from harness.errors import ConfigError

WEIGHT_INITS = ("kaiming", "trial")


def kaiming_fan_in(model: nn.Module, generator: torch.Generator) -> None:
    """Kaiming normal fan-in (gain √2) weights, zero biases, BN γ=1 β=0, drawn on the CPU from
    ``generator`` in module order so the result is the same on every device."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                weight = module.weight
                fan_in = weight[0].numel()
                draw = torch.randn(weight.shape, generator=generator, dtype=weight.dtype)
                weight.copy_(draw * math.sqrt(2.0 / fan_in))
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.modules.batchnorm._BatchNorm) and module.affine:
                module.weight.fill_(1.0)
                module.bias.zero_()


def reinitialize(model: nn.Module, weight_init: str, generator: torch.Generator) -> None:
    """Apply the scorer's ``weight_init`` option (see the module docstring)."""
    if weight_init not in WEIGHT_INITS:
        raise ConfigError(f"weight_init must be one of {', '.join(WEIGHT_INITS)}, got "
                          f"{weight_init!r}")
    if weight_init == "kaiming":
        kaiming_fan_in(model, generator)
