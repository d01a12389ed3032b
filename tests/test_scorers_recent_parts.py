"""Exact values of the AZ-NAS, TE-NAS and VKDNW parts on small networks, against numpy float64."""

from __future__ import annotations

import math

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
from harness.plugins.aggregates.named import AGGREGATES
from harness.plugins.scorers import az_nas
from harness.plugins.scorers.az_nas import AzScore, az_nas_parts, entropy_scores, trainability
from harness.plugins.scorers.kaiming import kaiming_fan_in, reinitialize
from harness.plugins.scorers.te_nas import LinearRegions, NtkCondition
from harness.plugins.scorers.vkdnw import Vkdnw, first_element_jacobians, fisher_information
from harness.plugins.spaces.nb201.space import NB201Space


def numpy_entropy(feature: np.ndarray) -> float:
    rows = feature.transpose(0, 2, 3, 1).reshape(-1, feature.shape[1])
    rows = rows - rows.mean(0)
    eigenvalues = np.linalg.eigvalsh(rows.T @ rows / len(rows))
    p = eigenvalues / eigenvalues.sum()
    return float(-(p * np.log(p + 1e-8)).sum())


def test_az_scores_match_numpy_on_a_strided_linear_tap():
    generator = torch.Generator().manual_seed(3)
    first = torch.randn(4, 3, 4, 4, generator=generator, dtype=torch.float64,
                        requires_grad=True)
    weight = torch.randn(5, 3, 2, 2, generator=generator, dtype=torch.float64)
    second = nn.functional.conv2d(first, weight, stride=2)
    signs = (torch.randint(0, 2, second.shape, generator=torch.Generator().manual_seed(9))
             * 2 - 1).double().numpy()
    scores = {**entropy_scores([first, second]),
              "trainability": trainability([first, second], torch.Generator().manual_seed(9))}

    x, w = first.detach().numpy(), weight.numpy()
    entropies = [numpy_entropy(x), numpy_entropy(second.detach().numpy())]
    # g_in = convᵀ(signs), then pixel-unshuffled: channel c·4 + 2·di + dj at (i, j).
    g_in = np.einsum("oc...,bo...->bc...", w[..., None, None].transpose(0, 1, 4, 5, 2, 3),
                     signs[:, :, :, :, None, None])  # (b, c, i, j, di, dj)
    g_in = g_in.transpose(0, 1, 4, 5, 2, 3).reshape(4, 12, 2, 2)
    rows_in = g_in.transpose(0, 2, 3, 1).reshape(-1, 12)
    rows_out = signs.transpose(0, 2, 3, 1).reshape(-1, 5)
    sigma = np.linalg.svd(rows_in.T @ rows_out / len(rows_out), compute_uv=False).max()
    assert scores["expressivity"] == pytest.approx(sum(entropies), rel=1e-12)
    assert scores["progressivity"] == pytest.approx(entropies[1] - entropies[0], rel=1e-12)
    assert scores["trainability"] == pytest.approx(2 - sigma - 1 / (sigma + 1e-6), rel=1e-12)


def test_az_progressivity_is_the_smallest_gain_and_an_identity_map_is_untrainable():
    generator = torch.Generator().manual_seed(0)
    first = torch.randn(3, 4, 3, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    second = torch.relu(first) * 2.0
    third = second * 1.0  # an identity map: g_in equals g_out exactly
    scores = {**entropy_scores([first, second, third]),
              "trainability": trainability([first, second, third], generator)}
    entropies = [numpy_entropy(t.detach().numpy()) for t in (first, second, third)]
    assert scores["progressivity"] == pytest.approx(min(np.diff(entropies)), rel=1e-12)
    assert scores["trainability"] == -math.inf, "the official code scores an identity map −inf"


def test_az_trainability_of_a_tap_the_next_does_not_read_is_a_zero_map():
    """Cell networks read the two states before a cell: a cell built on the older one only
    leaves the tap before it out of its graph; its gradient map is zero, so σ = 0."""
    generator = torch.Generator().manual_seed(0)
    older = torch.randn(3, 4, 3, 3, generator=generator, dtype=torch.float64, requires_grad=True)
    newer = torch.relu(older) * 2.0
    built_on_older = older * 3.0 - 1.0
    assert trainability([newer, built_on_older], generator) == 2.0 - 0.0 - 1.0 / 1e-6


def plan_parts(aggregate: str) -> tuple[str, ...]:
    return next(a.parts for a in AGGREGATES if a.name == aggregate)


class TappedMLPSpace(FakeSpace):
    """A fake space whose taps are the two hidden pre-activations of a small conv net."""

    def forward_taps(self, model: nn.Module, inputs: torch.Tensor) -> list[torch.Tensor]:
        first = model[0](inputs)
        return [first, model[2](model[1](first))]


def conv_stack(num_classes: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, stride=2),
                         nn.Flatten(), nn.LazyLinear(num_classes))


