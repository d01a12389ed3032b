"""ZiCo, MeCo, SWAP, GradSign and trainable_layers: exact values on hand-built networks against
independent float64 computations (numpy gradients of the MLP, functional forwards, numpy
correlation eigenvalues and pattern counts)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scorer_helpers import (
    MLP,
    FakeSpace,
    MLPReference,
    TinyConv,
    make_context,
    network_options,
    random_batch,
)
from torch import nn

from harness.errors import ConfigError, ScorerSkipped
from harness.plugins.scorers.gradsign import GradSign
from harness.plugins.scorers.meco import Meco, meco_of
from harness.plugins.scorers.swap import Swap, distinct_patterns
from harness.plugins.scorers.trainable_layers import TrainableLayers
from harness.plugins.scorers.zen import gaussian_init
from harness.plugins.scorers.zico import Zico
from harness.plugins.spaces.nb201.space import NB201Space
from harness.protocols import Batch

MLP_SHAPE = (3, 2, 2)  # flattens to the MLP's 12 inputs
CLASSES = 3


def mlp_context(count: int, config: dict, factory=MLP):
    batch = random_batch(count, MLP_SHAPE, CLASSES)
    ctx = make_context(FakeSpace(factory), input_shape=MLP_SHAPE, num_classes=CLASSES,
                       batch=batch, config=config)
    return ctx, batch


def chunk_gradients(ctx, batch: Batch, parts: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """numpy (∂L/∂W1, ∂L/∂W2) of each contiguous chunk's mean cross-entropy."""
    model = ctx.build_model()
    size = len(batch.labels) // parts
    grads = []
    for start in range(0, len(batch.labels), size):
        ref = MLPReference.of(model, Batch(batch.inputs[start:start + size],
                                           batch.labels[start:start + size]))
        grads.append((ref.grad_w1, ref.grad_w2))
    return grads


# -- zico ----------------------------------------------------------------------------------------
def numpy_zico(stacks: list[np.ndarray]) -> float:
    value = 0.0
    for stack in stacks:
        std = stack.std(axis=0)
        keep = std != 0
        ratio = (np.abs(stack).mean(axis=0)[keep] / std[keep]).sum()
        if ratio != 0:
            value += math.log(ratio)
    return value


@pytest.mark.parametrize("mode", ["cumulative", "per_batch"])
def test_zico_matches_numpy_gradient_statistics(mode):
    ctx, batch = mlp_context(12, {"batches": 3, "gradients": mode})
    per_chunk = chunk_gradients(ctx, batch, 3)
    if mode == "cumulative":  # the official code never zeroes .grad between batches
        per_chunk = [tuple(sum(g[k] for g in per_chunk[:b + 1]) for k in range(2))
                     for b in range(len(per_chunk))]
    stacks = [np.stack([g[k].ravel() for g in per_chunk]) for k in range(2)]
    assert Zico().score(ctx) == pytest.approx(numpy_zico(stacks), rel=1e-9)


def test_zico_modes_differ_and_unknown_mode_is_refused():
    ctx, _ = mlp_context(8, {"batches": 2, "gradients": "per_batch"})
    per_batch = Zico().score(ctx)
    ctx.config["gradients"] = "cumulative"
    assert Zico().score(ctx) != pytest.approx(per_batch, rel=1e-6)
    ctx.config["gradients"] = "sum"
    with pytest.raises(ConfigError, match="cumulative, per_batch"):
        Zico().score(ctx)


def test_zico_leaves_out_constant_gradients():
    """Two identical chunks give identical per-batch gradients: σ = 0 everywhere, every layer
    is left out and the score is the empty sum."""
    batch = random_batch(4, MLP_SHAPE, CLASSES)
    doubled = Batch(torch.cat([batch.inputs, batch.inputs]), torch.cat([batch.labels] * 2))
    ctx = make_context(FakeSpace(MLP), input_shape=MLP_SHAPE, num_classes=CLASSES,
                       batch=doubled, config={"batches": 2, "gradients": "per_batch"})
    assert Zico().score(ctx) == 0.0


# -- meco ----------------------------------------------------------------------------------------
def numpy_min_eigenvalue(rows: np.ndarray) -> float:
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # one value per row: undefined
        correlation = np.corrcoef(rows)
    correlation = np.nan_to_num(np.atleast_2d(correlation), nan=0.0, posinf=0.0, neginf=0.0)
    return float(np.linalg.eigvalsh(correlation)[0])


