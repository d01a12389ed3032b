"""What a worker does for one trial: build the model, score it, measure it, return a record.

``TrialJob`` is one trial as the planner hands it out (plain, picklable values); executors send
jobs to workers, which call ``execute_trial`` and send back its ``TrialResult``. A failing scorer
never raises here: its trial becomes a row with status ``error`` / ``oom`` / ``nan`` / ``inf`` /
``skipped`` and a one-line message. Executors depend on this module only.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch

from harness import seeding
from harness.errors import ScorerSkipped, one_line
from harness.protocols import Batch, ScoringContext
from harness.registry import Registry, get_registry
from harness.store import Trial, TrialResult
from harness.version import __version__


@runtime_checkable
class DataDirSpace(Protocol):
    """Optional: a space whose builder reads the run's data dir (its arch ids name records of
    its prepared table, as NDS's do): ``build_model`` then gets ``data_dir=`` the run's."""

    builds_from_data_dir: bool


@runtime_checkable
class WeightFreeScorer(Protocol):
    """Optional: a scorer that says whether it needs the network's real weights.

    ``needs_weights = False`` (``params``, ``flops``): the score depends on the architecture
    alone, so ``ctx.build_model`` skips what only weights need: the trial seed, the
    ``--weight-init``/``--bias-init`` schemes and the move to the trial's device (the model
    stays on the CPU, however the run's device is set). A scorer without the attribute needs
    weights (docs/performance.md)."""

    needs_weights: bool


def needs_weights(scorer: object) -> bool:
    """Whether ``scorer`` needs real, initialized weights on the trial's device (the default)."""
    return not isinstance(scorer, WeightFreeScorer) or bool(scorer.needs_weights)


@runtime_checkable
class NonFiniteReasonScorer(Protocol):
    """Optional: a scorer that says, in a few words, why its score can come out NaN or
    infinite (``nonfinite_reason``, e.g. NASWOT's singular kernel): the trial's message, and so
    the report's line on archs left out, then explains the status instead of only naming it."""

    nonfinite_reason: str


# torch's BatchNorm refuses a training-mode batch with one value per channel (one input and a
# 1x1 map); a network that shrinks its input that far cannot be scored on one input at all.
SINGLE_VALUE_BATCHNORM = "Expected more than 1 value per channel when training"


def single_value_batchnorm_message(job: TrialJob) -> str:
    """Why a trial whose network's BatchNorm got one value per channel is skipped, and the
    way on."""
    return (f"{job.trial.scorer} runs this {job.trial.space} network in training mode on a "
            f"batch so small that a BatchNorm sees one value per channel (a 1x1 map of one "
            f"input, e.g. an ImageNet network read at 32x32): batch statistics are undefined; "
            f"a network form of the space that keeps its maps larger (--option "
            f"{job.trial.scorer}.network=FORM; docs/protocol.md lists each space's forms) or a "
            f"larger batch scores it")


def nonfinite_message(scorer: object, value: float) -> str:
    """The message of a trial whose score is ``value`` (NaN or infinite)."""
    shown = "NaN" if math.isnan(value) else str(value)
    reason = scorer.nonfinite_reason if isinstance(scorer, NonFiniteReasonScorer) else ""
    return f"the scorer returned {shown}" + (f": {reason}" if reason else "")


@dataclass(frozen=True)
class TrialJob:
    """One trial as a worker receives it: plain, picklable values only.

    ``inputs``: keyword arguments of ``Dataset.batch`` (None when the scorer needs no inputs);
    ``dataset_plugin``: the plugin that supplies them. ``config``: the scorer's config as the
    trial key hashes it. ``model_options``: the builder options of the trial's network: the
    ground-truth table's (the network the benchmark trained), then those of the network form
    the scorer asks for in this space and the user's ``model_options`` for it.
    """

    trial: Trial
    trial_seed: int
    run_seed: int
    config: dict[str, Any]
    dataset_plugin: str
    num_classes: int
    input_shape: tuple[int, int, int]
    inputs: dict[str, Any] | None
    model_options: dict[str, Any]
    data_dir: str
    device: str


_BATCH_CACHE: OrderedDict[str, Batch | BaseException] = OrderedDict()
_BATCH_CACHE_SIZE = 8


def _input_batch(job: TrialJob, registry: Registry) -> Batch | None:
    """The run's shared batch for ``job`` (one per dataset, size, options and run seed)."""
    if job.inputs is None:
        return None
    key = json.dumps([job.dataset_plugin, job.trial.batch_size, job.inputs, job.run_seed,
                      job.data_dir], sort_keys=True, default=str)
    if key in _BATCH_CACHE:
        _BATCH_CACHE.move_to_end(key)
    else:
        if len(_BATCH_CACHE) >= _BATCH_CACHE_SIZE:
            _BATCH_CACHE.popitem(last=False)
        try:
            plugin = registry.get("dataset", job.dataset_plugin)
            _BATCH_CACHE[key] = plugin.batch(job.trial.batch_size, job.run_seed,
                                             data_dir=Path(job.data_dir), **job.inputs)
        except Exception as exc:  # a missing dataset fails each trial with the same message
            _BATCH_CACHE[key] = exc
    cached = _BATCH_CACHE[key]
    if isinstance(cached, BaseException):
        raise cached
    return cached