def test_az_scorer_reads_a_gaussian_batch_from_the_trial_generator():
    space = TappedMLPSpace(conv_stack)

    def context():
        return make_context(space, input_shape=(3, 6, 6), num_classes=2,
                            config={"batch_size": 5, "weight_init": "trial"})

    generator = torch.Generator().manual_seed(0)  # the trial generator: inputs, then signs
    inputs = torch.randn((5, 3, 6, 6), generator=generator, dtype=torch.float64)
    features = space.forward_taps(context().build_model(), inputs)
    expected = {**entropy_scores(features), "trainability": trainability(features, generator)}
    for part in ("expressivity", "progressivity", "trainability"):
        assert AzScore(part).score(context()) == pytest.approx(expected[part], rel=1e-12)


class CountingTappedSpace(TappedMLPSpace):
    """Counts the forward passes the AZ-NAS parts run."""

    passes = 0

    def forward_taps(self, model: nn.Module, inputs: torch.Tensor) -> list[torch.Tensor]:
        self.passes += 1
        return super().forward_taps(model, inputs)


@pytest.mark.parametrize("order", [("trainability", "expressivity", "progressivity"),
                                   ("expressivity", "progressivity", "trainability")])
def test_az_parts_of_one_arch_share_a_pass_and_score_as_alone(order):
    """Trainability's pass gives the entropies too, so the aggregate's order costs one pass;
    the other order two. Every value equals that part scored on its own."""
    space = CountingTappedSpace(conv_stack)

    def context(seed=0, batch_size=5):
        return make_context(space, input_shape=(3, 6, 6), num_classes=2, seed=seed,
                            config={"batch_size": batch_size, "weight_init": "trial"})

    alone = {}
    for part in order:
        az_nas._LAST_PASS.remember("", {}, "")
        alone[part] = AzScore(part).score(context())
    az_nas._LAST_PASS.remember("", {}, "")
    space.passes = 0
    shared = {part: AzScore(part).score(context()) for part in order}
    assert shared == alone
    assert space.passes == (1 if order[0] == "trainability" else 2)
    AzScore(order[1]).score(context())  # a part asked again (a repeat) runs its own pass
    AzScore(order[1]).score(context(seed=1))  # other weights and batch: a pass of its own
    AzScore(order[1]).score(context(batch_size=6))
    assert space.passes == (4 if order[0] == "trainability" else 5)
    assert [p for p in plan_parts("az_nas") if p != "az_complexity"][0] == "az_trainability"


def test_az_parts_are_named_as_the_aggregation_expects_and_skip_untapped_spaces():
    assert [s.name for s in az_nas_parts()] == ["az_expressivity", "az_progressivity",
                                                "az_trainability", "az_complexity"]
    ctx = make_context(FakeSpace(MLP), input_shape=(3, 2, 2), num_classes=3,
                       config={"batch_size": 4})
    with pytest.raises(ScorerSkipped, match="forward_taps"):
        AzScore("expressivity").score(ctx)


def test_kaiming_fan_in_draws_the_official_scale_and_resets_batchnorm():
    model = nn.Sequential(nn.Conv2d(8, 64, 3), nn.BatchNorm2d(64), nn.Linear(50, 40))
    with torch.no_grad():
        model[1].weight.fill_(3.0)
    kaiming_fan_in(model, torch.Generator().manual_seed(0))
    assert model[0].weight.std().item() == pytest.approx(math.sqrt(2 / 72), rel=0.05)
    assert model[2].weight.std().item() == pytest.approx(math.sqrt(2 / 50), rel=0.05)
    assert torch.all(model[0].bias == 0) and torch.all(model[1].weight == 1)
    with pytest.raises(ConfigError, match="weight_init"):
        reinitialize(model, "xavier", torch.Generator())


