"""The GenNAS scorer (Li et al., "Generic Neural Architecture Search via Regression", NeurIPS 2021).

score = -(evaluation loss after the last of ``iterations`` SGD steps) of the architecture
trained from scratch to regress the task's three synthetic targets from one fixed image batch
(docs/gennas.md; official code github.com/leeyeehoo/GenNAS). Lower loss = predicted better
architecture, hence the sign flip.

The task instance (the clean input batch on the device and the three targets) is built once per
(task hash, task seed, device, batch) and cached in the process, so every architecture of a run
shares it and a worker builds it once. The task seed is the run seed (``ctx.run_seed``) unless
the ``task_seed`` option fixes it, never the trial seed: all archs of a run see the same targets.
A non-finite final loss is returned as is (-nan / -inf), and the worker (``harness.trial``) records
the trial as nan / inf; the reference replaced it with 1000 + U(0, 1) instead.

Options (``--option gennas-combo.KEY=VALUE``): ``batch_size`` (16), ``iterations`` (100),
``eval_interval`` (10), ``lr`` (0.1), ``momentum`` (0.9), ``weight_decay`` (4e-5, the code's;
the paper says 1e-5), ``report`` (``last_eval`` = the paper's score, ``mean_eval``,
``last_train``), ``task_seed`` (None = run seed), ``memory_format`` (``channels_last``:
convolutions in NHWC order, 1.3x faster on a CPU with the ranking kept, docs/performance.md; or
``contiguous``, the default until then and the only format of older stores' keys), ``inputs``
(passed to
the dataset plugin),
``network`` (``gennas``: the network form of GenNAS's reference code, with stage taps; each
space says what it is) and ``model_options`` (builder options per space name). The generic
``gennas`` scorer adds ``task`` (a task JSON file, inline JSON, or a task object).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from harness.errors import ConfigError, ScorerSkipped
from harness.plugins.scorers.gennas.signals import build_targets
from harness.plugins.scorers.gennas.task import Task, load_task, parse_task
from harness.plugins.scorers.gennas.train import TrainResult, TrainSettings, train
from harness.plugins.scorers.gennas.wrapper import wrap
from harness.protocols import OptionRanges, PrunableSpace, ScoringContext, TappedSpace

REPORTS = ("last_eval", "mean_eval", "last_train")
MEMORY_FORMATS = ("contiguous", "channels_last")
# Input batch as GenNAS draws it (reference code): the images NB-201 trained on ("trainval": the
# cifar10-valid train half for CIFAR-10), random horizontal flip only,
# the GenNAS normalization constants.
DEFAULT_INPUTS = {"split": "trainval", "augment": "flip", "normalization": "gennas"}
TRAIN_DEFAULTS: dict[str, Any] = {
    "batch_size": 16,
    "inputs": DEFAULT_INPUTS,
    "iterations": 100,
    "eval_interval": 10,
    "lr": 0.1,
    "momentum": 0.9,
    "weight_decay": 4e-5,  # reference code; the paper's appendix says 1e-5
    "report": "last_eval",
    "task_seed": None,  # None: the run seed
    "memory_format": TrainSettings.memory_format,  # channels_last, or contiguous
    # The network of GenNAS's reference code, which each space builds (NetworkFormSpace).
    "network": "gennas",
}
# Bounds checked before a run starts (``harness.options.RangedScorer``).
GENNAS_RANGES: OptionRanges = {"iterations": (1, None), "eval_interval": (1, None),
                               "lr": (0, None), "momentum": (0, 1), "weight_decay": (0, None)}
_FLOAT_OPTIONS = ("lr", "momentum", "weight_decay")
_CACHE_SIZE = 8  # the five named tasks of an arch-major run stay cached
_instances: OrderedDict[tuple, TaskInstance] = OrderedDict()


@dataclass(frozen=True)
class TaskInstance:
    """One concrete task: the clean input batch and the three targets, on one device."""

    inputs: torch.Tensor
    targets: list[torch.Tensor]


def _coerce(name: str, value: Any, kind: type) -> Any:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int if kind is int else int | float):
        expected = "an integer" if kind is int else "a number"
        raise ConfigError(f"GenNAS option {name}={value!r} must be {expected}")
    return kind(value)


def train_settings(config: dict[str, Any]) -> TrainSettings:
    """Validated ``TrainSettings`` from a scorer config (CLI strings are accepted)."""
    ints = {name: _coerce(name, config[name], int) for name in ("iterations", "eval_interval")}
    floats = {name: _coerce(name, config[name], float) for name in _FLOAT_OPTIONS}
    for name, value in ints.items():
        if value < 1:
            raise ConfigError(f"GenNAS option {name}={value} must be at least 1")
    if floats["lr"] <= 0 or floats["weight_decay"] < 0 or not 0 <= floats["momentum"] < 1:
        raise ConfigError(f"GenNAS options lr={floats['lr']}, momentum={floats['momentum']}, "
                          f"weight_decay={floats['weight_decay']}: need lr > 0, 0 <= momentum < 1, "
                          f"weight_decay >= 0")
    memory_format = config.get("memory_format", TRAIN_DEFAULTS["memory_format"])
    if memory_format not in MEMORY_FORMATS:
        raise ConfigError(f"GenNAS option memory_format={memory_format!r}; "
                          f"use one of {', '.join(MEMORY_FORMATS)}")
    return TrainSettings(**ints, **floats, memory_format=memory_format)


# Keys ``harness.plan.scorer_config`` adds to a scorer's config (an --images source's identity).
PLANNER_KEYS = {"input_source"}


def check_options(config: dict[str, Any], allowed: set[str]) -> None:
    """Reject unknown option names (a typo must not silently run the default)."""
    unknown = sorted(set(config) - allowed - PLANNER_KEYS)
    if unknown:
        raise ConfigError(f"GenNAS: unknown option(s) {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(allowed))}")
    if config["report"] not in REPORTS:
        raise ConfigError(f"GenNAS option report={config['report']!r}; "
                          f"use one of {', '.join(REPORTS)}")


def without_contiguous_memory_format(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` without ``memory_format`` when it is ``contiguous``, the only format before the
    option existed and the default until channels-last replaced it: every trial scored in
    contiguous order keeps one store key, whichever version scored it, and a channels-last
    trial's key says so (a folder of contiguous trials resumes with
    ``--option NAME.memory_format=contiguous``: docs/compare.md)."""
    if config.get("memory_format") == "contiguous":
        return {key: value for key, value in config.items() if key != "memory_format"}
    return config


