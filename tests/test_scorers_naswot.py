"""NASWOT: the v2 kernel log-determinant against a Hamming-distance computation in numpy, its
invariances and rules (which ReLUs count, singular K, skipping), and the v1 Jacobian score."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scorer_helpers import MLP, FakeSpace, MLPReference, TinyConv, make_context, random_batch
from torch import nn

from harness.errors import ScorerSkipped
from harness.plugins.scorers.naswot import Naswot, NaswotV1
from harness.protocols import Batch

SHAPE = (3, 2, 2)


def mlp_context(batch: Batch, hidden: int = 40, factory=None):
    space = FakeSpace(factory or (lambda num_classes: MLP(hidden=hidden, num_classes=num_classes)))
    return make_context(space, input_shape=SHAPE, num_classes=10, batch=batch), space


def hamming_logdet(codes: np.ndarray) -> float:
    """K = units − Hamming(c_i, c_j), log|det K| in numpy float64."""
    hamming = (codes[:, None, :] != codes[None, :, :]).sum(2)
    _, logdet = np.linalg.slogdet(codes.shape[1] - hamming.astype(np.float64))
    return float(logdet)


def test_naswot_matches_hamming_kernel_on_mlp():
    batch = random_batch(8, SHAPE, 10)
    ctx, space = mlp_context(batch)
    ref = MLPReference.of(ctx.build_model(num_classes=1), batch)
    expected = hamming_logdet(ref.z1 > 0)
    score = Naswot().score(ctx)
    assert math.isfinite(expected)
    assert score == pytest.approx(expected, rel=1e-9)
    assert space.built_with[0]["num_classes"] == 1, "NASWOT builds a one-output network"


def test_naswot_is_unchanged_by_permuting_the_batch():
    batch = random_batch(8, SHAPE, 10)
    order = torch.randperm(8, generator=torch.Generator().manual_seed(3))
    permuted = Batch(batch.inputs[order], batch.labels[order])
    assert Naswot().score(mlp_context(permuted)[0]) == pytest.approx(
        Naswot().score(mlp_context(batch)[0]), rel=1e-12), "K is permuted, |det K| is not"


class SideBranch(nn.Module):
    """An MLP plus a ReLU branch whose output is discarded: not reached by backward."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.mlp = MLP(hidden=40, num_classes=num_classes)
        self.side = nn.Sequential(nn.Flatten(), nn.Linear(12, 30), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.side(x)
        return self.mlp(x)


class SharedActivation(nn.Module):
    """One ReLU module called twice on the same tensor: counted twice (reference behaviour)."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.flatten, self.linear = nn.Flatten(), nn.Linear(12, 40)
        self.relu, self.head = nn.ReLU(), nn.Linear(40, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.linear(self.flatten(x))
        return self.head(self.relu(z) + self.relu(z))


def test_only_relus_reached_by_backward_count():
    batch = random_batch(8, SHAPE, 10)
    ctx, _ = mlp_context(batch, factory=SideBranch)
    model = ctx.build_model(num_classes=1)
    ref = MLPReference.of(model.mlp, batch)
    assert Naswot().score(ctx) == pytest.approx(hamming_logdet(ref.z1 > 0), rel=1e-9)


def test_a_relu_called_twice_counts_twice():
    batch = random_batch(8, SHAPE, 10)
    ctx, _ = mlp_context(batch, factory=SharedActivation)
    model = ctx.build_model(num_classes=1)
    codes = (model.linear(batch.inputs.flatten(1)) > 0).detach().numpy()
    assert Naswot().score(ctx) == pytest.approx(hamming_logdet(np.hstack([codes, codes])),
                                                rel=1e-9)


def test_singular_kernel_gives_minus_infinity():
    batch = random_batch(8, SHAPE, 10)
    duplicated = Batch(torch.cat([batch.inputs[:4], batch.inputs[:4]]), batch.labels)
    assert Naswot().score(mlp_context(duplicated)[0]) == -math.inf, \
        "two identical images give two equal rows of K: singular, scored worst"


def test_model_without_relu_is_skipped():
    batch = random_batch(8, SHAPE, 10)
    ctx, _ = mlp_context(batch, factory=lambda num_classes: nn.Sequential(
        nn.Flatten(), nn.Linear(12, num_classes)))
    with pytest.raises(ScorerSkipped, match="ReLU"):
        Naswot().score(ctx)


def test_naswot_v1_matches_numpy_jacobian_score():
    batch = random_batch(8, SHAPE, 10)
    ctx, _ = mlp_context(batch, hidden=7)
    ref = MLPReference.of(ctx.build_model(num_classes=1), batch)
    jacobians = (ref.w2.sum(0)[None, :] * (ref.z1 > 0)) @ ref.w1
    eigenvalues = np.linalg.eigvals(np.corrcoef(jacobians)).real
    expected = float(-(np.log(eigenvalues + 1e-5) + 1 / (eigenvalues + 1e-5)).sum())
    assert NaswotV1().score(ctx) == pytest.approx(expected, rel=1e-6)


def test_defaults_reproduce_the_reference_setup():
    assert Naswot().defaults["batch_size"] == 128
    assert NaswotV1().defaults["batch_size"] == 256
    assert Naswot().defaults["inputs"]["augment"] is False
    assert Naswot().defaults["inputs"]["normalization"] == "naswot"


@pytest.mark.parametrize("scorer", [Naswot(), NaswotV1()], ids=lambda scorer: scorer.name)
def test_deterministic_with_batchnorm_in_float32(scorer):
    values = []
    for _ in range(2):
        space = FakeSpace(lambda num_classes: TinyConv(num_classes))
        batch = random_batch(6, (3, 6, 6), 10, dtype=torch.float32)
        ctx = make_context(space, input_shape=(3, 6, 6), num_classes=10, batch=batch,
                           dtype=torch.float32)
        values.append(scorer.score(ctx))
    assert values[0] == values[1]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("scorer", [Naswot(), NaswotV1()], ids=lambda scorer: scorer.name)
def test_cpu_and_cuda_agree(scorer):
    values = []
    for device in ("cpu", "cuda"):
        space = FakeSpace(lambda num_classes: TinyConv(num_classes))
        ctx = make_context(space, input_shape=(3, 6, 6), num_classes=10,
                           batch=random_batch(6, (3, 6, 6), 10), device=device)
        values.append(scorer.score(ctx))
    assert values[1] == pytest.approx(values[0], rel=1e-6)