def test_ntk_cond_is_minus_the_condition_number_of_numpy_per_image_weight_gradients():
    batch = random_batch(6, (3, 2, 2), num_classes=3)
    ctx = make_context(FakeSpace(MLP), input_shape=(3, 2, 2), num_classes=3, batch=batch)
    ref = MLPReference.of(ctx.build_model(), batch)
    # ∂Σ_c logits / ∂W2 = 1 ⊗ h; ∂/∂W1 = ((Σ_c W2[c]) ⊙ 1[z1 > 0]) ⊗ x; biases are left out.
    back = ref.w2.sum(0) * (ref.z1 > 0)
    rows = [np.concatenate([np.outer(back[n], ref.x[n]).ravel(),
                            np.tile(ref.h[n], ref.w2.shape[0])]) for n in range(6)]
    grads = np.array(rows)
    eigenvalues = np.linalg.eigvalsh(grads @ grads.T)
    assert NtkCondition().score(ctx) == pytest.approx(-eigenvalues[-1] / eigenvalues[0],
                                                      rel=1e-6)


def test_ntk_cond_counts_a_nan_condition_as_1e5():
    def dead(num_classes: int) -> nn.Module:
        model = MLP(num_classes=num_classes)
        for parameter in model.parameters():
            nn.init.zeros_(parameter)
        return model

    ctx = make_context(FakeSpace(dead), input_shape=(3, 2, 2), num_classes=3,
                       batch=random_batch(4, (3, 2, 2), num_classes=3))
    assert NtkCondition().score(ctx) == -1e5, "0/0 is the official port's nan_to_num value"


class PatternNet(nn.Module):
    """Conv(3→2) → ReLU on a 4-D map, then a ReLU on the 2-D pooled features (not counted)."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1)
        self.relu = nn.ReLU()
        self.flat_relu = nn.ReLU()
        self.classifier = nn.Linear(2, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.flat_relu(self.relu(self.conv(x)).mean((2, 3))))


def test_linear_regions_counts_distinct_patterns_of_4d_relus_like_numpy():
    ctx = make_context(FakeSpace(PatternNet), input_shape=(3, 2, 1), num_classes=2,
                       config={"batch_size": 40})
    model = ctx.build_model()
    inputs = torch.randn((40, 3, 2, 1), generator=torch.Generator().manual_seed(0),
                         dtype=torch.float64).numpy()
    w = model.conv.weight.detach().numpy()[:, :, 0, 0]
    pre = np.einsum("oc,bchw->bohw", w, inputs) + model.conv.bias.detach().numpy()[:, None, None]
    expected = len(np.unique((pre > 0).reshape(40, -1), axis=0))
    assert 1 < expected < 40, "the fixture must have repeated patterns to count"
    assert LinearRegions().score(ctx) == expected


def test_linear_regions_skips_a_model_without_relus_on_feature_maps():
    ctx = make_context(FakeSpace(MLP), input_shape=(3, 2, 2), num_classes=3,
                       config={"batch_size": 4})
    with pytest.raises(ScorerSkipped, match="nn.ReLU"):
        LinearRegions().score(ctx)


def numpy_factor(p: np.ndarray) -> np.ndarray:
    """The official code's lower-triangular factor of diag p − p pᵀ, entry by entry."""
    classes = len(p)
    tail = [p[k + 1:].sum() for k in range(classes)]
    d = [np.sqrt(p[k] * tail[k] / (tail[k - 1] if k else 1.0)) for k in range(classes)]
    factor = np.zeros((classes, classes))
    for i in range(classes):
        factor[i, i] = d[i]
        for j in range(i):
            factor[i, j] = -p[i] * d[j] / tail[j]
    return factor


