"""Zero-cost proxies: exact values on hand-built networks against independent float64
computations (numpy closed forms or autograd written differently), invariances, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scorer_helpers import (
    MLP,
    BatchnormSpace,
    FakeSpace,
    MLPReference,
    TinyConv,
    make_context,
    random_batch,
)
from torch import nn

from harness.errors import ConfigError, ScorerSkipped
from harness.plugins.scorers.fisher import Fisher
from harness.plugins.scorers.grad_norm import GradNorm
from harness.plugins.scorers.grasp import Grasp
from harness.plugins.scorers.jacob_cov import JacobCov
from harness.plugins.scorers.l2_norm import L2Norm
from harness.plugins.scorers.plain import Plain
from harness.plugins.scorers.snip import Snip
from harness.plugins.scorers.synflow import Synflow

MLP_SHAPE = (3, 2, 2)  # flattens to the MLP's 12 inputs
CLASSES = 3
REL = 1e-6


def mlp_case(count: int = 8, config: dict | None = None, factory=MLP):
    space = FakeSpace(factory)
    batch = random_batch(count, MLP_SHAPE, CLASSES)
    ctx = make_context(space, input_shape=MLP_SHAPE, num_classes=CLASSES, batch=batch,
                       config=config)
    return ctx, MLPReference.of(ctx.build_model(), batch)


# -- synflow -------------------------------------------------------------------------------------
def synflow_closed_form(ref: MLPReference) -> float:
    """All-ones input, |params|: h = |W1|·1 + |b1| > 0, R = Σ(|W2| h + |b2|);
    ∂R/∂W2[k, j] = h_j and ∂R/∂W1[j, i] = Σ_k |W2[k, j]| (every ReLU active)."""
    w1, w2 = np.abs(ref.w1), np.abs(ref.w2)
    hidden = w1.sum(1) + np.abs(ref.b1)
    return float((w2 * hidden[None, :]).sum() + (w1 * w2.sum(0)[:, None]).sum())


def test_synflow_matches_closed_form_on_mlp():
    ctx, ref = mlp_case()
    expected = synflow_closed_form(ref)
    assert Synflow().score(ctx) == pytest.approx(expected, rel=1e-12), "float64 closed form"


def test_synflow_ignores_the_data():
    ctx, _ = mlp_case()
    with_batch = Synflow().score(ctx)
    ctx.batch = None
    assert Synflow().needs_inputs is False
    assert Synflow().score(ctx) == with_batch, "synflow uses an all-ones input, never the batch"


def test_synflow_generic_fallback_removes_batchnorm():
    """A builder without a ``batchnorm`` option: every BN forward becomes the identity, so the
    value equals the closed form of the same MLP without BN (same weights: BN init is fixed)."""
    space = FakeSpace(lambda num_classes: MLP(num_classes=num_classes, batchnorm=True))
    ctx = make_context(space, input_shape=MLP_SHAPE, num_classes=CLASSES)
    _, ref = mlp_case()
    assert Synflow().score(ctx) == pytest.approx(synflow_closed_form(ref), rel=1e-12)


def test_synflow_uses_the_builders_batchnorm_option():
    space = BatchnormSpace(lambda num_classes, batchnorm: MLP(num_classes=num_classes,
                                                              batchnorm=batchnorm))
    ctx = make_context(space, input_shape=MLP_SHAPE, num_classes=CLASSES)
    _, ref = mlp_case()
    assert Synflow().score(ctx) == pytest.approx(synflow_closed_form(ref), rel=1e-12)
    assert space.built_with[-1]["batchnorm"] is False


def test_synflow_bn_keeps_batchnorm():
    """BN in train mode over the single image's pixels changes the flow; synflow_bn builds the
    model with its BN, synflow without."""
    space = BatchnormSpace(lambda num_classes, batchnorm: TinyConv(num_classes, batchnorm))
    ctx = make_context(space, input_shape=(3, 6, 6), num_classes=10)
    with_bn = Synflow(name="synflow_bn", batchnorm=True).score(ctx)
    assert space.built_with[-1]["batchnorm"] is True
    without_bn = Synflow().score(ctx)
    assert space.built_with[-1]["batchnorm"] is False
    assert with_bn != pytest.approx(without_bn, rel=1e-3)


def deep_chain(num_classes: int, scale: float, depth: int = 8, width: int = 4) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    for index in range(depth):
        linear = nn.Linear(width, num_classes if index == depth - 1 else width, bias=False)
        nn.init.constant_(linear.weight, scale)
        layers += [linear, nn.ReLU()]
    return nn.Sequential(*layers[:-1])


@pytest.mark.parametrize("scale", [1e7, 1e38])
def test_synflow_huge_values_stay_exact_or_surface_as_inf(scale):
    """A bias-free chain is linear in each layer's weights, so Σ W ⊙ ∂R/∂W = R per layer
    (Euler) and synflow = depth · R with R = out · c^depth · d · w^(depth−1)."""
    space = FakeSpace(lambda num_classes: deep_chain(num_classes, scale))
    ctx = make_context(space, input_shape=(4, 1, 1), num_classes=4)
    log10_flow = math.log10(4 * 4 * 4**7) + 8 * math.log10(scale)
    value = Synflow().score(ctx)
    if log10_flow < 300:
        expected = 8 * 4 * 4 * 4**7 * scale**8
        assert value == pytest.approx(expected, rel=1e-12), "≈2e62 is exact in float64"
    else:
        assert not math.isfinite(value), "overflow must surface as inf/nan, not a huge number"


# -- gradient measures on the MLP ----------------------------------------------------------------
def test_snip_plain_grad_norm_match_numpy_gradients():
    ctx, ref = mlp_case()
    weights_grads = [(ref.w1, ref.grad_w1), (ref.w2, ref.grad_w2)]
    snip = sum(np.abs(w * g).sum() for w, g in weights_grads)
    plain = sum((w * g).sum() for w, g in weights_grads)
    grad_norm = sum(np.linalg.norm(g) for _, g in weights_grads)
    assert Snip().score(ctx) == pytest.approx(snip, rel=REL)
    assert Plain().score(ctx) == pytest.approx(plain, rel=REL)
    assert GradNorm().score(ctx) == pytest.approx(grad_norm, rel=REL), "sum of per-layer norms"


def test_fisher_matches_numpy_channel_saliency():
    """F_k = ½ mean_n (a·g)² per output unit, times the layer's fan-in."""
    ctx, ref = mlp_case()
    layers = [(ref.z1, ref.dz1, ref.w1.shape[1]), (ref.z2, ref.dz2, ref.w2.shape[1])]
    expected = sum((0.5 * ((a * g) ** 2).mean(0)).sum() * fan_in for a, g, fan_in in layers)
    assert Fisher().score(ctx) == pytest.approx(expected, rel=REL)


