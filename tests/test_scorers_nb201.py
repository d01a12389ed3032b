"""Smoke test: every scorer on a few real NB-201 networks (the nb201 space's builder)."""

from __future__ import annotations

import math

import pytest
import torch
from scorer_helpers import make_context, network_options, random_batch

from harness.plugins.scorers.model_size import Flops, Params
from harness.plugins.scorers.naswot import Naswot, NaswotV1
from harness.plugins.scorers.plugin import recent_scorers, zerocost_scorers
from harness.plugins.spaces.nb201.space import NB201Space

BEST = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
        "+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
POOLS = ("|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|"
         "+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|")
EMPTY = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


ALL = [*zerocost_scorers(), Naswot(), NaswotV1(), Params(), Flops(), *recent_scorers()]


def score(scorer, arch_id: str) -> float:
    """The scorer's own builder options, shrunk to C 8 and one cell per stage for speed."""
    space = NB201Space()
    ctx = make_context(space, input_shape=(3, 32, 32), num_classes=10, arch_id=arch_id,
                       batch=random_batch(8, (3, 32, 32), 10, dtype=torch.float32),
                       config=scorer.defaults, dtype=torch.float32,
                       builder_options=network_options(scorer, space, C=8, N=1))
    return scorer.score(ctx)


@pytest.mark.parametrize("scorer", ALL, ids=lambda scorer: scorer.name)
def test_every_scorer_gives_a_finite_score_on_real_nb201_cells(scorer):
    assert math.isfinite(score(scorer, BEST))
    assert math.isfinite(score(scorer, POOLS))


def test_size_and_flow_rank_the_convolutional_cell_above_the_pooling_cell():
    for scorer in (Params(), Flops(), ALL[0]):
        assert score(scorer, BEST) > score(scorer, POOLS), scorer.name


def test_input_independent_cell_is_non_finite_for_jacobian_scores():
    """The all-none cell zeroes the signal: constant Jacobians make jacob_cov NaN."""
    jacob_cov = next(scorer for scorer in ALL if scorer.name == "jacob_cov")
    assert math.isnan(score(jacob_cov, EMPTY))


def test_l2_norm_sees_only_the_selected_ops_by_default():
    """With the reference builder (all candidate ops on every edge) two cells built under one
    seed have identical weights, so l2_norm could not tell them apart."""
    l2_norm = next(scorer for scorer in ALL if scorer.name == "l2_norm")
    assert network_options(l2_norm, NB201Space()) == {}  # the benchmark's (official) network
    assert score(l2_norm, BEST) > score(l2_norm, POOLS)
