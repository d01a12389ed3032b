"""EPE-NAS and Zen-score: exact values on tiny networks against independent numpy float64
computations, the cases each definition singles out, invariances, determinism."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from scorer_helpers import (
    MLP,
    FakeSpace,
    MLPReference,
    make_context,
    network_options,
    random_batch,
)
from torch import nn

from harness.errors import ConfigError, ScorerSkipped
from harness.plugins.scorers.epe_nas import EpeNas
from harness.plugins.scorers.zen import Zen, gaussian_init, zen_of
from harness.protocols import Batch

MLP_SHAPE = (3, 2, 2)  # flattens to the MLP's 12 inputs
REL = 1e-6


# -- EPE-NAS -------------------------------------------------------------------------------------
def mlp_jacobians(ref: MLPReference) -> np.ndarray:
    """∂(Σ logits)/∂x_n = (1ᵀW2 ⊙ [z1_n > 0]) W1 for the MLP without BN."""
    return (ref.w2.sum(0)[None, :] * (ref.z1 > 0)) @ ref.w1


def class_term(rows: np.ndarray) -> float:
    return float(np.log(np.abs(np.corrcoef(rows)) + 1e-5).sum())


def epe_case(labels: list[int], num_classes: int):
    space = FakeSpace(MLP)
    inputs = random_batch(len(labels), MLP_SHAPE, num_classes).inputs
    batch = Batch(inputs, torch.tensor(labels))
    ctx = make_context(space, input_shape=MLP_SHAPE, num_classes=num_classes, batch=batch)
    return ctx, MLPReference.of(ctx.build_model(), batch)


def test_epe_nas_sums_absolute_class_terms_and_leaves_out_single_images():
    """Classes 0 and 2 have 4 and 3 images; class 1 has one, which contributes nothing."""
    labels = [0, 2, 0, 1, 2, 0, 2, 0]
    ctx, ref = epe_case(labels, num_classes=3)
    jacobians, y = mlp_jacobians(ref), np.array(labels)
    expected = abs(class_term(jacobians[y == 0])) + abs(class_term(jacobians[y == 2]))
    assert EpeNas().score(ctx) == pytest.approx(expected, rel=REL)


def test_epe_nas_above_100_classes_uses_pairwise_differences_of_normalized_terms():
    """C = 101: E_c is divided by n_c, and S = Σ_c Σ_c' |E_c − E_c'| / (classes used)."""
    labels = [5, 7, 5, 9, 7, 5, 9, 7, 9, 9]
    ctx, ref = epe_case(labels, num_classes=101)
    jacobians, y = mlp_jacobians(ref), np.array(labels)
    terms = [class_term(jacobians[y == c]) / (y == c).sum() for c in (5, 7, 9)]
    expected = sum(abs(a - b) for a in terms for b in terms) / 3
    assert EpeNas().score(ctx) == pytest.approx(expected, rel=REL)


def test_epe_nas_refuses_a_batch_without_two_images_of_a_class():
    ctx, _ = epe_case([0, 1, 2], num_classes=3)
    with pytest.raises(ConfigError, match="two images of one class"):
        EpeNas().score(ctx)


def input_blind_mlp(num_classes: int) -> nn.Module:
    model = MLP(num_classes=num_classes)
    nn.init.zeros_(model[1].weight)  # the output no longer depends on the input
    return model


def test_epe_nas_is_nan_when_jacobians_are_constant():
    space = FakeSpace(input_blind_mlp)
    batch = Batch(random_batch(4, MLP_SHAPE, 2).inputs, torch.tensor([0, 0, 1, 1]))
    ctx = make_context(space, input_shape=MLP_SHAPE, num_classes=2, batch=batch)
    assert math.isnan(EpeNas().score(ctx)), "zero Jacobian rows: correlation undefined"


def test_epe_nas_builds_the_official_nb201_network_by_default():
    from harness.plugins.spaces.nb201.space import NB201Space

    assert network_options(EpeNas(), NB201Space()) == {}  # the benchmark's own network
    assert EpeNas().needs_inputs is True


# -- Zen-score -----------------------------------------------------------------------------------
class ZenNet(nn.Module):
    """Conv3×3(3→4) → BN → ReLU → Conv3×3(4→5) → BN → ReLU = features; GAP → Linear."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 5, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(5)
        self.classifier = nn.Linear(5, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean((2, 3)))


