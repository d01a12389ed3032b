"""econas, econas-plus: the reduced-training baseline (EcoNAS: Zhou, Zhou, Zhang, Loy, Yi,
Zhang, Ouyang, "EcoNAS: Finding Proxies for Economical Neural Architecture Search", CVPR 2020),
with the recipe of zero-cost-nas's NB-201 training script (Abdelfattah et al., ICLR 2021,
github.com/SamsungLabs/zero-cost-nas, ``nasbench2_train.py``; docs/econas.md).

Each arch is trained briefly at reduced width and resolution, and its validation accuracy
(percent) after epoch ``read_epoch`` is the score (higher = better):

- network: the space's builder at ``init_channels`` c (NB-201: C = c instead of 16; the
  zero-cost reference builder), built with the trial's seed and initialization;
- data: the trial's input batch is the training set: ``batch_size`` images of the dataset's
  training split (default 50,000: all of CIFAR-10 / CIFAR-100, a random 50,000 of
  ImageNet16-120), pixels in [0, 1]. The last ``validation_fraction`` of them (a seeded random
  draw, so a random 20 %: 10,000, the size of the CIFAR test set the reference validated on)
  is held out for validation; the reference validated on the test set, which the harness keeps
  out of scorers;
- every epoch: RandomCrop(side, padding side/8) + horizontal flip, resize to ``resolution``
  r × r (bilinear, antialiased, as torchvision resizes PIL images), per-channel normalization
  with the training part's own mean and std; validation images are resized and normalized only;
- optimizer: SGD lr 0.1, momentum 0.9, Nesterov, weight decay 5e-4, cross-entropy, mini-batches
  of ``train_batch_size``; cosine annealing to 0 over ``epochs`` E, stepped once per epoch
  (``CosineAnnealingLR(T_max=E)``). Training stops after ``read_epoch`` e, since later epochs
  cannot change the accuracy read there. Validation runs in eval mode in chunks of
  ``train_batch_size`` (the reference's validation batch size; NB-201's cell BatchNorm keeps no
  running statistics, so the chunk size matters).

The training loop is ``harness.groundtruth.train_benchmark.training_epochs``, the one
``harness data build`` uses. Every random draw (shuffles, crops, flips) comes from the trial's
generator, so a trial seed gives the same score (bit for bit on CPU).

Operating points (assumption, stated in docs/econas.md and the report): the zero-cost paper
plots ``econas`` = r8c4 read at epoch 20 and ``econas+`` = r16c8 read at epoch 15 of the
script's E = 40 cosine schedule; the GenNAS appendix quotes EcoNAS on NB-201 without saying
which. Mini-batch 256 (the reference script's default is 2048).

Applies to spaces whose builder takes a width (``harness.protocols.ResizableSpace``: nb201,
nb101); others are skipped. Too few images (a dataset that is not prepared falls back to its
20 bundled images) is a ``DatasetError`` naming what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from harness.errors import ConfigError, DatasetError, ScorerSkipped
from harness.groundtruth.train_benchmark import (
    COSINE_PER_EPOCH,
    Recipe,
    accuracy,
    random_crop_flip,
    training_epochs,
)
from harness.plugins.scorers.zerocost_common import fresh_model
from harness.protocols import OptionRanges, ResizableSpace, ScoringContext

ECONAS_INPUTS: dict[str, Any] = {"split": "train", "augment": False, "normalization": "none"}
ECONAS_RANGES: OptionRanges = {
    "init_channels": (1, None), "resolution": (1, None), "epochs": (1, None),
    "read_epoch": (1, None), "train_batch_size": (1, None), "learning_rate": (0, None),
    "momentum": (0, 1), "weight_decay": (0, None), "validation_fraction": (0, 1),
    "min_images": (2, None)}


def econas_defaults(init_channels: int, resolution: int, read_epoch: int) -> dict[str, Any]:
    """One operating point's options; the rest is the reference recipe."""
    return {"batch_size": 50_000, "inputs": dict(ECONAS_INPUTS), "init_channels": init_channels,
            "resolution": resolution, "epochs": 40, "read_epoch": read_epoch,
            "train_batch_size": 256, "learning_rate": 0.1, "momentum": 0.9,
            "weight_decay": 5e-4, "validation_fraction": 0.2, "min_images": 1000,
            "network": "zerocost"}