def test_grasp_matches_explicit_hessian():
    """H from torch.autograd.functional.hessian of a functional loss of the flat weights."""
    ctx, ref = mlp_case()
    x, labels = torch.from_numpy(ref.x), torch.from_numpy(ref.labels)
    b1, b2 = torch.from_numpy(ref.b1), torch.from_numpy(ref.b2)
    split = ref.w1.size

    def loss(flat: torch.Tensor) -> torch.Tensor:
        w1 = flat[:split].reshape(ref.w1.shape)
        w2 = flat[split:].reshape(ref.w2.shape)
        logits = torch.relu(x @ w1.T + b1) @ w2.T + b2
        return torch.nn.functional.cross_entropy(logits, labels)

    flat = torch.from_numpy(np.concatenate([ref.w1.ravel(), ref.w2.ravel()]))
    gradient = np.concatenate([ref.grad_w1.ravel(), ref.grad_w2.ravel()])
    hessian = torch.autograd.functional.hessian(loss, flat).numpy()
    expected = float(-(flat.numpy() * (hessian @ gradient)).sum())
    assert Grasp().score(ctx) == pytest.approx(expected, rel=REL)


def test_jacob_cov_matches_numpy_eigenvalues():
    """J_n = (1ᵀW2 ⊙ [z1_n > 0]) W1; general eigen-solver on the correlation matrix."""
    ctx, ref = mlp_case()
    jacobians = (ref.w2.sum(0)[None, :] * (ref.z1 > 0)) @ ref.w1
    eigenvalues = np.linalg.eigvals(np.corrcoef(jacobians)).real
    expected = float(-(np.log(eigenvalues + 1e-5) + 1 / (eigenvalues + 1e-5)).sum())
    assert JacobCov().score(ctx) == pytest.approx(expected, rel=REL)


def test_jacob_cov_is_nan_when_the_output_ignores_the_input():
    space = FakeSpace(lambda num_classes: nn.Sequential(nn.Flatten(), nn.Linear(12, num_classes),
                                                        ZeroInput()))
    batch = random_batch(6, MLP_SHAPE, CLASSES)
    ctx = make_context(space, input_shape=MLP_SHAPE, num_classes=CLASSES, batch=batch)
    assert math.isnan(JacobCov().score(ctx)), "constant Jacobian rows: correlation undefined"


