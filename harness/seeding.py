"""Per-trial seeds and weight / bias initialization schemes.

A trial's seed is derived from (run seed, space, arch id) with SHA-256, never Python's salted
``hash()``, so neither trial order nor worker count can change a score. The init schemes are the
axes of the GenNAS appendix (Table 2): weights ``default`` (the framework's), ``kaiming``,
``xavier``; biases ``default``, ``zero``. They are registered through
``harness_register_initializers`` by the built-in initializers plugin, so a plugin can add more;
``harness.trial.apply_init`` applies them by name.
"""

from __future__ import annotations

import hashlib
import os
import random
import sys

import numpy as np
import torch
from torch import nn

SEED_BITS = 32
# Modules whose weight a scheme re-initializes: the layers that carry a network's kernels.
INIT_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def derive_trial_seed(run_seed: int, space: str, arch_id: str) -> int:
    """A stable 32-bit seed for one (run seed, space, arch) triple."""
    digest = hashlib.sha256(f"{int(run_seed)}\x1f{space}\x1f{arch_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (1 << SEED_BITS)


def use_deterministic_algorithms() -> None:
    """Ask torch for deterministic kernels wherever it has them (warn where it has none).

    ``CUBLAS_WORKSPACE_CONFIG`` must be set before CUDA initializes for cuBLAS to be
    deterministic, so worker processes call this first.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    if "torch._inductor.config" in sys.modules:
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        # The public call also sets torch._inductor.config.deterministic, and importing that
        # config costs seconds per worker; the harness never compiles, so set the eager flag.
        torch._C._set_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy, torch (CPU and all GPUs); return a CPU generator seeded alike."""
    random.seed(seed)
    np.random.seed(seed % (1 << 32))
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def _init_layers(model: nn.Module) -> list[nn.Module]:
    return [module for module in model.modules() if isinstance(module, INIT_LAYERS)]


def init_weights_default(model: nn.Module) -> None:
    """Leave the framework's initialization as the builder made it."""


def init_weights_kaiming(model: nn.Module) -> None:
    """He normal (fan-in, ReLU gain) on every conv / linear kernel."""
    for module in _init_layers(model):
        nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")


def init_weights_xavier(model: nn.Module) -> None:
    """Glorot normal on every conv / linear kernel."""
    for module in _init_layers(model):
        nn.init.xavier_normal_(module.weight)


def init_bias_default(model: nn.Module) -> None:
    """Leave the framework's bias initialization as the builder made it."""


def init_bias_zero(model: nn.Module) -> None:
    """Zero every conv / linear bias."""
    for module in _init_layers(model):
        if module.bias is not None:
            nn.init.zeros_(module.bias)


WEIGHT_INITS = {"default": init_weights_default, "kaiming": init_weights_kaiming,
                "xavier": init_weights_xavier}
BIAS_INITS = {"default": init_bias_default, "zero": init_bias_zero}
