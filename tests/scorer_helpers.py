"""Hand-built networks, a fake space and a hand-made ScoringContext for the scorer tests,
plus numpy float64 references of the small MLP's forward and loss gradients."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from harness.protocols import Batch, ScoringContext


class MLP(nn.Sequential):
    """Flatten → Linear(d_in, hidden) → ReLU → Linear(hidden, classes); optional BatchNorm1d."""

    def __init__(self, d_in: int = 12, hidden: int = 7, num_classes: int = 3,
                 batchnorm: bool = False) -> None:
        layers: list[nn.Module] = [nn.Flatten(), nn.Linear(d_in, hidden)]
        if batchnorm:
            layers.append(nn.BatchNorm1d(hidden))
        super().__init__(*layers, nn.ReLU(), nn.Linear(hidden, num_classes))


class TinyConv(nn.Module):
    """Conv3×3(3→4) → BN → ReLU → Conv3×3/2(4→5) → ReLU → global average → Linear(5, classes)."""

    def __init__(self, num_classes: int = 10, batchnorm: bool = True) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4) if batchnorm else nn.Identity()
        self.conv2 = nn.Conv2d(4, 5, 3, stride=2, padding=1)
        self.relu = nn.ReLU()
        self.classifier = nn.Linear(5, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.relu(self.conv2(self.relu(self.bn(self.conv1(x)))))
        return self.classifier(hidden.mean((2, 3)))


@dataclass
class FakeSpace:
    """A space with one arch whose model comes from ``factory(num_classes=..., **options)``."""

    factory: Any
    name: str = "fake"

    def __post_init__(self) -> None:
        self.datasets = {"fake": "fake"}
        self.built_with: list[dict[str, Any]] = []

    def build_model(self, arch_id: str, *, num_classes: int, **options: Any) -> nn.Module:
        self.built_with.append({"num_classes": num_classes, **options})
        return self.factory(num_classes=num_classes, **options)


@dataclass
class BatchnormSpace(FakeSpace):
    """A fake space whose builder takes ``batchnorm`` explicitly (as nb201 / nb101 do)."""

    def build_model(self, arch_id: str, *, num_classes: int, batchnorm: bool = True,
                    **options: Any) -> nn.Module:
        self.built_with.append({"num_classes": num_classes, "batchnorm": batchnorm, **options})
        return self.factory(num_classes=num_classes, batchnorm=batchnorm, **options)


def make_context(space: FakeSpace, *, input_shape: tuple[int, int, int], num_classes: int,
                 batch: Batch | None = None, config: dict[str, Any] | None = None,
                 seed: int = 0, dtype: torch.dtype = torch.float64,
                 device: str = "cpu", arch_id: str = "arch",
                 builder_options: dict[str, Any] | None = None) -> ScoringContext:
    """A ScoringContext whose build_model re-seeds, so every copy has the same weights, and
    applies ``builder_options`` under the scorer's own, as a trial's does."""

    def build_model(**options: Any) -> nn.Module:
        torch.manual_seed(seed)
        options.setdefault("num_classes", num_classes)
        model = space.build_model(arch_id, **{**(builder_options or {}), **options})
        return model.to(device=device, dtype=dtype).train()

    return ScoringContext(space=space, arch_id=arch_id, dataset="fake", num_classes=num_classes,
                          input_shape=input_shape, batch=batch, config=dict(config or {}),
                          device=torch.device(device), trial_seed=seed,
                          generator=torch.Generator().manual_seed(seed), build_model=build_model,
                          builder_options=dict(builder_options or {}))


def network_options(scorer: Any, space: Any, **shrunk: Any) -> dict[str, Any]:
    """The builder options a planned trial of ``scorer`` gets in ``space`` (its network form
    there), plus ``shrunk`` (a smaller width or depth for speed)."""
    from harness.options import NETWORK_DEFAULTS
    from harness.plan import network_builder_options

    return {**network_builder_options({**NETWORK_DEFAULTS, **scorer.defaults}, space), **shrunk}


def random_batch(count: int, shape: tuple[int, ...], num_classes: int, seed: int = 1,
                 dtype: torch.dtype = torch.float64) -> Batch:
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn((count, *shape), generator=generator, dtype=dtype)
    labels = torch.randint(0, num_classes, (count,), generator=generator)
    return Batch(inputs, labels)


@dataclass
class MLPReference:
    """numpy float64 forward and cross-entropy gradients of an ``MLP`` without BN."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    x: np.ndarray
    labels: np.ndarray

    @classmethod
    def of(cls, model: MLP, batch: Batch) -> MLPReference:
        first, second = model[1], model[3]
        return cls(*(t.detach().double().numpy() for t in
                     (first.weight, first.bias, second.weight, second.bias)),
                   batch.inputs.reshape(len(batch.labels), -1).double().numpy(),
                   batch.labels.numpy())

    @property
    def z1(self) -> np.ndarray:
        return self.x @ self.w1.T + self.b1

    @property
    def h(self) -> np.ndarray:
        return np.maximum(self.z1, 0)

    @property
    def z2(self) -> np.ndarray:
        return self.h @ self.w2.T + self.b2

    @property
    def dz2(self) -> np.ndarray:
        """∂L/∂logits for L = mean cross-entropy: (softmax − one-hot) / N."""
        logits = self.z2 - self.z2.max(1, keepdims=True)
        probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        onehot = np.eye(self.w2.shape[0])[self.labels]
        return (probabilities - onehot) / len(self.labels)

    @property
    def dz1(self) -> np.ndarray:
        return (self.dz2 @ self.w2) * (self.z1 > 0)

    @property
    def grad_w2(self) -> np.ndarray:
        return self.dz2.T @ self.h

    @property
    def grad_w1(self) -> np.ndarray:
        return self.dz1.T @ self.x
