"""econas / econas-plus: the reduced-training baseline on digits, its refusals, and the shared
training loop's augmentation and per-epoch cosine schedule."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from scorer_helpers import MLP, FakeSpace, make_context, network_options, random_batch

from harness.errors import ConfigError, DatasetError, ScorerSkipped
from harness.groundtruth.train_benchmark import (
    COSINE_PER_EPOCH,
    Recipe,
    random_crop_flip,
    training_epochs,
)
from harness.plugins.scorers.econas import EcoNAS
from harness.protocols import Batch
from harness.registry import get_registry

CONV_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|" \
            "nor_conv_3x3~2|"
EMPTY_CELL = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


@dataclass
class WidthSpace(FakeSpace):
    """A fake space whose builder takes a width: an MLP on r × r images with ``hidden`` units."""

    resolution: int = 4

    def builder_options(self, width: int | None, cells: int | None) -> dict[str, Any]:
        return {"hidden": width}

    def build_model(self, arch_id: str, *, num_classes: int, **options: Any) -> torch.nn.Module:
        self.built_with.append({"num_classes": num_classes, **options})
        return MLP(d_in=3 * self.resolution ** 2, hidden=options["hidden"],
                   num_classes=num_classes)


def mlp_context(count: int = 40, **config: Any):
    space = WidthSpace(MLP)
    batch = random_batch(count, (3, 8, 8), 3, dtype=torch.float64)
    batch = Batch(batch.inputs.sigmoid(), batch.labels)  # pixels in [0, 1]
    options = {**EcoNAS().defaults, "resolution": 4, "init_channels": 5, "min_images": 10,
               "epochs": 2, "read_epoch": 1, "train_batch_size": 8, **config}
    return make_context(space, input_shape=(3, 8, 8), num_classes=3, batch=batch,
                        config=options), space


def test_untrained_score_is_the_accuracy_on_the_held_out_resized_normalized_images():
    """learning_rate 0: the score is the initial network's accuracy on the last 20 % of the
    batch, resized (antialiased bilinear) and normalized with the first 80 %'s channel stats."""
    ctx, space = mlp_context(learning_rate=0.0, weight_decay=0.0)
    value = EcoNAS().score(ctx)
    assert space.built_with[-1]["hidden"] == 5, "init_channels goes through builder_options"
    inputs, labels = ctx.batch.inputs, ctx.batch.labels
    train, held_out = inputs[:32], inputs[32:]
    mean, std = train.mean((0, 2, 3), keepdim=True), train.std((0, 2, 3), keepdim=True)
    resized = F.interpolate(held_out, size=(4, 4), mode="bilinear", antialias=True)
    model = ctx.build_model(hidden=5).eval()
    predicted = model((resized - mean) / std).argmax(1)
    assert value == pytest.approx(float((predicted == labels[32:]).double().mean()) * 100)


def test_score_is_deterministic_and_training_changes_it():
    first = EcoNAS().score(mlp_context()[0])
    assert EcoNAS().score(mlp_context()[0]) == first, "same trial seed, same score"
    untrained = EcoNAS().score(mlp_context(learning_rate=0.0)[0])
    trained = [EcoNAS().score(mlp_context(read_epoch=epoch, learning_rate=0.5)[0])
               for epoch in (1, 2)]
    assert len({untrained, *trained}) > 1, "training must move the validation accuracy"


def test_refuses_a_handful_of_images():
    ctx, _ = mlp_context(count=20, min_images=1000)
    with pytest.raises(DatasetError, match="got 20 fake images"):
        EcoNAS().score(ctx)


@pytest.mark.parametrize(("config", "message"), [
    ({"read_epoch": 3}, "after the last epoch"),
    ({"validation_fraction": 0.001}, "no training or no validation"),
])
def test_rejects_inconsistent_options(config, message):
    ctx, _ = mlp_context(**config)
    with pytest.raises(ConfigError, match=message):
        EcoNAS().score(ctx)


def test_skips_a_space_without_a_width_option():
    batch = random_batch(40, (3, 8, 8), 3)
    ctx = make_context(FakeSpace(MLP), input_shape=(3, 8, 8), num_classes=3, batch=batch,
                       config={**EcoNAS().defaults, "min_images": 10})
    with pytest.raises(ScorerSkipped, match="builder_options"):
        EcoNAS().score(ctx)