def task_seed(ctx: ScoringContext) -> int:
    """The seed of the run's targets: ``task_seed`` option, else the run seed."""
    fixed = ctx.config.get("task_seed")
    if fixed is not None:
        return _coerce("task_seed", fixed, int)
    if ctx.run_seed is None:
        raise ConfigError("GenNAS needs the run seed (ctx.run_seed) or a task_seed option to "
                          "draw the run's targets")
    return ctx.run_seed


def task_instance(task: Task, inputs: torch.Tensor, seed: int,
                  device: torch.device) -> TaskInstance:
    """The cached instance of ``task`` for this clean batch and seed on ``device``."""
    batch_digest = hashlib.sha256(inputs.detach().cpu().contiguous().numpy().tobytes()).hexdigest()
    key = (task.hash, seed, str(device), tuple(inputs.shape), batch_digest)
    instance = _instances.get(key)
    if instance is not None:
        _instances.move_to_end(key)
    else:
        targets = build_targets(task, inputs, seed)
        instance = TaskInstance(inputs.detach().to(device, torch.float32),
                                [target.to(device) for target in targets])
        _instances[key] = instance
        while len(_instances) > _CACHE_SIZE:
            _instances.popitem(last=False)
    return instance


def _trial_generator(ctx: ScoringContext) -> torch.Generator:
    """The trial's generator if it lives on the trial's device, else one seeded the same way."""
    if torch.device(ctx.generator.device).type == torch.device(ctx.device).type:
        return ctx.generator
    return torch.Generator(device=ctx.device).manual_seed(ctx.trial_seed)


def train_task(ctx: ScoringContext, task: Task) -> TrainResult:
    """Train ``ctx``'s architecture on ``task``: all evaluation losses, the last training loss."""
    if ctx.batch is None:
        raise ConfigError("GenNAS needs an input batch (ctx.batch is None)")
    settings = train_settings(ctx.config)
    instance = task_instance(task, ctx.batch.inputs, task_seed(ctx), ctx.device)
    backbone = ctx.build_model()
    if isinstance(ctx.space, PrunableSpace):
        ctx.space.skip_dead_paths(backbone)  # bit-identical losses, less work
    model = wrap(ctx.space, backbone, task.channels, instance.inputs[:2])
    return train(model, instance.inputs, instance.targets, task.noise, settings,
                 task.loss_weights, task.scored_weights, _trial_generator(ctx))


