"""``harness data build``: make a small, real benchmark by training a seeded sample of archs.

Works for any space that can build models. Each sampled arch is trained from scratch once per
seed on the dataset's training split and evaluated on its test split; the table holds the test
accuracy (percent) at the last epoch, averaged over seeds (``<dataset>/test``), each seed's
value (``<dataset>/test/seed<k>``), final training accuracy and the parameter count. The full
recipe (optimizer, schedule, batch size, epochs, seeds, model options, library versions) goes
into ``table.source``; ``source["model_options"]`` are the builder options, which ``harness.plan``
hands to every trial of the space and the worker (``harness.trial``) passes to ``space.build_model``
so scorers see the same network that was trained.

Determinism: single-threaded, ``torch.use_deterministic_algorithms(True)``, and every training
run seeded from (``seed``, arch id, seed index) through sha256, so the same arguments give the
same table on any CPU, in any order.

Optional space methods used here: ``sample_archs(n, rng)`` (to draw ``archs`` when it is a
number) and ``builder_options(width, cells)`` (maps ``--width``/``--cells`` to the builder's
keyword names). ``dataset`` is a dataset plugin object that offers ``whole_split(split, *,
data_dir, size)`` (``SplitTensorsDataset below``; the ``digits`` dataset does).

``training_epochs`` is the harness's one training loop: the ``econas`` scorer trains with it
too (per-epoch inputs from ``random_crop_flip`` and a resize, ``COSINE_PER_EPOCH``).
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from harness.errors import ConfigError
from harness.groundtruth.table import GroundTruthTable, MetricInfo, prepared_table_path
from harness.protocols import ResizableSpace


@runtime_checkable
class SamplingSpace(Protocol):
    """Optional: a space that draws archs itself, which ``harness data build N`` needs."""

    def sample_archs(self, n: int, rng: random.Random) -> list[str]:
        """``n`` distinct arch ids drawn with ``rng``."""


@runtime_checkable
class SplitTensorsDataset(Protocol):
    """Optional: a dataset that hands out whole splits, which ``harness data build`` trains on."""

    def whole_split(self, split: str, *, data_dir: Path, size: int = ...
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalized inputs (N, C, size, size) and labels (N,) of the whole ``split`` ("train"
        or "test"), as models built for this dataset take them."""


@dataclass(frozen=True)
class Recipe:
    """How every arch is trained (recorded in the table's source)."""

    epochs: int
    batch_size: int = 32
    learning_rate: float = 0.05
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "cosine to 0 over all steps"  # or COSINE_PER_EPOCH
    loss: str = "cross-entropy"
    augmentation: str = "none"


def run_seed(seed: int, arch_id: str, seed_index: int) -> int:
    """A stable 63-bit seed for one training run (not Python's salted ``hash``)."""
    digest = hashlib.sha256(f"{seed}|{arch_id}|{seed_index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def _split_tensors(plugin: Any, data_dir: Path, image_size: int | None
                   ) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
    if not isinstance(plugin, SplitTensorsDataset):
        raise ConfigError(f"dataset {plugin.name!r} cannot be used by `harness data build`: its "
                          f"plugin offers no whole_split(split, *, data_dir, size) method for "
                          f"whole train/test splits; pick a dataset whose plugin does")
    size = {} if image_size is None else {"size": image_size}
    return (plugin.whole_split("train", data_dir=data_dir, **size),
            plugin.whole_split("test", data_dir=data_dir, **size))


def accuracy(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor,
             batch_size: int | None = None) -> float:
    """Top-1 accuracy (percent) in eval mode, in one pass or in chunks of ``batch_size`` (which
    matters where BatchNorm keeps no running statistics and normalizes each chunk)."""
    model.eval()
    step = len(labels) if batch_size is None else batch_size
    correct = 0
    with torch.no_grad():
        for start in range(0, len(labels), max(step, 1)):
            predicted = model(inputs[start:start + step]).argmax(dim=1)
            correct += int((predicted == labels[start:start + step]).sum())
    return correct / len(labels) * 100.0


def random_crop_flip(inputs: torch.Tensor, generator: torch.Generator,
                     padding: int) -> torch.Tensor:
    """Each image (N, C, H, W) zero-padded by ``padding``, cropped back to H × W at a random
    offset, and flipped left-right with probability ½ (torchvision's RandomCrop(padding) +
    RandomHorizontalFlip). Draws come from ``generator`` on the CPU: offsets, then flips."""
    count, _, height, width = inputs.shape
    padded = F.pad(inputs, (padding, padding, padding, padding))
    offsets = torch.randint(0, 2 * padding + 1, (count, 2), generator=generator)
    flips = torch.rand(count, generator=generator) < 0.5
    out = torch.empty_like(inputs)
    for dy, dx in torch.unique(offsets, dim=0).tolist():
        chosen = ((offsets[:, 0] == dy) & (offsets[:, 1] == dx)).nonzero().flatten()
        chosen = chosen.to(inputs.device)
        out[chosen] = padded[chosen, :, dy:dy + height, dx:dx + width]
    flipped = flips.nonzero().flatten().to(inputs.device)
    out[flipped] = out[flipped].flip(-1)
    return out