def tiny_conv_maps(model: TinyConv, image: torch.Tensor) -> list[np.ndarray]:
    """Every module output of TinyConv's forward for one image, computed with functional ops:
    conv1, bn (batch statistics over the pixels, γ = 1, β = 0), relu, conv2, relu again (the
    same module, called twice), classifier and the whole network (logits: one value per row)."""
    x = image[None].double()
    conv1 = F.conv2d(x, model.conv1.weight.double(), model.conv1.bias.double(), padding=1)
    mean = conv1.mean(dim=(0, 2, 3), keepdim=True)
    var = conv1.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
    bn = (conv1 - mean) / torch.sqrt(var + model.bn.eps)
    relu1 = bn.clamp(min=0)
    conv2 = F.conv2d(relu1, model.conv2.weight.double(), model.conv2.bias.double(), stride=2,
                     padding=1)
    relu2 = conv2.clamp(min=0)
    logits = relu2.mean((2, 3)) @ model.classifier.weight.double().T + model.classifier.bias
    maps = [conv1, bn, relu1, conv2, relu2, logits, logits]
    return [m[0].reshape(m.shape[1], -1).detach().numpy() for m in maps]


def test_meco_matches_numpy_correlation_eigenvalues():
    space = FakeSpace(lambda num_classes: TinyConv(num_classes))
    batch = random_batch(1, (3, 6, 6), 10)
    ctx = make_context(space, input_shape=(3, 6, 6), num_classes=10, batch=batch)
    expected = sum(numpy_min_eigenvalue(rows)
                   for rows in tiny_conv_maps(ctx.build_model(), batch.inputs[0]))
    assert Meco().score(ctx) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert Meco(name="meco_opt", sampled=True).score(ctx) == pytest.approx(expected, rel=1e-9,
                                                                             abs=1e-12), \
        "maps of at most 8 channels are used whole by meco_opt"


def test_meco_opt_weights_eight_sampled_rows_by_channels_over_eight():
    """16 mutually orthogonal zero-mean rows (Hadamard rows without the constant one): every
    subset's correlation matrix is the identity, λ_min = 1, so meco counts 1 and meco_opt
    16 / 8 = 2 whichever rows it draws."""
    hadamard = np.array([[1.0]])
    for _ in range(5):
        hadamard = np.block([[hadamard, hadamard], [hadamard, -hadamard]])
    rows = torch.from_numpy(hadamard[1:17])
    assert meco_of([rows]) == pytest.approx(1.0, rel=1e-12)
    assert meco_of([rows], torch.Generator().manual_seed(3)) == pytest.approx(2.0, rel=1e-12)


def test_meco_skips_token_inputs():
    tokens = Batch(torch.ones((1, 4), dtype=torch.long), torch.zeros(1, dtype=torch.long))
    ctx = make_context(FakeSpace(lambda num_classes: nn.Sequential(nn.Embedding(5, 3))),
                       input_shape=(4, 1, 1), num_classes=5, batch=tokens)
    with pytest.raises(ScorerSkipped, match="token ids"):
        Meco().score(ctx)