def reported_loss(result: TrainResult, report: str) -> float:
    """The loss the ``report`` option names: ``last_eval`` (the paper's), ``mean_eval`` or
    ``last_train``."""
    if report == "last_train":
        return result.last_train_loss
    if report == "mean_eval":
        return sum(result.eval_losses) / len(result.eval_losses)
    return result.eval_losses[-1]


def run_task(ctx: ScoringContext, task: Task) -> float:
    """Train ``ctx``'s architecture on ``task`` and return ``-loss`` (non-finite passes through)."""
    if not isinstance(ctx.space, TappedSpace):
        raise ScorerSkipped(f"space {ctx.space.name!r} does not expose its stage outputs "
                            f"(forward_taps, harness.protocols.TappedSpace), which GenNAS needs")
    return -reported_loss(train_task(ctx, task), ctx.config["report"])


class GenNASScorer:
    """GenNAS with one fixed, named task (``gennas-combo``, ``gennas-search-n``, ...), possibly
    on its own schedule (``gennas-search-n-fast``)."""

    needs_inputs = True
    option_ranges = GENNAS_RANGES

    def __init__(self, name: str, task: Task, schedule: dict[str, Any] | None = None) -> None:
        """``schedule``: train options replacing ``TRAIN_DEFAULTS`` (a shorter named schedule)."""
        self.name = name
        self.task = task
        # The task name and hash are in the config, so the store key changes with the task.
        self.defaults = {**TRAIN_DEFAULTS, **(schedule or {}), "task": name,
                         "task_hash": task.hash}

    def resolve_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return without_contiguous_memory_format(config)

    def score(self, ctx: ScoringContext) -> float:
        check_options(ctx.config, set(self.defaults))
        if ctx.config["task_hash"] != self.task.hash:
            raise ConfigError(f"{self.name}: task_hash {ctx.config['task_hash']!r} is not this "
                              f"task's ({self.task.hash}); use the generic 'gennas' scorer for "
                              f"other tasks")
        return run_task(ctx, self.task)


def resolve_task(value: Any) -> Task:
    """A task from a config value: a task object, inline JSON text, or a JSON file path."""
    if isinstance(value, dict):
        return parse_task(value)
    if not isinstance(value, str) or not value:
        raise ConfigError("the generic 'gennas' scorer needs a task: "
                          "--option gennas.task=PATH_TO_TASK.json")
    if value.lstrip().startswith("{"):
        try:
            return parse_task(json.loads(value))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"gennas.task is not valid JSON: {exc}") from exc
    return load_task(Path(value).expanduser())


class GenericGenNASScorer:
    """GenNAS with a user task: ``--option gennas.task=my_task.json`` (or inline JSON).

    ``resolve_config`` replaces the path by the task's canonical content and hash before
    ``harness.plan`` hashes the config, so two different tasks never share a store key, and a trial
    can be re-run from the store alone even if the file changes or goes away.
    """

    name = "gennas"
    needs_inputs = True
    defaults = {**TRAIN_DEFAULTS, "task": None, "task_hash": None}
    reference_scorer = "gennas-search-n"  # a found task is checked against the paper's best
    option_ranges = GENNAS_RANGES

    def resolve_config(self, config: dict[str, Any]) -> dict[str, Any]:
        task = resolve_task(config.get("task"))
        return without_contiguous_memory_format(
            {**config, "task": json.loads(task.canonical_json()), "task_hash": task.hash})

    def random_config(self, rng: random.Random) -> dict[str, Any]:
        """A random task (``task_mutation.random_task``): ``harness task-search``'s draws."""
        from harness.plugins.scorers.gennas.task_mutation import random_task

        return random_task(rng)

    def mutate_config(self, config: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """A mutated copy of a task (``task_mutation.mutate_task``, per-block probability 0.2)."""
        from harness.plugins.scorers.gennas.task_mutation import mutate_task

        return mutate_task(config, rng)

    def score(self, ctx: ScoringContext) -> float:
        check_options(ctx.config, set(self.defaults))
        task = resolve_task(ctx.config["task"])
        declared = ctx.config.get("task_hash")
        if declared is not None and declared != task.hash:
            raise ConfigError(f"gennas: task_hash {declared!r} does not match the task's "
                              f"content ({task.hash}); the task file changed since the run started")
        return run_task(ctx, task)
