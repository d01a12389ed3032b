"""Per-trial seeds and initialization schemes."""

import random

import numpy as np
import pytest
import torch
from torch import nn

from harness import seeding
from harness.errors import UnknownPluginError
from harness.trial import apply_init


def test_trial_seed_is_a_stable_hash_of_run_seed_space_and_arch():
    seed = seeding.derive_trial_seed(0, "nb201", "|nor_conv_3x3~0|+|none~0|skip_connect~1|")
    # sha256 is the same on every machine and Python run (unlike the salted hash()).
    assert seed == seeding.derive_trial_seed(0, "nb201", "|nor_conv_3x3~0|+|none~0|skip_connect~1|")
    assert 0 <= seed < 2**32
    triples = [(1, "nb201", "a"), (0, "nb101", "a"), (0, "nb201", "b"), (0, "nb201", "a")]
    others = {seeding.derive_trial_seed(*triple) for triple in triples}
    assert len(others) == 4, "run seed, space and arch each change the trial seed"


def test_trial_seed_known_value():
    assert seeding.derive_trial_seed(3, "toy", "w2") == 1116519352, (
        "the trial seed changed: every stored trial of an earlier run would score differently")


def test_seed_everything_repeats_python_numpy_and_torch_draws():
    def draws():
        generator = seeding.seed_everything(1234)
        return (random.random(), np.random.rand(), torch.rand(1).item(),
                torch.rand(1, generator=generator).item())

    assert draws() == draws()


def _fresh_linear() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(1000, 500), nn.Conv2d(3, 8, 3))


def test_kaiming_and_xavier_have_their_standard_deviations():
    model = _fresh_linear()
    seeding.init_weights_kaiming(model)
    # He normal, fan-in 1000, ReLU gain sqrt(2): std sqrt(2 / 1000) = 0.0447
    assert model[0].weight.std().item() == pytest.approx((2 / 1000) ** 0.5, rel=0.02)
    seeding.init_weights_xavier(model)
    # Glorot normal: std sqrt(2 / (fan_in + fan_out)) = sqrt(2 / 1500) = 0.0365
    assert model[0].weight.std().item() == pytest.approx((2 / 1500) ** 0.5, rel=0.02)


def test_default_schemes_leave_the_model_alone_and_zero_clears_biases():
    model, reference = _fresh_linear(), _fresh_linear()
    seeding.init_weights_default(model)
    seeding.init_bias_default(model)
    for got, want in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(got, want)
    seeding.init_bias_zero(model)
    assert model[0].bias.abs().sum() == 0 and model[1].bias.abs().sum() == 0
    assert torch.equal(model[0].weight, reference[0].weight), "zero bias keeps the weights"


def test_apply_init_resolves_registered_schemes(fresh_registry):
    model = _fresh_linear()
    apply_init(model, "xavier", "zero")
    assert model[1].bias.abs().sum() == 0
    with pytest.raises(UnknownPluginError, match="Did you mean 'kaiming'"):
        apply_init(model, "kaimin", "zero")