class ZeroInput(nn.Module):
    """Multiplies its input by zero: the output no longer depends on the network input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 0 + 1


def test_l2_norm_is_the_sum_of_weight_norms():
    ctx, ref = mlp_case()
    expected = np.linalg.norm(ref.w1) + np.linalg.norm(ref.w2)
    assert L2Norm().score(ctx) == pytest.approx(expected, rel=1e-12), "biases do not count"
    assert L2Norm().needs_inputs is False


# -- conv net: fisher and snip against autograd on retained intermediates -------------------------
def conv_case(config: dict | None = None, batchnorm: bool = True):
    space = FakeSpace(lambda num_classes: TinyConv(num_classes, batchnorm=batchnorm))
    batch = random_batch(6, (3, 6, 6), 10)
    return make_context(space, input_shape=(3, 6, 6), num_classes=10, batch=batch, config=config)


def test_fisher_and_snip_on_conv_net_match_explicit_autograd():
    ctx = conv_case()
    model = ctx.build_model()
    x, labels = ctx.batch.inputs, ctx.batch.labels
    a1 = model.conv1(x)
    a2 = model.conv2(torch.relu(model.bn(a1)))
    a3 = model.classifier(torch.relu(a2).mean((2, 3)))
    loss = torch.nn.functional.cross_entropy(a3, labels)
    layers = [model.conv1, model.conv2, model.classifier]
    grads = torch.autograd.grad(loss, [a1, a2, a3, *(layer.weight for layer in layers)])
    fisher = 0.0
    for activation, grad, layer in zip([a1, a2, a3], grads[:3], layers, strict=True):
        product = (activation * grad).detach()
        per_channel = product.flatten(2).sum(2) if product.dim() == 4 else product
        fan_in = layer.weight[0].numel()
        fisher += float((0.5 * per_channel.pow(2).mean(0)).sum()) * fan_in
    snip = sum(float((layer.weight * grad).detach().abs().sum())
               for layer, grad in zip(layers, grads[3:], strict=True))
    assert Fisher().score(ctx) == pytest.approx(fisher, rel=REL)
    assert Snip().score(ctx) == pytest.approx(snip, rel=REL)


# -- split_data, skipping, determinism ----------------------------------------------------------
def test_split_data_accumulates_chunk_mean_gradients():
    """Without BN, two chunk-mean losses sum to twice the batch-mean loss: snip doubles."""
    whole, _ = mlp_case()
    halves, _ = mlp_case(config={"split_data": 2})
    assert Snip().score(halves) == pytest.approx(2 * Snip().score(whole), rel=1e-12)
    assert JacobCov().score(halves) == pytest.approx(JacobCov().score(whole), rel=1e-9), \
        "per-image Jacobians do not depend on chunking without BN"


def test_split_data_must_divide_the_batch():
    ctx, _ = mlp_case(config={"split_data": 3})
    with pytest.raises(ConfigError, match="split_data"):
        Snip().score(ctx)


ALL_ZEROCOST = [Synflow(), Synflow(name="synflow_bn", batchnorm=True), Snip(), Grasp(), Fisher(),
                GradNorm(), JacobCov(), Plain(), L2Norm()]


@pytest.mark.parametrize("scorer", ALL_ZEROCOST, ids=lambda scorer: scorer.name)
def test_skipped_without_conv_or_linear(scorer):
    if scorer.name == "jacob_cov":
        pytest.skip("jacob_cov needs only a differentiable output, no weight layers")
    space = FakeSpace(lambda num_classes: nn.Sequential(nn.Flatten(), nn.ReLU()))
    ctx = make_context(space, input_shape=MLP_SHAPE, num_classes=12,
                       batch=random_batch(4, MLP_SHAPE, 12))
    with pytest.raises(ScorerSkipped, match="Conv2d or nn.Linear"):
        scorer.score(ctx)


@pytest.mark.parametrize("scorer", ALL_ZEROCOST, ids=lambda scorer: scorer.name)
def test_deterministic_on_cpu_in_float32(scorer):
    runs = []
    for _ in range(2):
        space = FakeSpace(lambda num_classes: TinyConv(num_classes))
        batch = random_batch(6, (3, 6, 6), 10, dtype=torch.float32)
        ctx = make_context(space, input_shape=(3, 6, 6), num_classes=10, batch=batch,
                           dtype=torch.float32)
        runs.append(scorer.score(ctx))
    assert runs[0] == runs[1], "same seed and batch must give the identical float on CPU"
    assert math.isfinite(runs[0])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("scorer", ALL_ZEROCOST, ids=lambda scorer: scorer.name)
def test_cpu_and_cuda_agree(scorer):
    values = []
    for device in ("cpu", "cuda"):
        space = FakeSpace(lambda num_classes: TinyConv(num_classes))
        batch = random_batch(6, (3, 6, 6), 10)
        ctx = make_context(space, input_shape=(3, 6, 6), num_classes=10, batch=batch,
                           device=device)
        values.append(scorer.score(ctx))
    assert values[1] == pytest.approx(values[0], rel=1e-6), "float64 on both devices"


def test_entry_points_register_every_scorer_with_its_defaults(fresh_registry):
    names = set(fresh_registry.names("scorer"))
    expected = {"synflow", "synflow_bn", "snip", "grasp", "fisher", "grad_norm", "jacob_cov",
                "plain", "l2_norm", "naswot", "naswot_v1", "params", "flops"}
    assert expected <= names, f"missing: {expected - names}"
    for name in expected - {"naswot", "naswot_v1", "params", "flops"}:
        scorer = fresh_registry.get("scorer", name)
        assert scorer.defaults["batch_size"] == 64, "zero-cost NB-201 reference batch"
        assert scorer.needs_inputs is (name not in {"synflow", "synflow_bn", "l2_norm"})
    assert fresh_registry.get("scorer", "naswot").defaults["batch_size"] == 128
