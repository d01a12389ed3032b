"""meco, meco_opt: MeCo (Jiang, Wang, Bie, "MeCo: Zero-Shot NAS with One Data and Single
Forward Pass via Minimum Eigenvalue of Correlation", NeurIPS 2023; official code
github.com/HamsterMimi/MeCo, ``correlation/NAS_Bench_201.py``; docs/meco.md).

One forward pass of one image through a fresh copy of the network (train mode, no gradients).
Every module's output (each call, containers included, as the official code hooks every module)
is taken for the first image of the batch and flattened to a (C, rest) matrix: one row per
channel (a Linear output of K units gives K rows of one value). P is the Pearson correlation
matrix of the rows, with NaN and ±inf entries set to 0 (a constant row, e.g. an all-``none``
edge's zeros, has undefined correlations); λ_min(P) is its smallest eigenvalue (float64
symmetric solver; the official code takes the real part of a general solver's). Score:

    meco     = Σ_modules λ_min(P)
    meco_opt = Σ_modules (C / 8) · λ_min(P_8),  P_8 from 8 rows drawn at random (without
               replacement, from the trial's generator); a module with at most 8 rows uses all
               of them with weight 1

Non-finite terms are dropped. Higher = better, no sign flip. Outputs that are not tensors
(tuples) are skipped.
Inputs: one training image (batch 1) with the zero-cost augmentation and normalization, and the
``zerocost`` network form: the official NB-201 script builds ``foresight.models.nasbench2`` (the
zero-cost builder) and draws one CIFAR training image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from harness.errors import ScorerSkipped
from harness.plugins.scorers.zerocost_common import (
    ZEROCOST_INPUTS,
    batch_on_device,
    forward_with_hooks,
    fresh_model,
    skip_if_undefined,
)
from harness.protocols import ScoringContext

OPT_ROWS = 8


def smallest_correlation_eigenvalue(rows: torch.Tensor) -> float:
    """λ_min of the rows' Pearson correlation matrix, non-finite entries set to 0 (float64)."""
    if rows.shape[1] < 2:  # one value per row: every correlation is undefined, P = 0
        return 0.0
    correlation = torch.corrcoef(rows.double())
    correlation = torch.nan_to_num(correlation, nan=0.0, posinf=0.0, neginf=0.0)
    if correlation.dim() == 0:  # one row: a 1×1 matrix
        return float(correlation)
    return float(torch.linalg.eigvalsh(correlation)[0])


def module_feature_maps(model: nn.Module, inputs: torch.Tensor) -> list[torch.Tensor]:
    """Every module call's output for the first input, as a (channels, rest) matrix."""
    maps: list[torch.Tensor] = []

    def record(_module: nn.Module, _args: Any, output: Any) -> None:
        if isinstance(output, torch.Tensor) and output.dim() >= 1:
            first = output[0].detach()
            maps.append(first.reshape(first.shape[0], -1) if first.dim() else first.reshape(1, 1))

    forward_with_hooks(model, inputs, model.modules(), record)
    return maps


def meco_of(maps: list[torch.Tensor], generator: torch.Generator | None = None) -> float:
    """Σ λ_min over the maps; with ``generator``, the meco_opt estimate from 8 random rows."""
    terms = []
    for rows in maps:
        weight = 1.0
        if generator is not None and rows.shape[0] > OPT_ROWS:
            weight = rows.shape[0] / OPT_ROWS
            picked = torch.randperm(rows.shape[0], generator=generator)[:OPT_ROWS]
            rows = rows[picked.to(rows.device)]
        value = weight * smallest_correlation_eigenvalue(rows)
        if math.isfinite(value):
            terms.append(value)
    return math.fsum(terms)


@dataclass
class Meco:
    """Σ over module outputs of the smallest eigenvalue of the channel correlation matrix."""

    name: str = "meco"
    sampled: bool = False
    needs_inputs: bool = True
    defaults: dict[str, Any] = field(default_factory=lambda: {
        "batch_size": 1, "inputs": dict(ZEROCOST_INPUTS), "network": "zerocost"})

    def score(self, ctx: ScoringContext) -> float:
        skip_if_undefined(ctx, self.name)
        model = fresh_model(ctx)
        inputs = batch_on_device(ctx, model).inputs
        if not inputs.dtype.is_floating_point:
            raise ScorerSkipped(f"{self.name} reads feature maps of image inputs; this space's "
                                f"inputs are token ids")
        return meco_of(module_feature_maps(model, inputs), ctx.generator if self.sampled else None)