@dataclass(frozen=True)
class Preprocess:
    """Resize to ``size`` × ``size`` and normalize with the training images' channel stats."""

    size: int
    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def fitted(cls, train_inputs: torch.Tensor, size: int) -> Preprocess:
        dims = (0, 2, 3)
        mean = train_inputs.mean(dims, keepdim=True)
        std = train_inputs.std(dims, keepdim=True).clamp_min(1e-12)
        return cls(size, mean, std)

    def __call__(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.shape[-1] != self.size or inputs.shape[-2] != self.size:
            inputs = F.interpolate(inputs, size=(self.size, self.size), mode="bilinear",
                                   align_corners=False, antialias=True)
        return (inputs - self.mean) / self.std

    def augmented(self, inputs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One epoch's training inputs: crop + flip at full size, then resize and normalize."""
        return self(random_crop_flip(inputs, generator, padding=inputs.shape[-1] // 8))


def split_train_validation(ctx: ScoringContext) -> tuple[tuple[torch.Tensor, torch.Tensor],
                                                         tuple[torch.Tensor, torch.Tensor]]:
    """(training, validation) parts of the trial's batch; refuses a handful of images."""
    if ctx.batch is None:
        raise ConfigError(f"econas needs a training set as its input batch; none was given for "
                          f"{ctx.arch_id}")
    inputs, labels = ctx.batch.inputs, ctx.batch.labels
    count = len(labels)
    if count < int(ctx.config["min_images"]):
        raise DatasetError(
            f"econas needs a training set but got {count} {ctx.dataset} images (min_images "
            f"{ctx.config['min_images']}; an unprepared dataset falls back to a few bundled "
            f"images): put the dataset in the data dir, e.g. `harness data fetch cifar10`")
    held_out = round(count * float(ctx.config["validation_fraction"]))
    if not 0 < held_out < count:
        raise ConfigError(f"econas validation_fraction {ctx.config['validation_fraction']} "
                          f"leaves no training or no validation image of {count}")
    cut = count - held_out
    return (inputs[:cut], labels[:cut]), (inputs[cut:], labels[cut:])


def recipe_of(config: dict[str, Any]) -> Recipe:
    """The shared training loop's recipe for these options (per-epoch cosine over E)."""
    if int(config["read_epoch"]) > int(config["epochs"]):
        raise ConfigError(f"econas read_epoch {config['read_epoch']} is after the last epoch "
                          f"({config['epochs']})")
    return Recipe(epochs=int(config["epochs"]), batch_size=int(config["train_batch_size"]),
                  learning_rate=float(config["learning_rate"]),
                  momentum=float(config["momentum"]), nesterov=True,
                  weight_decay=float(config["weight_decay"]), schedule=COSINE_PER_EPOCH,
                  augmentation="random crop (padding side/8) + flip, resize, normalize")


@dataclass
class EcoNAS:
    """Validation accuracy after a short training at reduced width and resolution."""

    name: str = "econas"
    init_channels: int = 4
    resolution: int = 8
    read_epoch: int = 20
    needs_inputs: bool = True
    defaults: dict[str, Any] = field(init=False)
    option_ranges: ClassVar[OptionRanges] = ECONAS_RANGES

    def __post_init__(self) -> None:
        self.defaults = econas_defaults(self.init_channels, self.resolution, self.read_epoch)

    def score(self, ctx: ScoringContext) -> float:
        recipe = recipe_of(ctx.config)
        if not isinstance(ctx.space, ResizableSpace):
            raise ScorerSkipped(f"econas trains at reduced width, which space {ctx.space.name!r}"
                                f" cannot build (it has no builder_options)")
        train, validation = split_train_validation(ctx)
        preprocess = Preprocess.fitted(train[0], int(ctx.config["resolution"]))
        model = fresh_model(ctx, **ctx.space.builder_options(int(ctx.config["init_channels"]),
                                                              None))
        for epoch in training_epochs(model, train, recipe, ctx.generator,
                                     epoch_inputs=preprocess.augmented):
            if epoch == int(ctx.config["read_epoch"]):
                break
        return accuracy(model, preprocess(validation[0]), validation[1],
                        batch_size=recipe.batch_size)
