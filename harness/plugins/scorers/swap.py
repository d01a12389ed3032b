"""swap, swap_reg: SWAP-Score (Peng, Song, Fayek, Ciesielski, Chang, "SWAP-NAS: Sample-Wise
Activation Patterns for Ultra-fast NAS", ICLR 2024; official code github.com/pym1024/SWAP,
``src/metrics/swap.py`` and ``correlation.py``; docs/swap.md).

The outputs of every ``nn.ReLU`` module whose input is a 4-D feature map are recorded for a batch
of N images and concatenated per image into an (N, units) matrix A; a unit's sample-wise
activation pattern is its column of sign(A) ∈ {0, 1}^N. Score:

    swap     = number of distinct patterns among the units
    swap_reg = swap · exp(−(P − μ)² / σ),  P = parameter count of the network in thousands

``repeats`` draws of the weights are averaged: before each, every Conv2d / Linear weight is drawn
from N(0, 1) with biases 0 and BatchNorm scale 1 / shift 0 (the official code's
``network_weight_gaussian_init``); the draws come from the trial's generator. The official code
averages 32 draws on batches of 16 for a one-cell, three-channel DARTS network; on a benchmark
network 32 forward passes cost about eight forward-backward passes of a batch of 64, so the
default here is 4 draws (``--option swap.repeats=32`` for the official count). The forward
passes run in train mode without gradients. Higher = better, no sign flip. A network without
such ReLU modules is skipped.

The released code holds only the DARTS experiment; μ and σ for NB-201 are not in it, so the
defaults here (μ = 1500, σ = 500 000, in thousands of parameters: a bell around the largest
NB-201 networks) are the harness's choice, to be set per space (``--option swap_reg.mu=...``).
Network: the benchmark's (NB-201's official cells, whose ReLU-Conv-BN ops hold the ReLUs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from harness.plugins.scorers.model_size import parameter_count
from harness.plugins.scorers.zen import gaussian_init
from harness.plugins.scorers.zerocost_common import (
    batch_on_device,
    fresh_model,
    relu_map_activations,
    skip_if_undefined,
)
from harness.protocols import OptionRanges, ScoringContext

SWAP_INPUTS: dict[str, Any] = {"split": "train", "augment": False}


# Bits of one pattern packed into an int64 word (the sign bit stays unused).
CODE_BITS = 62


def distinct_patterns(activations: torch.Tensor) -> int:
    """Number of distinct columns of sign(activations) for an (N, units) matrix.

    Each unit's N bits are packed into int64 words of 62 bits; words are merged one at a time
    into a dense key (the index of the pattern so far among the distinct ones), so the count
    takes one-dimensional uniques only, not a lexicographic sort of N-wide rows."""
    bits = (activations > 0).long()
    key = torch.zeros(bits.shape[1], dtype=torch.long, device=bits.device)
    for start in range(0, bits.shape[0], CODE_BITS):
        word = bits[start:start + CODE_BITS]
        powers = 2 ** torch.arange(word.shape[0], device=word.device, dtype=torch.long)
        _, word_index = torch.unique(powers @ word, return_inverse=True)
        _, key = torch.unique(key * (int(word_index.max()) + 1) + word_index,
                              return_inverse=True)
    return int(key.max()) + 1 if key.numel() else 0


def size_factor(parameters: int, mu: float, sigma: float) -> float:
    """exp(−(P − μ)² / σ) with P the parameter count in thousands (the official regulariser)."""
    return math.exp(-((parameters / 1e3 - mu) ** 2) / sigma)


@dataclass
class Swap:
    """Distinct sample-wise ReLU activation patterns, optionally weighted by model size."""

    name: str = "swap"
    regularised: bool = False
    needs_inputs: bool = True
    defaults: dict[str, Any] = field(default_factory=lambda: {
        "batch_size": 16, "inputs": dict(SWAP_INPUTS), "repeats": 4})
    option_ranges: ClassVar[OptionRanges] = {"repeats": (1, None), "sigma": (1e-9, None)}

    def __post_init__(self) -> None:
        if self.regularised:
            self.defaults = {**self.defaults, "mu": 1500.0, "sigma": 500000.0}

    def score(self, ctx: ScoringContext) -> float:
        skip_if_undefined(ctx, self.name)
        model = fresh_model(ctx)
        inputs = batch_on_device(ctx, model).inputs
        counts = []
        for _ in range(int(ctx.config.get("repeats", 4))):
            gaussian_init(model, ctx.generator)
            counts.append(distinct_patterns(relu_map_activations(model, inputs, self.name)))
        value = math.fsum(counts) / len(counts)
        if self.regularised:
            value *= size_factor(parameter_count(model), float(ctx.config["mu"]),
                                 float(ctx.config["sigma"]))
        return value
