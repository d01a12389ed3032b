"""AZ-NAS's four per-arch scores (Lee and Ham, "AZ-NAS: Assembling Zero-Cost Proxies for Network
Architecture Search", CVPR 2024; official code github.com/cvlab-yonsei/AZ-NAS, NB-201 scorer
``NB201/ZeroShotProxy/compute_az_nas_score.py``; docs/az-nas.md).

One forward pass of a Gaussian batch x (``batch_size`` 64, the official NB-201 loader's) through
a copy re-initialized with Kaiming normal fan-in (``kaiming.py``), train mode, gives the feature
maps F_0 … F_{L-1} (the space's ``forward_taps`` of the ``az_nas`` network form: on NB-201 the
stem's output and every cell's and reduction block's, 18 maps for N = 5, as the official model's
``extract_cell_features``; NB-101 and NDS: the stem's and every cell's or block's; a space
without that form gives its stage outputs). With F_l
reshaped to (B·H·W, C):

- expressivity: Σ_l H(λ(Σ_l) / Σλ), the entropy −Σ p log(p + 1e-8) of the normalized
  eigenvalues of the channel covariance Σ_l = (F_l − mean)ᵀ(F_l − mean) / (B·H·W);
- progressivity: min_l (H_l − H_{l−1}), the smallest gain of that entropy between taps;
- trainability: mean over l ≥ 1 of 2 − σ − 1/(σ + 1e-6), σ the largest singular value of
  M_l = g_inᵀ g_out / (B·H_out·W_out), where g_out is a Rademacher (±1) tensor of F_l's shape
  and g_in = (∂F_l/∂F_{l−1})ᵀ g_out (one backward pass per pair, deepest first),
  pixel-unshuffled to F_l's resolution when the block halves it; a pair whose g_in equals g_out
  (an identity block) scores −inf, and so does the mean, as in the official code; g_in is zero
  (σ = 0) where F_l does not read F_{l−1} at all (NDS cells that read only the cell before);
- complexity: the arch's FLOPs (``model_size.Flops``; the official notebook ranks the
  benchmark's FLOPs column).

Higher is better for all four; a NaN score is −inf (the official code's rule), stored as status
``inf`` by the worker. Statistics are float64 (the official code: float32). A space without
``forward_taps`` skips the trial.

The official code takes all three network scores from one pass; here each part is a trial of
its own (so the aggregation can be recomputed), and the parts of one arch share their pass
within a worker: a part whose network, batch and options are exactly those of the worker's
last pass (``pass_fingerprint``) reads that pass's scores instead of running it again (once:
the same part asked again runs its own pass, ``LastPass``). The
entropies come with every pass; trainability (the backward half) only when that part asks for
it, so ``az_trainability`` first, as the ``az_nas`` aggregate lists it, makes the other two
free. The scores are the same bit for bit either way: the pass draws nothing before the
signs of trainability.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parameter import is_lazy

from harness.errors import ScorerSkipped
from harness.plugins.scorers.kaiming import reinitialize
from harness.plugins.scorers.model_size import Flops
from harness.plugins.scorers.zerocost_common import fresh_model, skip_unless_image_classifier
from harness.protocols import OptionRanges, ScoringContext, TappedSpace

# The network form whose forward_taps are every block's output (NB-201: taps="blocks").
AZ_NAS_NETWORK = "az_nas"
ENTROPY_EPSILON = 1e-8
SINGULAR_EPSILON = 1e-6


def channel_rows(feature: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) → (B·H·W, C) float64: one row per image position."""
    return feature.detach().double().permute(0, 2, 3, 1).reshape(-1, feature.shape[1])


def spectral_entropy(feature: torch.Tensor) -> float:
    """Entropy of the normalized eigenvalues of the channel covariance of ``feature``."""
    rows = channel_rows(feature)
    rows = rows - rows.mean(dim=0, keepdim=True)
    covariance = rows.T @ rows / rows.shape[0]
    eigenvalues = torch.linalg.eigvalsh(covariance)
    probabilities = eigenvalues / eigenvalues.sum()
    return float(-(probabilities * torch.log(probabilities + ENTROPY_EPSILON)).sum())