# -- swap ----------------------------------------------------------------------------------------
class PointwiseNet(nn.Sequential):
    """Conv1×1(3→4) → ReLU → global average → Linear(4, classes): ReLU units are 4 × H × W."""

    def __init__(self, num_classes: int) -> None:
        super().__init__(nn.Conv2d(3, 4, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(4, num_classes))


def numpy_pattern_count(model: PointwiseNet, inputs: np.ndarray) -> int:
    conv = model[0]
    weight = conv.weight.detach().double().numpy()[:, :, 0, 0]
    pre = np.einsum("oc,nchw->nohw", weight, inputs) + conv.bias.detach().double().numpy()[
        None, :, None, None]
    bits = (pre > 0).reshape(len(inputs), -1)
    return len(np.unique(bits.T, axis=0))


@pytest.mark.parametrize("regularised", [False, True])
def test_swap_counts_distinct_unit_patterns_over_gaussian_draws(regularised):
    batch = random_batch(10, (3, 3, 3), 2)
    config = {"repeats": 2, **({"mu": 0.01, "sigma": 0.001} if regularised else {})}
    ctx = make_context(FakeSpace(PointwiseNet), input_shape=(3, 3, 3), num_classes=2,
                       batch=batch, config=config)
    reference_model = ctx.build_model()
    generator = torch.Generator().manual_seed(ctx.trial_seed)
    counts = []
    for _ in range(2):
        gaussian_init(reference_model, generator)
        counts.append(numpy_pattern_count(reference_model, batch.inputs.double().numpy()))
    expected = sum(counts) / 2
    if regularised:
        parameters = 4 * 3 + 4 + 4 * 2 + 2
        expected *= math.exp(-((parameters / 1e3 - 0.01) ** 2) / 0.001)  # ≈ 0.77
    scorer = Swap(name="swap_reg", regularised=True) if regularised else Swap()
    assert min(counts) > 1, "the fixture must activate units in more than one pattern"
    assert scorer.score(ctx) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("samples", [5, 62, 63, 130])
def test_swap_packed_count_equals_numpy_unique(samples):
    generator = torch.Generator().manual_seed(samples)
    activations = torch.randn((samples, 400), generator=generator).clamp(min=0)
    activations[:, 200:] = activations[:, :200]  # half the units repeat a pattern
    activations[:, :20] = 0  # and twenty are never active
    expected = len(np.unique((activations.numpy() > 0).T, axis=0))
    assert distinct_patterns(activations) == expected


def test_swap_skips_a_network_without_relu_on_feature_maps():
    ctx, _ = mlp_context(4, {"repeats": 1})  # its ReLU sees a 2-D input
    with pytest.raises(ScorerSkipped, match="nn.ReLU"):
        Swap().score(ctx)


# -- gradsign ------------------------------------------------------------------------------------
def test_gradsign_matches_numpy_per_sample_gradient_signs():
    ctx, batch = mlp_context(6, {})
    per_sample = chunk_gradients(ctx, batch, 6)
    expected = sum(np.abs(np.sign(np.stack([g[k] for g in per_sample])).sum(axis=0)).sum()
                   for k in range(2))
    assert GradSign().score(ctx) == expected, "an integer count: exact"


# -- trainable_layers ----------------------------------------------------------------------------
def test_trainable_layers_counts_parameter_tensors():
    with_bn = make_context(FakeSpace(lambda num_classes: MLP(num_classes=num_classes,
                                                             batchnorm=True)),
                           input_shape=MLP_SHAPE, num_classes=CLASSES)
    assert TrainableLayers().score(with_bn) == 6.0, "2 Linear (weight, bias) + BN (scale, shift)"

    def frozen(num_classes: int) -> nn.Module:
        model = MLP(num_classes=num_classes)
        model[1].bias.requires_grad_(False)
        return model

    ctx = make_context(FakeSpace(frozen), input_shape=MLP_SHAPE, num_classes=CLASSES)
    assert TrainableLayers().score(ctx) == 3.0, "a frozen tensor does not count"
    assert TrainableLayers().needs_inputs is False and TrainableLayers().needs_weights is False


def nb201_trainable_layers(arch_id: str) -> float:
    """The count on the network a planned trial builds: the benchmark's, C 16, N 5."""
    space, scorer = NB201Space(), TrainableLayers()
    ctx = make_context(space, input_shape=(3, 32, 32), num_classes=10, arch_id=arch_id,
                       config=scorer.defaults, dtype=torch.float32,
                       builder_options=network_options(scorer, space))
    return scorer.score(ctx)


def test_trainable_layers_on_nb201_is_the_official_tensor_count():
    """21 + 45 per convolution edge, as len(named_parameters()) of the official TinyNetwork
    (VKDNW NB201/ZeroShotProxy/compute_vkdnw_score.py): stem conv + BN (3), two residual
    reductions (7 each), head BN (2), classifier (2); each nor_conv edge a conv and an affine BN
    in all 15 cells. A convolution on a dead branch counts too: the official network holds it."""
    assert nb201_trainable_layers("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|") == 21.0
    assert nb201_trainable_layers("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|"
                                  "+|nor_conv_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|") == 291.0
    live = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_1x1~1|none~2|"
    dead = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
    assert nb201_trainable_layers(live) == 21.0 + 2 * 45
    assert nb201_trainable_layers(dead) == 21.0 + 45, "node 1 feeds only none edges: dead"