@dataclass
class TappedSpace(FakeSpace):
    """A fake space whose ``forward_taps`` returns the model's pre-pooling feature map."""

    def forward_taps(self, model: nn.Module, inputs: torch.Tensor) -> list[torch.Tensor]:
        return [model.features(inputs)]


def conv3x3(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Cross-correlation with zero padding 1, as a sum over the 9 kernel offsets."""
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    height, width = x.shape[2:]
    out = np.zeros((x.shape[0], weight.shape[0], height, width))
    for di in range(3):
        for dj in range(3):
            patch = padded[:, :, di:di + height, dj:dj + width]
            out += np.einsum("nchw,oc->nohw", patch, weight[:, :, di, dj])
    return out + bias[None, :, None, None]


def numpy_zen(model: ZenNet, x: np.ndarray, noise: np.ndarray, alpha: float,
              norm: str) -> float:
    """log mean_n ‖f(x_n) − f(x_n + αε_n)‖ + Σ_BN log sqrt(mean_j var_j), train-mode BN."""
    params = {name: p.detach().double().numpy() for name, p in model.named_parameters()}
    log_scales: list[float] = []

    def batchnorm(h: np.ndarray, name: str, record: bool) -> np.ndarray:
        mean, var = h.mean((0, 2, 3)), h.var((0, 2, 3))
        if record:
            log_scales.append(0.5 * math.log(var.mean()))
        normalized = (h - mean[None, :, None, None]) / np.sqrt(var + 1e-5)[None, :, None, None]
        return (normalized * params[f"{name}.weight"][None, :, None, None]
                + params[f"{name}.bias"][None, :, None, None])

    def features(inputs: np.ndarray, record: bool) -> np.ndarray:
        h = conv3x3(inputs, params["conv1.weight"], params["conv1.bias"])
        h = np.maximum(batchnorm(h, "bn1", record), 0)
        h = conv3x3(h, params["conv2.weight"], params["conv2.bias"])
        return np.maximum(batchnorm(h, "bn2", record), 0)

    difference = (features(x, True) - features(x + alpha * noise, False)).reshape(len(x), -1)
    per_image = (np.linalg.norm(difference, axis=1) if norm == "fro"
                 else np.abs(difference).sum(1))
    return math.log(per_image.mean()) + sum(log_scales)


def zen_case(config: dict | None = None, seed: int = 0):
    space = TappedSpace(ZenNet)
    return make_context(space, input_shape=(3, 6, 6), num_classes=10,
                        config=config or Zen().defaults, seed=seed), space


@pytest.mark.parametrize("norm", ["fro", "l1"])
def test_zen_of_matches_numpy_forward(norm):
    ctx, space = zen_case()
    model = ctx.build_model()
    generator = torch.Generator().manual_seed(3)
    x = torch.randn((6, 3, 6, 6), generator=generator, dtype=torch.float64)
    noise = torch.randn((6, 3, 6, 6), generator=generator, dtype=torch.float64)
    value = zen_of(model, lambda inputs: space.forward_taps(model, inputs)[-1], x, noise, 0.01,
                   norm)
    expected = numpy_zen(model, x.numpy(), noise.numpy(), 0.01, norm)
    assert value == pytest.approx(expected, rel=1e-9)


def test_zen_batchnorm_term_absorbs_the_scale_of_the_layer_before_it():
    """Scaling conv1 (weight and bias) by s leaves every BN output unchanged (up to BN's eps)
    and multiplies bn1's σ̄ by s: the score moves by exactly log s — the reason for the term."""
    trial_init = {**Zen().defaults, "weight_init": "trial"}
    plain_ctx, _ = zen_case(config=trial_init)
    scaled_ctx, _ = zen_case(config=trial_init)
    build = scaled_ctx.build_model

    def scaled_build(**options):
        model = build(**options)
        with torch.no_grad():
            model.conv1.weight.mul_(7.0)
            model.conv1.bias.mul_(7.0)
        return model

    scaled_ctx.build_model = scaled_build
    difference = Zen().score(scaled_ctx) - Zen().score(plain_ctx)
    assert difference == pytest.approx(math.log(7.0), abs=1e-4)


class DeadBranchNet(ZenNet):
    """ZenNet plus a Conv-BN branch that only ever sees zeros (an NB-201 edge behind ``none``)."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__(num_classes)
        self.dead_conv = nn.Conv2d(3, 5, 3, padding=1, bias=False)
        self.dead_bn = nn.BatchNorm2d(5)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return super().features(x) + self.dead_bn(self.dead_conv(x * 0))


def test_zen_leaves_out_batchnorm_fed_only_zeros():
    """The dead branch adds zeros to f and its BN has σ̄ = 0: the score equals the same
    network's without the branch (not −inf)."""
    live, dead = ZenNet(), DeadBranchNet()
    dead.load_state_dict(live.state_dict(), strict=False)
    live, dead = live.double(), dead.double()
    generator = torch.Generator().manual_seed(5)
    x = torch.randn((4, 3, 6, 6), generator=generator, dtype=torch.float64)
    noise = torch.randn((4, 3, 6, 6), generator=generator, dtype=torch.float64)
    expected = zen_of(live, live.features, x, noise, 0.01)
    assert math.isfinite(expected)
    assert zen_of(dead, dead.features, x, noise, 0.01) == pytest.approx(expected, rel=1e-12)


def test_gaussian_init_draws_standard_normal_weights_and_resets_batchnorm():
    model = ZenNet()
    with torch.no_grad():
        model.bn1.weight.fill_(3.0)
    gaussian_init(model, torch.Generator().manual_seed(0))
    assert torch.all(model.bn1.weight == 1) and torch.all(model.bn1.bias == 0)
    assert torch.all(model.conv1.bias == 0) and torch.all(model.classifier.bias == 0)
    weights = torch.cat([model.conv1.weight.flatten(), model.conv2.weight.flatten()]).detach()
    assert abs(float(weights.std()) - 1.0) < 0.15, "N(0, 1), not the framework's fan-in scale"


def test_zen_is_deterministic_and_reinitializes_unless_told_not_to():
    gaussian = Zen().score(zen_case()[0])
    assert Zen().score(zen_case()[0]) == gaussian, "same trial seed, same score"
    trial_init = Zen().score(zen_case(config={**Zen().defaults, "weight_init": "trial"})[0])
    assert trial_init != pytest.approx(gaussian, rel=1e-3)
    assert Zen().needs_inputs is False


def test_zen_skips_a_space_without_forward_taps():
    ctx = make_context(FakeSpace(ZenNet), input_shape=(3, 6, 6), num_classes=10,
                       config=Zen().defaults)
    with pytest.raises(ScorerSkipped, match="forward_taps"):
        Zen().score(ctx)


def test_zen_rejects_an_unknown_norm():
    ctx, _ = zen_case(config={**Zen().defaults, "norm": "max"})
    with pytest.raises(ConfigError, match="norm"):
        Zen().score(ctx)


@pytest.mark.parametrize("scorer", [EpeNas(), Zen()], ids=lambda scorer: scorer.name)
def test_on_nb201_through_the_space(scorer):
    """The real space at C 8, one cell per stage: finite, and the same twice (Zen reads the
    deepest tap, the last cell's output)."""
    from harness.plugins.spaces.nb201.space import NB201Space

    arch = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    config = {**scorer.defaults, "batch_size": 8}

    def run() -> float:
        batch = random_batch(8, (3, 32, 32), 2, dtype=torch.float32)
        ctx = make_context(NB201Space(), input_shape=(3, 32, 32), num_classes=10, batch=batch,
                           arch_id=arch, config=config, dtype=torch.float32,
                           builder_options={"C": 8, "N": 1})
        return scorer.score(ctx)

    value = run()
    assert math.isfinite(value)
    assert run() == value