COSINE_PER_STEP = "cosine to 0 over all steps"
COSINE_PER_EPOCH = "cosine to 0 over all epochs, stepped once per epoch"


def _cosine_factor(recipe: Recipe, steps_per_epoch: int) -> Callable[[int], float]:
    """The learning-rate multiplier after ``step`` optimizer steps for the recipe's schedule."""
    total_steps = recipe.epochs * steps_per_epoch
    if recipe.schedule == COSINE_PER_STEP:
        return lambda step: 0.5 * (1.0 + math.cos(math.pi * step / total_steps))
    if recipe.schedule == COSINE_PER_EPOCH:
        return lambda step: 0.5 * (1.0 + math.cos(math.pi * (step // steps_per_epoch)
                                                  / recipe.epochs))
    raise ConfigError(f"unknown training schedule {recipe.schedule!r}; known: "
                      f"{COSINE_PER_STEP!r}, {COSINE_PER_EPOCH!r}")


EpochInputs = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def training_epochs(model: nn.Module, train: tuple[torch.Tensor, torch.Tensor], recipe: Recipe,
                    generator: torch.Generator, *, epoch_inputs: EpochInputs | None = None
                    ) -> Iterator[int]:
    """Train ``model`` by ``recipe`` (SGD, cross-entropy, cosine schedule), yielding the number
    of each finished epoch (1, 2, ...) so the caller can evaluate or stop between epochs.

    The one training loop of the harness: ``harness data build`` runs it to the end, the
    ``econas`` scorer reads the validation accuracy at one epoch. ``epoch_inputs(inputs,
    generator)``, when given, makes each epoch's inputs (augmentation, resizing) before the
    epoch's shuffle; every random draw comes from ``generator``.
    """
    inputs, labels = train
    steps_per_epoch = math.ceil(len(labels) / recipe.batch_size)
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe.learning_rate,
                                momentum=recipe.momentum, nesterov=recipe.nesterov,
                                weight_decay=recipe.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer,
                                                 _cosine_factor(recipe, steps_per_epoch))
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(1, recipe.epochs + 1):
        model.train()
        epoch_batch = inputs if epoch_inputs is None else epoch_inputs(inputs, generator)
        order = torch.randperm(len(labels), generator=generator).to(labels.device)
        for start in range(0, len(labels), recipe.batch_size):
            picked = order[start:start + recipe.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(epoch_batch[picked]), labels[picked]).backward()
            optimizer.step()
            schedule.step()
        yield epoch


def train_one(model: nn.Module, train: tuple[torch.Tensor, torch.Tensor],
              test: tuple[torch.Tensor, torch.Tensor], recipe: Recipe,
              generator: torch.Generator) -> tuple[float, float]:
    """Train ``model`` by ``recipe``; return (final train accuracy, test accuracy) in percent."""
    for _ in training_epochs(model, train, recipe, generator):
        pass
    return accuracy(model, *train), accuracy(model, *test)


def build_benchmark(space: Any, *, dataset: Any, archs: int | Sequence[str], seeds: int,
                    epochs: int, width: int | None = None, cells: int | None = None,
                    seed: int = 0, data_dir: Path, out: Path | None = None,
                    image_size: int | None = None, recipe: Recipe | None = None,
                    progress: Callable[[int, int], None] | None = None) -> Path:
    """Train ``archs`` (a count to sample with ``seed``, or explicit ids) ``seeds`` times each.

    ``dataset`` is the dataset plugin object (a ``SplitTensorsDataset``). Writes a
    ``GroundTruthTable`` to ``out`` (default: the space's prepared-table path under
    ``data_dir``, where ``harness compare`` finds it) and returns the path.
    ``progress(done, total)`` is called after each arch. ``image_size``: train and test at this
    image side instead of the dataset's (the digits recipe trains at 16×16 to fit a CPU budget;
    scorers still see the plugin's 32×32 inputs, as GenNAS scores ImageNet16-120 models on upsampled
    images).
    """
    if seeds < 1 or epochs < 1:
        raise ConfigError(f"need seeds >= 1 and epochs >= 1, got seeds={seeds}, epochs={epochs}")
    recipe = recipe or Recipe(epochs=epochs)
    arch_ids = _arch_ids(space, archs, seed)
    model_options = _model_options(space, width, cells)
    train, test = _split_tensors(dataset, data_dir, image_size)
    name = dataset.name
    training = _Training(space, name, dataset.num_classes, model_options, train, test, recipe,
                         seeds, seed)
    started = time.perf_counter()
    with _deterministic_single_thread():
        rows = []
        for done, arch_id in enumerate(arch_ids, start=1):
            rows.append(training.row(arch_id))
            if progress is not None:
                progress(done, len(arch_ids))
    wall_s = time.perf_counter() - started

    frame = pd.DataFrame(rows, index=pd.Index(arch_ids, name="arch_id"))
    source = {**_recipe_source(training, archs=len(arch_ids), sampled=isinstance(archs, int)),
              "build_wall_s": round(wall_s, 1)}
    table = GroundTruthTable(space=space.name, frame=frame,
                             metrics=_metrics(name, seeds, recipe),
                             default_metric={name: f"{name}/test"}, source=source)
    return table.save(Path(out) if out is not None else prepared_table_path(data_dir, space.name))