def test_named_operating_points_are_registered():
    registry = get_registry()
    econas, plus = registry.get("scorer", "econas"), registry.get("scorer", "econas-plus")
    assert (econas.defaults["init_channels"], econas.defaults["resolution"],
            econas.defaults["read_epoch"]) == (4, 8, 20)
    assert (plus.defaults["init_channels"], plus.defaults["resolution"],
            plus.defaults["read_epoch"]) == (8, 16, 15)
    assert econas.defaults["epochs"] == plus.defaults["epochs"] == 40


def digits_score(arch: str, count: int, epochs: int, train_batch_size: int = 64,
                 cells: int = 5) -> float:
    registry = get_registry()
    digits = registry.get("dataset", "digits")
    batch = digits.batch(count, 0, **EcoNAS().defaults["inputs"])
    config = {**EcoNAS().defaults, "batch_size": count, "min_images": 100, "epochs": epochs,
              "read_epoch": epochs, "train_batch_size": train_batch_size}
    space = registry.get("space", "nb201")
    ctx = make_context(space, input_shape=(3, 32, 32), num_classes=10, batch=batch,
                       config=config, arch_id=arch, dtype=torch.float32,
                       builder_options=network_options(EcoNAS(), space, N=cells))
    return EcoNAS().score(ctx)


def test_nb201_on_digits_learns_with_convolutions_and_not_without():
    """The real builder at C 4 (one cell per stage) on 8×8 digits: a convolutional cell beats
    chance after four short epochs; a cell of ``none`` edges (the head alone, on a zero
    feature map) does not."""
    conv = digits_score(CONV_CELL, 320, epochs=4, train_batch_size=32, cells=1)
    empty = digits_score(EMPTY_CELL, 320, epochs=4, train_batch_size=32, cells=1)
    assert conv >= 30.0 and empty <= 20.0, (conv, empty)


@pytest.mark.slow
def test_nb201_on_all_digits_ranks_cells_like_their_capacity():
    """All 1,348 training digits, 5 epochs: conv cell > pooling cell > empty cell."""
    pooling = "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|" \
              "skip_connect~2|"
    scores = [digits_score(arch, 1348, epochs=5) for arch in (CONV_CELL, pooling, EMPTY_CELL)]
    assert scores == sorted(scores, reverse=True), scores


# -- the shared training loop's pieces ----------------------------------------------------------
def test_random_crop_flip_takes_each_image_from_its_padded_copy():
    generator = torch.Generator().manual_seed(0)
    images = torch.arange(6 * 2 * 5 * 5, dtype=torch.float64).reshape(6, 2, 5, 5) + 1
    out = random_crop_flip(images, generator, padding=2)
    padded = F.pad(images, (2, 2, 2, 2))
    for image, result in zip(padded, out, strict=True):
        windows = [image[:, dy:dy + 5, dx:dx + 5] for dy in range(5) for dx in range(5)]
        candidates = windows + [window.flip(-1) for window in windows]
        assert any(torch.equal(result, candidate) for candidate in candidates)
    assert torch.equal(random_crop_flip(images, torch.Generator().manual_seed(0), padding=2),
                       out), "same generator, same crops"


def test_per_epoch_cosine_keeps_the_rate_within_an_epoch(monkeypatch):
    """COSINE_PER_EPOCH: lr 0.1 · ½(1 + cos(π e / E)) during epoch e (0-based), as
    CosineAnnealingLR(T_max=E) stepped once per epoch."""
    model = torch.nn.Linear(2, 2)
    data = (torch.randn(10, 2), torch.randint(0, 2, (10,)))
    recipe = Recipe(epochs=4, batch_size=5, learning_rate=0.1, schedule=COSINE_PER_EPOCH)
    seen: list[float] = []
    original_step = torch.optim.SGD.step

    def record(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return original_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.SGD, "step", record)
    list(training_epochs(model, data, recipe, torch.Generator().manual_seed(0)))
    expected = [0.1 * 0.5 * (1 + math.cos(math.pi * e / 4))
                for e in range(4) for _ in range(2)]
    assert seen == pytest.approx(expected, rel=1e-9)