class PeakMemory:
    """Peak memory of one trial in MB, exactly what ``harness.store.PEAK_MEMORY_LABEL`` says.

    On a GPU: ``torch.cuda.max_memory_allocated`` after resetting the peak: the most memory
    torch tensors held on the device during the trial. On CPU under Linux: the worker
    process's resident-set high-water mark (``VmHWM``) after resetting it through
    ``/proc/self/clear_refs`` (writing "5", Linux 4.0 and later): the peak resident set of the
    worker during the trial, the interpreter, torch and the cached batch included (a process's
    memory cannot be split by owner, and its growth over the trial is no better: a worker
    reuses what earlier trials freed, so it reads 0 for most trials). Where the peak cannot
    be reset (other systems, a kernel that refuses): None, "not measured"; a lifetime peak
    would not be this trial's.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.reset = False

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            self.reset = _reset_rss_peak()
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def peak_mb(self) -> float | None:
        if self.device.type == "cuda":
            return torch.cuda.max_memory_allocated(self.device) / 2**20
        peak_kb = _proc_status_kb("VmHWM") if self.reset else None
        return None if peak_kb is None else peak_kb / 1024


def _reset_rss_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _proc_status_kb(name: str) -> int | None:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def result_for(job: TrialJob, status: str, message: str, *, score: float | None = None,
               wall_s: float = 0.0, peak_mem_mb: float | None = None,
               device: str | None = None, cpu_s: float | None = None) -> TrialResult:
    """A ``TrialResult`` for ``job`` stamped with versions and time (executors use it too)."""
    return TrialResult(job.trial, score, status, message, wall_s, peak_mem_mb,
                       device or job.device, __version__, torch.__version__,
                       datetime.now(UTC).isoformat(timespec="seconds"), cpu_s)


def apply_init(model: torch.nn.Module, weight_init: str, bias_init: str) -> torch.nn.Module:
    """Apply the registered ``weight_init`` and ``bias_init`` schemes to ``model`` in place."""
    registry = get_registry()
    with torch.no_grad():
        registry.get("weight", weight_init)(model)
        registry.get("bias", bias_init)(model)
    return model


def _model_builder(job: TrialJob, space: Any, device: torch.device,
                   weights: bool = True) -> Callable[..., torch.nn.Module]:
    """``ScoringContext.build_model`` for ``job``: seeded, initialized, on ``device``, training.

    ``weights=False`` (a scorer that declares ``needs_weights = False``): only the structure
    is needed, so the model is built as is on the CPU, without seeding, init schemes or a move.
    """
    trial = job.trial

    def build_model(**options: Any) -> torch.nn.Module:
        if weights:
            seeding.seed_everything(job.trial_seed)
        num_classes = options.pop("num_classes", job.num_classes)
        model = space.build_model(trial.arch_id, num_classes=num_classes,
                                  **_with_data_dir(space, job, {**job.model_options, **options}))
        if not weights:
            return model
        apply_init(model, trial.weight_init, trial.bias_init)
        return model.to(device).train()

    return build_model


def _with_data_dir(space: Any, job: TrialJob, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` plus the run's data dir where the space reads it (``DataDirSpace``)."""
    if isinstance(space, DataDirSpace) and space.builds_from_data_dir:
        return {"data_dir": Path(job.data_dir), **options}
    return options


def _score(job: TrialJob, registry: Registry, device: torch.device, meter: PeakMemory) -> float:
    """The scorer's value for ``job``; inside ``meter``, from a freshly seeded state."""
    trial = job.trial
    space = registry.get("space", trial.space)
    scorer = registry.get("scorer", trial.scorer)
    batch = _input_batch(job, registry)
    if batch is not None:
        batch = batch.to(device)
    with meter:
        generator = seeding.seed_everything(job.trial_seed)
        ctx = ScoringContext(space=space, arch_id=trial.arch_id, dataset=trial.dataset,
                             num_classes=job.num_classes, input_shape=job.input_shape,
                             batch=batch, config=copy.deepcopy(job.config), device=device,
                             trial_seed=job.trial_seed, generator=generator,
                             build_model=_model_builder(job, space, device,
                                                        needs_weights(scorer)),
                             run_seed=job.run_seed, builder_options=dict(job.model_options))
        value = float(scorer.score(ctx))
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    return value


def execute_trial(job: TrialJob, device: str | None = None) -> TrialResult:
    """Run one trial and return its record; never raises for a failing scorer.

    ``device`` overrides ``job.device`` (a worker pinned to one GPU passes ``cuda:N``).
    """
    registry = get_registry()
    device_name = device or job.device
    torch_device = torch.device(device_name)
    start, start_cpu = time.perf_counter(), time.process_time()
    meter = PeakMemory(torch_device)

    def finished(status: str, message: str, **measured: Any) -> TrialResult:
        return result_for(job, status, message, wall_s=time.perf_counter() - start,
                          cpu_s=time.process_time() - start_cpu, device=device_name,
                          **measured)

    try:
        value = _score(job, registry, torch_device, meter)
    except ScorerSkipped as exc:
        return finished("skipped", " ".join(str(exc).split()) or "skipped by the scorer")
    except torch.cuda.OutOfMemoryError as exc:
        torch.cuda.empty_cache()
        return finished("oom", one_line(exc), peak_mem_mb=meter.peak_mb())
    except Exception as exc:  # a failing trial is a row, never a lost run
        if isinstance(exc, ValueError) and SINGLE_VALUE_BATCHNORM in str(exc):
            return finished("skipped", single_value_batchnorm_message(job))
        return finished("error", one_line(exc), peak_mem_mb=meter.peak_mb())
    if not math.isfinite(value):
        message = nonfinite_message(registry.get("scorer", job.trial.scorer), value)
        return finished("nan" if math.isnan(value) else "inf", message,
                        peak_mem_mb=meter.peak_mb())
    return finished("ok", "", score=value, peak_mem_mb=meter.peak_mb())


def execute_in_process(jobs: Iterable[TrialJob]) -> Iterator[TrialResult]:
    """Run jobs one after another in this process (``--workers 0``: no timeouts, no isolation)."""
    seeding.use_deterministic_algorithms()
    for job in jobs:
        yield execute_trial(job)