def _arch_ids(space: Any, archs: int | Sequence[str], seed: int) -> list[str]:
    """``archs`` ids sampled with ``seed`` when it is a count, else the given ids parsed."""
    if not isinstance(archs, int):
        return [space.parse_arch(text) for text in archs]
    if not isinstance(space, SamplingSpace):
        raise ConfigError(f"space {space.name!r} cannot sample archs (no sample_archs); "
                          f"pass an explicit list of arch ids")
    return list(space.sample_archs(archs, random.Random(seed)))


def _model_options(space: Any, width: int | None, cells: int | None) -> dict[str, Any]:
    """The builder's keyword options for ``--width``/``--cells`` (none when the space has no
    ``builder_options``, which is an error only when either was given)."""
    if isinstance(space, ResizableSpace):
        return space.builder_options(width, cells)
    if width is not None or cells is not None:
        raise ConfigError(f"space {space.name!r} does not map --width/--cells to its builder "
                          f"(no builder_options)")
    return {}


@contextmanager
def _deterministic_single_thread() -> Iterator[None]:
    """One torch thread and deterministic algorithms inside; the caller's settings after."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)


@dataclass(frozen=True)
class _Training:
    """Everything one table's training runs share; ``row`` trains one arch ``seeds`` times."""

    space: Any
    dataset: str
    num_classes: int
    model_options: dict[str, Any]
    train: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    recipe: Recipe
    seeds: int
    seed: int

    def row(self, arch_id: str) -> dict[str, float]:
        """The table row of ``arch_id``: per-seed and mean test accuracy, train accuracy,
        parameters (millions)."""
        dataset = self.dataset
        row: dict[str, float] = {}
        test_accs, train_accs = [], []
        for seed_index in range(self.seeds):
            torch.manual_seed(run_seed(self.seed, arch_id, seed_index))
            generator = torch.Generator().manual_seed(run_seed(self.seed, arch_id, seed_index) + 1)
            model = self.space.build_model(arch_id, num_classes=self.num_classes,
                                           **self.model_options)
            train_acc, test_acc = train_one(model, self.train, self.test, self.recipe, generator)
            row[f"{dataset}/test/seed{seed_index}"] = test_acc
            train_accs.append(train_acc)
            test_accs.append(test_acc)
        row[f"{dataset}/test"] = float(np.mean(test_accs))
        row[f"{dataset}/train"] = float(np.mean(train_accs))
        row[f"params_m/{dataset}"] = sum(p.numel() for p in model.parameters()) / 1e6
        return row


def _metrics(dataset: str, seeds: int, recipe: Recipe) -> list[MetricInfo]:
    """The table's metric descriptions: mean test accuracy, each seed's, train accuracy."""
    metrics = [MetricInfo(f"{dataset}/test", dataset, True,
                          f"test accuracy (%) after {recipe.epochs} epochs, mean of {seeds} "
                          f"seeds")]
    metrics += [MetricInfo(f"{dataset}/test/seed{k}", dataset, True,
                           f"test accuracy (%) of training seed index {k}")
                for k in range(seeds)]
    metrics.append(MetricInfo(f"{dataset}/train", dataset, True,
                              "final training accuracy (%), mean of seeds"))
    return metrics


def _recipe_source(training: _Training, *, archs: int, sampled: bool) -> dict[str, Any]:
    """``table.source``: how the table was made, enough to build it again."""
    train_inputs, train_labels = training.train
    return {
        "kind": "built",
        "builder": f"{__name__}.{build_benchmark.__name__}",
        "space": training.space.name,
        "dataset": training.dataset,
        "archs": archs,
        "seeds": training.seeds,
        "seed": training.seed,
        "sampled": sampled,
        "train_images": int(len(train_labels)),
        "test_images": int(len(training.test[1])),
        "image_shape": list(train_inputs.shape[1:]),
        "recipe": asdict(training.recipe),
        "model_options": training.model_options,
        "run_seed": "sha256('{seed}|{arch_id}|{seed_index}')[:8] little-endian >> 1; "
                    "shuffle generator = run seed + 1",
        "deterministic": "torch.set_num_threads(1), torch.use_deterministic_algorithms(True)",
        "torch_version": torch.__version__,
    }