def numpy_vkdnw(ref: MLPReference, form: str = "paper") -> float:
    """Fisher of (W1[0,0], b1[0], W2[0,0], b2[0]) for the MLP, then the decile entropy."""
    classes = ref.w2.shape[0]
    active = (ref.z1[:, 0] > 0).astype(float)
    fisher = np.zeros((4, 4))
    for n in range(len(ref.x)):
        unit = np.eye(classes)[0]
        jac = np.stack([ref.w2[:, 0] * active[n] * ref.x[n, 0], ref.w2[:, 0] * active[n],
                        unit * ref.h[n, 0], unit], axis=1)
        logits = ref.z2[n] - ref.z2[n].max()
        p = np.exp(logits) / np.exp(logits).sum() * 0.95 + 0.05 / classes
        covariance = np.diag(p) - np.outer(p, p)
        factor = numpy_factor(p)
        np.testing.assert_allclose(factor @ factor.T, covariance, atol=1e-12)
        middle = covariance if form == "paper" else factor.T @ factor
        fisher += jac.T @ middle @ jac / len(ref.x)
    deciles = np.quantile(np.linalg.eigvalsh(fisher), np.arange(1, 10) / 10)
    normalized = deciles / (deciles.sum() + 1e-10)
    return float(-(normalized * np.log(normalized + 1e-10)).sum())


@pytest.mark.parametrize("form", ["paper", "official"])
def test_vkdnw_is_the_decile_entropy_of_the_numpy_fisher_of_first_elements(form):
    ctx = make_context(FakeSpace(MLP), input_shape=(3, 2, 2), num_classes=3,
                       config={"batch_size": 7, "weight_init": "trial", "fisher": form})
    model = ctx.build_model()
    inputs = torch.randn((7, 3, 2, 2), generator=torch.Generator().manual_seed(0),
                         dtype=torch.float64)
    ref = MLPReference.of(model, random_batch(7, (3, 2, 2), 3))
    ref.x = inputs.reshape(7, -1).numpy()
    assert Vkdnw().score(ctx) == pytest.approx(numpy_vkdnw(ref, form), rel=1e-9)