def transfer_score(f_in: torch.Tensor, f_out: torch.Tensor, generator: torch.Generator) -> float:
    """2 − σ − 1/(σ + 1e-6) for the largest singular value σ of the input-output gradient map
    between two taps (see the module docstring); −inf for an identity map. A tap that ``f_out``
    does not read (an NDS cell built on its earlier input only) passes it no gradient: the map
    is zero, σ = 0."""
    signs = torch.randint(0, 2, f_out.shape, generator=generator).to(f_out) * 2 - 1
    (g_in,) = torch.autograd.grad(f_out, f_in, grad_outputs=signs, retain_graph=True,
                                  allow_unused=True, materialize_grads=True)
    if g_in.shape == signs.shape and torch.equal(g_in, signs):
        return -math.inf
    if g_in.shape[2:] != signs.shape[2:]:
        g_in = F.pixel_unshuffle(g_in, g_in.shape[2] // signs.shape[2])
    positions = signs.shape[0] * signs.shape[2] * signs.shape[3]
    transfer = channel_rows(g_in).T @ channel_rows(signs) / positions
    largest = float(torch.linalg.matrix_norm(transfer, ord=2))
    return 2.0 - largest - 1.0 / (largest + SINGULAR_EPSILON)


def entropy_scores(features: list[torch.Tensor]) -> dict[str, float]:
    """expressivity and progressivity of one forward pass's taps (no backward pass)."""
    entropies = np.array([spectral_entropy(feature) for feature in features])
    return {"expressivity": float(entropies.sum()),
            "progressivity": float(np.min(np.diff(entropies)))}


def trainability(features: list[torch.Tensor], generator: torch.Generator) -> float:
    """The mean transfer score of consecutive taps, deepest pair first (the official order of
    the sign draws)."""
    return float(np.mean([transfer_score(features[index - 1], features[index], generator)
                          for index in reversed(range(1, len(features)))]))


def network_and_batch(ctx: ScoringContext, scorer: str) -> tuple[TappedSpace, nn.Module,
                                                                   torch.Tensor]:
    """The trial's re-initialized network and its Gaussian batch, on the trial's device."""
    skip_unless_image_classifier(ctx, scorer)
    space = ctx.space
    if not isinstance(space, TappedSpace):
        raise ScorerSkipped(f"{scorer} needs the feature maps of its stages, which space "
                            f"{space.name!r} does not expose (it has no forward_taps)")
    model = fresh_model(ctx)
    reinitialize(model, ctx.config.get("weight_init", "kaiming"), ctx.generator)
    parameter = next(model.parameters())
    shape = (int(ctx.config["batch_size"]), *ctx.input_shape)
    inputs = torch.randn(shape, generator=ctx.generator, dtype=parameter.dtype)
    return space, model, inputs.to(ctx.device)


def pass_fingerprint(ctx: ScoringContext, model: nn.Module, inputs: torch.Tensor) -> str:
    """SHA-256 of everything one pass reads: the space, arch, options, device, trial seed
    (what a lazy module draws at its first call), every weight and buffer, and the batch.
    Equal fingerprints give equal scores."""
    digest = hashlib.sha256(json.dumps(
        [ctx.space.name, ctx.arch_id, ctx.config, ctx.builder_options, str(ctx.device),
         ctx.trial_seed], sort_keys=True, default=str).encode())
    tensors = [t for t in model.state_dict().values() if not is_lazy(t)]
    for tensor in [*tensors, inputs]:
        digest.update(str((tensor.dtype, tuple(tensor.shape))).encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


@dataclass
class LastPass:
    """The scores of a worker's last AZ-NAS pass, by part, under its fingerprint, and the
    parts it has served. A pass serves each part once: a part asked again for the same
    network (a repeated trial, ``harness profile``'s timed run after its warm-up) runs its own
    pass, so what is shared is only the work of different parts."""

    fingerprint: str = ""
    scores: dict[str, float] = field(default_factory=dict)
    served: set[str] = field(default_factory=set)

    def recall(self, fingerprint: str, part: str) -> float | None:
        if fingerprint != self.fingerprint or part in self.served or part not in self.scores:
            return None
        self.served.add(part)
        return self.scores[part]

    def remember(self, fingerprint: str, scores: dict[str, float], part: str) -> None:
        if fingerprint != self.fingerprint:
            self.fingerprint, self.scores, self.served = fingerprint, {}, set()
        self.scores.update(scores)
        self.served.add(part)


_LAST_PASS = LastPass()


def pass_scores(scorer: str, space: TappedSpace, model: nn.Module, inputs: torch.Tensor,
                generator: torch.Generator, with_trainability: bool) -> dict[str, float]:
    """One pass's expressivity and progressivity, and trainability if asked (NaN → −inf),
    for ``scorer``'s trial."""
    features = space.forward_taps(model, inputs)
    if len(features) < 2:
        raise ScorerSkipped(f"{scorer} needs at least two feature maps (forward_taps)")
    scores = entropy_scores([feature.detach() for feature in features])
    if with_trainability:
        scores["trainability"] = trainability(features, generator)
    return {part: -math.inf if math.isnan(value) else value for part, value in scores.items()}


@dataclass
class AzScore:
    """One of AZ-NAS's expressivity / progressivity / trainability scores."""

    part: str
    name: str = ""
    needs_inputs: bool = False
    defaults: dict[str, Any] = field(default_factory=lambda: {
        "batch_size": 64, "weight_init": "kaiming", "network": AZ_NAS_NETWORK})
    option_ranges: ClassVar[OptionRanges] = {"batch_size": (2, None)}

    def __post_init__(self) -> None:
        self.name = self.name or f"az_{self.part}"

    def score(self, ctx: ScoringContext) -> float:
        space, model, inputs = network_and_batch(ctx, self.name)
        fingerprint = pass_fingerprint(ctx, model, inputs)
        value = _LAST_PASS.recall(fingerprint, self.part)
        if value is None:
            scores = pass_scores(self.name, space, model, inputs, ctx.generator,
                                 with_trainability=self.part == "trainability")
            _LAST_PASS.remember(fingerprint, scores, self.part)
            value = scores[self.part]
        return value


def az_nas_parts() -> list[Any]:
    """The four AZ-NAS scorers: ``az_expressivity``, ``az_progressivity``, ``az_trainability``
    and ``az_complexity`` (the FLOPs count under AZ-NAS's name)."""
    return [AzScore("expressivity"), AzScore("progressivity"), AzScore("trainability"),
            Flops(name="az_complexity")]
