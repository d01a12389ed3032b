"""params and flops: exact counts for known layers."""

from __future__ import annotations

import pytest
from scorer_helpers import FakeSpace, TinyConv, make_context
from torch import nn

from harness.errors import ScorerSkipped
from harness.plugins.scorers.model_size import Flops, Params


def test_params_counts_every_parameter_of_tiny_conv():
    ctx = make_context(FakeSpace(lambda num_classes: TinyConv(num_classes)),
                       input_shape=(3, 6, 6), num_classes=10)
    # conv1 3·4·9 + 4, BN 2·4, conv2 4·5·9 + 5, classifier 5·10 + 10
    assert Params().score(ctx) == 112 + 8 + 185 + 60


def test_flops_counts_conv_and_linear_macs_of_one_image():
    ctx = make_context(FakeSpace(lambda num_classes: TinyConv(num_classes)),
                       input_shape=(3, 6, 6), num_classes=10)
    # conv1: 4·6·6 outputs × 3·9; conv2 (stride 2): 5·3·3 × 4·9; classifier: 10 × 5
    assert Flops().score(ctx) == 144 * 27 + 45 * 36 + 10 * 5


def test_flops_grouped_conv_and_repeated_calls():
    class Shared(nn.Module):
        def __init__(self, num_classes: int) -> None:
            super().__init__()
            self.grouped = nn.Conv2d(4, 8, 3, padding=1, groups=2, bias=False)
            self.linear = nn.Linear(8, 8)

        def forward(self, x):
            pooled = self.grouped(x).mean((2, 3))
            return self.linear(self.linear(pooled))

    ctx = make_context(FakeSpace(Shared), input_shape=(4, 5, 5), num_classes=8)
    assert Flops().score(ctx) == 8 * 25 * (2 * 9) + 2 * 8 * 8, "one term per call"
    assert Params().score(ctx) == 8 * 2 * 9 + 8 * 8 + 8, "the shared Linear counts once"


def test_flops_without_weight_layers_is_skipped():
    ctx = make_context(FakeSpace(lambda num_classes: nn.Flatten()), input_shape=(3, 2, 2),
                       num_classes=12)
    with pytest.raises(ScorerSkipped):
        Flops().score(ctx)
    assert Params().needs_inputs is False and Flops().needs_inputs is False