def sample_by_sample_jacobians(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """(N, C, P) by brute force: one sample and one logit at a time, the full gradient of every
    parameter tensor, then its first element."""
    parameters = list(dict(model.named_parameters()).values())
    rows = []
    for sample in inputs:
        logits = model(sample.unsqueeze(0))[0]
        rows.append(torch.stack([
            torch.stack([grad.reshape(-1)[0] for grad in torch.autograd.grad(
                logit, parameters, retain_graph=True)]) for logit in logits]))
    return torch.stack(rows)


class ScaledBlock(nn.Module):
    """A module with a parameter of its own around a child with parameters, and a second child
    that shares the first one's weight: the cases a per-module derivative must get right.
    ``outside_use`` also reads that weight in this module's own forward, which it cannot see."""

    def __init__(self, outside_use: bool = False) -> None:
        super().__init__()
        self.outside_use = outside_use
        self.scale = nn.Parameter(torch.tensor([1.5, -0.5, 2.0]))
        self.inner = nn.Linear(12, 3)
        self.twin = nn.Linear(12, 3, bias=False)
        self.twin.weight = self.inner.weight
        self.head = nn.Linear(3, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = torch.tanh(self.inner(x.flatten(1)) * self.scale) + self.twin(x.flatten(1))
        if self.outside_use:
            hidden = hidden * self.inner.weight[:, 0]
        return self.head(hidden)


@pytest.mark.parametrize("network", ["nb201", "nb201_more_classes_than_features",
                                     "scaled_block"])
def test_vkdnw_jacobians_equal_a_sample_by_sample_autograd_loop(network):
    """Fewer classes than the classifier's 16 features: one reverse pass per class; more: one
    per feature (the ``scaled_block`` head, 3 features and 4 classes, too)."""
    torch.manual_seed(0)
    if network.startswith("nb201"):
        arch = ("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|"
                "+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|")
        classes = 5 if network == "nb201" else 40
        model = NB201Space().build_model(arch, num_classes=classes, C=4, N=1)
    else:
        model = ScaledBlock()
    model = model.double().eval()
    reinitialize(model, "kaiming", torch.Generator().manual_seed(1))
    inputs = torch.randn(6, 3, 2, 2) if network == "scaled_block" else torch.randn(6, 3, 8, 8)
    expected = sample_by_sample_jacobians(model, inputs.double())
    assert first_element_jacobians(model, inputs.double()) == pytest.approx(expected, abs=1e-12)


def test_vkdnw_skips_a_parameter_used_outside_its_module_naming_it():
    torch.manual_seed(0)
    model = ScaledBlock(outside_use=True).double().eval()
    with pytest.raises(ScorerSkipped, match="inner.weight"):
        first_element_jacobians(model, torch.randn(3, 3, 2, 2, dtype=torch.float64))


class TupleLinear(nn.Linear):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return super().forward(x), x


def test_vkdnw_skips_a_module_with_parameters_that_returns_a_tuple():
    model = nn.Sequential(nn.Flatten(), TupleLinear(12, 3))
    with pytest.raises(ScorerSkipped, match="TupleLinear returns tuple"):
        first_element_jacobians(model, torch.randn(2, 3, 2, 2))


def test_vkdnw_official_and_paper_fisher_differ_and_unknown_forms_are_refused():
    jacobians = torch.randn(5, 4, 6, generator=torch.Generator().manual_seed(0))
    logits = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
    paper = fisher_information(jacobians, logits, "paper")
    official = fisher_information(jacobians, logits, "official")
    assert not torch.allclose(paper, official), "Lᵀ L is not L Lᵀ for a triangular L"
    with pytest.raises(ConfigError, match="fisher"):
        fisher_information(jacobians, logits, "cholesky")


@pytest.mark.parametrize("scorer", [*az_nas_parts(), NtkCondition(), LinearRegions(), Vkdnw()],
                         ids=lambda scorer: scorer.name)
def test_each_part_scores_a_small_nb201_network_of_its_form_finitely(scorer):
    space = NB201Space()
    arch = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    ctx = make_context(space, input_shape=(3, 8, 8), num_classes=10, arch_id=arch,
                       dtype=torch.float32, batch=random_batch(8, (3, 8, 8), 10,
                                                               dtype=torch.float32),
                       config={**scorer.defaults, "batch_size": 8},
                       builder_options=network_options(scorer, space, C=4, N=1))
    value = scorer.score(ctx)
    assert math.isfinite(value), f"{scorer.name} gave {value} on a plain NB-201 cell"


def test_nb201_az_nas_form_taps_the_stem_and_every_block():
    space = NB201Space()
    arch = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    options = network_options(AzScore("expressivity"), space, C=4, N=2)
    assert options == {"taps": "blocks", "C": 4, "N": 2}
    torch.manual_seed(0)
    blocks = space.build_model(arch, num_classes=10, **options).eval()
    torch.manual_seed(0)
    stages = space.build_model(arch, num_classes=10, C=4, N=2).eval()
    inputs = torch.randn(2, 3, 8, 8)
    block_taps, stage_taps = space.forward_taps(blocks, inputs), space.forward_taps(stages, inputs)
    assert [tuple(t.shape[1:]) for t in block_taps] == [(4, 8, 8)] * 3 + [(8, 4, 4)] * 3 + [
        (16, 2, 2)] * 3, "stem, 2 cells, reduction + 2 cells, reduction + 2 cells"
    for block_index, stage_tap in zip((2, 5, 8), stage_taps, strict=True):
        assert torch.equal(block_taps[block_index], stage_tap)
    assert torch.equal(blocks(inputs), stages(inputs)), "the taps option changes no output"


class LanguageSpace(FakeSpace):
    """A fake space that declares its models language models (``ExampleLossSpace``)."""

    undefined_proxies: dict[str, str] = {}

    def example_loss(self, model, batch):
        raise AssertionError("not called")

    def constant_input(self, dtype, device):
        raise AssertionError("not called")


@pytest.mark.parametrize("scorer", [AzScore("expressivity"), NtkCondition(), LinearRegions(),
                                    Vkdnw()], ids=lambda scorer: scorer.name)
def test_parts_skip_spaces_whose_models_are_not_image_classifiers(scorer):
    ctx = make_context(LanguageSpace(MLP), input_shape=(3, 2, 2), num_classes=3,
                       batch=random_batch(4, (3, 2, 2), 3), config={"batch_size": 4})
    with pytest.raises(ScorerSkipped, match="image classifiers"):
        scorer.score(ctx)
