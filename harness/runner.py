"""Expands a run's selection into trials, skips finished ones, executes the rest, stores results.

``plan_run(config)`` resolves names, loads each space's ground truth (or its bundled demo),
samples archs and builds one picklable ``TrialJob`` per trial not yet in the store.
``execute_plan(plan)`` hands the jobs to an executor and writes each result as it arrives: the
driver is the only writer, so a killed run loses at most the trials in flight, and running the
same command again finishes the rest. ``execute_trial(job)`` is what a worker process runs.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import random
import re
import resource
import sys
import time
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

import harness
from harness import seeding
from harness.datadir import resolve_data_dir
from harness.errors import ConfigError, DataNotPreparedError, ScorerSkipped
from harness.groundtruth.table import GroundTruthTable, file_sha256
from harness.protocols import Batch, ScoringContext
from harness.registry import Registry, get_registry
from harness.store import Trial, TrialResult, TrialStore

RUN_CONFIG_FILE = "run.json"
FAILED_STATUSES = ("nan", "inf", "oom", "error", "timeout")
RETRYABLE_STATUSES = ("oom", "error", "timeout")
MESSAGE_CHARS = 300
DEFAULT_SAMPLES = 100


@dataclass
class RunConfig:
    """Everything that decides a run's trials and how they execute (saved as ``run.json``).

    ``spaces`` / ``scorers``: names, or ``["all"]``. ``datasets``: trial datasets, ``["all"]``,
    or None for each table's first dataset. ``samples``: archs per space (None = all), drawn
    with ``sample_seed``; ``arch_list``: a file of arch ids instead. ``seeds``: run seeds, each
    a separate trial. ``options``: ``{scorer: {key: value}}`` overrides of scorer defaults.
    ``images``: a file or folder whose images replace the datasets' inputs. ``workers``: worker
    processes (0 = run in this process, without timeouts). ``out``: the run folder (None = a
    folder under ``runs/`` named after the configuration's hash, so the same command resumes).
    """

    spaces: list[str] = field(default_factory=lambda: ["all"])
    scorers: list[str] = field(default_factory=lambda: ["all"])
    datasets: list[str] | None = None
    samples: int | None = DEFAULT_SAMPLES
    sample_seed: int = 0
    arch_list: str | None = None
    seeds: list[int] = field(default_factory=lambda: [0])
    weight_inits: list[str] = field(default_factory=lambda: ["default"])
    bias_inits: list[str] = field(default_factory=lambda: ["default"])
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    images: str | None = None
    device: str = "cpu"
    workers: int = 1
    trial_timeout_s: float | None = None
    executor: str = "local"
    data_dir: str | None = None
    out: str | None = None
    retry_failed: bool = False

    # Fields that change how a run executes but never which trials it holds or their scores.
    EXECUTION_FIELDS = ("device", "workers", "trial_timeout_s", "executor", "out", "retry_failed")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown run configuration keys {unknown}; known: {sorted(known)}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def selection_hash(self) -> str:
        """Hash of what the run computes (not of how or where): names the default run folder."""
        selection = {k: v for k, v in self.to_dict().items() if k not in self.EXECUTION_FIELDS}
        return canonical_hash(selection)

    def run_dir(self) -> Path:
        return Path(self.out) if self.out else Path("runs") / f"compare-{self.selection_hash()}"


@dataclass(frozen=True)
class TrialJob:
    """One trial as a worker receives it: plain, picklable values only.

    ``inputs``: keyword arguments of ``Dataset.batch`` (None when the scorer needs no inputs);
    ``dataset_plugin``: the plugin that supplies them. ``model_options``: builder options from
    the ground-truth table's source (the network the benchmark trained).
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


@dataclass
class SpacePlan:
    """One selected space: its ground truth, the trial datasets and the sampled archs."""

    name: str
    table: GroundTruthTable
    bundled: bool
    datasets: list[str]
    arch_ids: list[str]


@dataclass
class RunPlan:
    """What ``execute_plan`` runs: the jobs not in the store yet, and why others are absent."""

    config: RunConfig
    run_dir: Path
    spaces: list[SpacePlan]
    skipped_spaces: dict[str, str]
    scorer_configs: dict[tuple[str, str], dict[str, Any]]
    trials: list[Trial]
    jobs: list[TrialJob]
    already_done: int
    notes: list[str]


@dataclass
class RunSummary:
    """What a run did: trials in the selection, already stored, run now, and their statuses."""

    run_dir: Path
    total: int
    already_done: int
    ran: int
    status_counts: dict[str, int]
    interrupted: bool = False


# -- configuration helpers --------------------------------------------------------------------
def canonical_hash(value: Any) -> str:
    """First 12 hex digits of the sha256 of ``value``'s canonical JSON."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def parse_seeds(text: str) -> list[int]:
    """``"0-2"`` -> [0, 1, 2]; ``"0,5,7-8"`` -> [0, 5, 7, 8]."""
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        match = re.fullmatch(r"(-?\d+)(?:-(\d+))?", part)
        if not match:
            raise ConfigError(f"--seeds {text!r}: write numbers and ranges, e.g. 0-2 or 0,3,5")
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) else low
        if high < low:
            raise ConfigError(f"--seeds {text!r}: range {part} runs backwards")
        seeds.extend(range(low, high + 1))
    if not seeds:
        raise ConfigError("--seeds needs at least one seed")
    return list(dict.fromkeys(seeds))


def parse_option(text: str) -> tuple[str, list[str], Any]:
    """``"naswot.inputs.split=train"`` -> ("naswot", ["inputs", "split"], "train").

    The value is read as JSON where it parses (numbers, booleans, lists), else kept as text.
    """
    target, sep, raw = text.partition("=")
    scorer, dot, key = target.partition(".")
    if not sep or not dot or not scorer or not key:
        raise ConfigError(f"--option {text!r}: write SCORER.KEY=VALUE, e.g. naswot.batch_size=64")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return scorer, key.split("."), value


def add_option(options: dict[str, dict[str, Any]], text: str) -> None:
    """Merge one ``--option`` into ``options`` (``{scorer: nested overrides}``)."""
    scorer, path, value = parse_option(text)
    node = options.setdefault(scorer, {})
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def _deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return message if len(message) <= MESSAGE_CHARS else message[:MESSAGE_CHARS - 3] + "..."


# -- planning ---------------------------------------------------------------------------------
def _select_spaces(config: RunConfig, registry: Registry, data_dir: Path,
                   notes: list[str]) -> tuple[list[tuple[Any, GroundTruthTable, bool]],
                                              dict[str, str]]:
    """(space, table, bundled) per selected space, and the skipped spaces with the reason."""
    names = registry.names("space") if config.spaces == ["all"] else config.spaces
    chosen: list[tuple[Any, GroundTruthTable, bool]] = []
    missing: dict[str, tuple[Any, str]] = {}
    for name in names:
        space = registry.get("space", name)
        try:
            chosen.append((space, space.ground_truth(data_dir), False))
        except (DataNotPreparedError, FileNotFoundError) as exc:
            missing[name] = (space, str(exc) or prepare_command(name))
    skipped: dict[str, str] = {}
    use_bundled = config.spaces != ["all"] or not chosen
    for name, (space, reason) in missing.items():
        bundled = space.bundled_ground_truth() if (
            use_bundled and hasattr(space, "bundled_ground_truth")) else None
        if bundled is not None:
            chosen.append((space, bundled, True))
            notes.append(f"{name}: no prepared ground truth under {data_dir}; using the bundled "
                         f"demo benchmark ({', '.join(bundled.datasets)})")
        elif config.spaces == ["all"]:
            skipped[name] = reason
        else:
            raise DataNotPreparedError(reason)
    if not chosen:
        detail = "; ".join(f"{n}: {r}" for n, r in skipped.items()) or "no space is installed"
        raise DataNotPreparedError(f"nothing to run: no space has prepared ground truth ({detail})")
    return chosen, skipped


def prepare_command(space: str) -> str:
    """The generic command that prepares ``space``'s ground truth."""
    return f"harness data prepare {space} --source PATH"


def _trial_datasets(config: RunConfig, table: GroundTruthTable) -> list[str]:
    if config.datasets is None:
        return table.datasets[:1]
    if config.datasets == ["all"]:
        return table.datasets
    return [d for d in config.datasets if d in table.datasets]


def read_arch_list(path: Path, space: Any) -> list[str]:
    """Arch ids of an ``--arch-list`` file: one arch per line (``#`` comments), or one JSON list.

    A space may read its own formats (optional method ``read_arch_list(path)``). Otherwise each
    line goes through ``space.parse_arch``; when a line does not parse, the whole file is read as
    a JSON list whose elements (strings, or encodings such as nested op-code lists) are parsed.
    """
    custom = getattr(space, "read_arch_list", None)
    if callable(custom):
        return list(custom(path))
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"--arch-list {path}: cannot read it ({exc})") from exc
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    try:
        return [space.parse_arch(line) for line in lines]
    except ConfigError as line_error:
        try:
            entries = json.loads(text)
        except json.JSONDecodeError:
            raise line_error from None
        if not isinstance(entries, list):
            raise line_error from None
        return [space.parse_arch(entry if isinstance(entry, str) else json.dumps(entry))
                for entry in entries]


def _sample_archs(config: RunConfig, space: Any, table: GroundTruthTable) -> list[str]:
    if config.arch_list:
        return list(dict.fromkeys(read_arch_list(Path(config.arch_list), space)))
    index = [str(arch) for arch in table.frame.index]
    if config.samples is None or config.samples >= len(index):
        return index
    if config.samples < 1:
        raise ConfigError(f"--samples must be at least 1, got {config.samples}")
    return random.Random(config.sample_seed).sample(index, config.samples)


def _scorer_applies(scorer: Any, space: Any) -> bool:
    """Optional scorer method ``applies_to(space) -> bool`` (default: every space)."""
    applies = getattr(scorer, "applies_to", None)
    return bool(applies(space)) if callable(applies) else True


def scorer_config(scorer: Any, overrides: dict[str, Any], images: Path | None,
                  images_sha256: str | None) -> dict[str, Any]:
    """The scorer's defaults with the user's overrides, resolved, plus the input source."""
    unknown = sorted(set(overrides) - set(scorer.defaults))
    if unknown:
        raise ConfigError(f"--option {scorer.name}.{unknown[0]}: {scorer.name} has no option "
                          f"{unknown[0]!r}; its options: {', '.join(sorted(scorer.defaults))}")
    config = _deep_merge(scorer.defaults, overrides)
    resolve = getattr(scorer, "resolve_config", None)
    if callable(resolve):
        config = resolve(config)
    if images is not None and scorer.needs_inputs:
        config["input_source"] = {"images": str(images), "sha256": images_sha256}
    if "batch_size" not in config:
        raise ConfigError(f"scorer {scorer.name!r} has no batch_size in its defaults")
    return config


def plan_run(config: RunConfig, registry: Registry | None = None) -> RunPlan:
    """Resolve the selection into trials and the jobs still to run (resume = set difference)."""
    registry = registry or get_registry()
    data_dir = resolve_data_dir(config.data_dir)
    notes: list[str] = []
    for name in config.weight_inits:
        registry.get("weight", name)
    for name in config.bias_inits:
        registry.get("bias", name)
    registry.get("executor", config.executor)
    if config.device not in ("cpu", "cuda") and not config.device.startswith("cuda:"):
        raise ConfigError(f"--device {config.device!r}: use cpu, cuda or cuda:N")
    space_names = registry.names("space") if config.spaces == ["all"] else config.spaces
    for name in space_names:
        registry.get("space", name)
    scorer_names = registry.names("scorer") if config.scorers == ["all"] else config.scorers
    scorers = [registry.get("scorer", name) for name in scorer_names]
    if not scorers:
        raise ConfigError("no scorer is installed; `harness plugins` lists what is")
    unknown_options = sorted(set(config.options) - set(scorer_names))
    if unknown_options:
        raise ConfigError(f"--option names scorer {unknown_options[0]!r}, which is not in this "
                          f"run's scorers ({', '.join(scorer_names)})")
    images = Path(config.images).expanduser().resolve() if config.images else None
    if images is not None and not images.exists():
        raise ConfigError(f"--images {images}: no such file or folder")
    if images is not None:
        registry.get("dataset", "images")
    images_sha256 = file_sha256(images) if images is not None else None
    configs: dict[str, dict[str, Any]] = {}
    for scorer in scorers:
        try:
            configs[scorer.name] = scorer_config(scorer, config.options.get(scorer.name, {}),
                                                 images, images_sha256)
        except ConfigError as exc:
            if config.scorers != ["all"]:
                raise
            notes.append(f"scorer {scorer.name} left out of --scorers all: {exc}")
    scorers = [scorer for scorer in scorers if scorer.name in configs]
    hashes = {name: canonical_hash(c) for name, c in configs.items()}

    chosen, skipped = _select_spaces(config, registry, data_dir, notes)
    if config.arch_list and len(chosen) > 1:
        raise ConfigError("--arch-list names archs of one space; select one space with --spaces")
    space_plans: list[SpacePlan] = []
    for space, table, bundled in chosen:
        datasets = _trial_datasets(config, table)
        if not datasets:
            notes.append(f"{space.name}: none of the datasets {config.datasets} has ground "
                         f"truth (it has {', '.join(table.datasets)}); skipped")
            continue
        space_plans.append(SpacePlan(space.name, table, bundled, datasets,
                                     _sample_archs(config, space, table)))
    if config.datasets not in (None, ["all"]):
        used = {d for plan in space_plans for d in plan.datasets}
        for dataset in config.datasets:
            if dataset not in used:
                raise ConfigError(f"--datasets {dataset!r}: no selected space has ground truth "
                                  f"for it")

    trials: list[Trial] = []
    jobs_by_trial: dict[Trial, TrialJob] = {}
    for plan in space_plans:
        space = registry.get("space", plan.name)
        model_options = dict(plan.table.source.get("model_options", {}) or {})
        for dataset in plan.datasets:
            plugin_name = space.datasets.get(dataset, dataset)
            dataset_plugin = registry.get("dataset", plugin_name)
            applicable = []
            for scorer in scorers:
                if not _scorer_applies(scorer, space):
                    continue
                cfg = configs[scorer.name]
                inputs = None
                input_plugin = plugin_name
                if scorer.needs_inputs:
                    inputs = dict(cfg.get("inputs", {}) or {})
                    if images is not None:
                        inputs.update(path=str(images), like=plugin_name)
                        input_plugin = "images"
                applicable.append((scorer.name, cfg, inputs, input_plugin))
            # Arch-major order: a run cut short has every scorer on the same archs, so its
            # partial report still compares scorers like for like.
            for seed in config.seeds:
                for arch_id in plan.arch_ids:
                    trial_seed = seeding.derive_trial_seed(seed, plan.name, arch_id)
                    for name, cfg, inputs, input_plugin in applicable:
                        for weight_init in config.weight_inits:
                            for bias_init in config.bias_inits:
                                trial = Trial(plan.name, dataset, arch_id, name, hashes[name],
                                              seed, weight_init, bias_init,
                                              int(cfg["batch_size"]))
                                trials.append(trial)
                                jobs_by_trial[trial] = TrialJob(
                                    trial, trial_seed, seed, cfg, input_plugin,
                                    int(dataset_plugin.num_classes),
                                    tuple(dataset_plugin.input_shape), inputs, model_options,
                                    str(data_dir), config.device)
    trials = list(dict.fromkeys(trials))
    run_dir = config.run_dir()
    done: set[Trial] = set()
    if (run_dir / "trials.sqlite").exists():
        with TrialStore.for_run(run_dir) as store:
            if config.retry_failed:
                store.delete_status(RETRYABLE_STATUSES)
            done = store.finished()
    jobs = [jobs_by_trial[t] for t in trials if t not in done]
    return RunPlan(config, run_dir, space_plans, skipped,
                   {(name, hashes[name]): configs[name] for name in configs}, trials, jobs,
                   len(trials) - len(jobs), notes)


# -- executing --------------------------------------------------------------------------------
def write_run_config(plan: RunPlan, command: list[str] | None) -> Path:
    """``RUN_DIR/run.json``: the configuration (``harness compare --config`` reads it back)."""
    path = plan.run_dir / RUN_CONFIG_FILE
    document = {
        "command": command or [],
        "config": plan.config.to_dict(),
        "harness_version": harness.__version__,
        "torch_version": torch.__version__,
        "python_version": sys.version.split()[0],
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "spaces": {p.name: {"bundled_demo": p.bundled, "datasets": p.datasets,
                            "n_archs": len(p.arch_ids), "ground_truth_source": p.table.source}
                   for p in plan.spaces},
        "skipped_spaces": plan.skipped_spaces,
        "scorer_configs": {f"{name}:{h}": cfg for (name, h), cfg in plan.scorer_configs.items()},
        "n_trials": len(plan.trials),
    }
    plan.run_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)
    return path


def read_run_config(path: Path) -> RunConfig:
    """The ``RunConfig`` saved in a ``run.json`` (or a run folder holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / RUN_CONFIG_FILE
    try:
        document = json.loads(path.read_text())
        return RunConfig.from_dict(document["config"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"--config {path}: not a run.json written by harness compare "
                          f"({_one_line(exc)})") from exc


def execute_plan(plan: RunPlan, *, progress: bool = True, command: list[str] | None = None,
                 registry: Registry | None = None) -> RunSummary:
    """Run ``plan``'s jobs on its executor, writing each result to the store as it arrives."""
    registry = registry or get_registry()
    write_run_config(plan, command)
    counts: Counter[str] = Counter()
    interrupted = False
    with TrialStore.for_run(plan.run_dir) as store:
        for (name, config_hash), cfg in plan.scorer_configs.items():
            store.save_scorer_config(config_hash, name, cfg)
        for space_plan in plan.spaces:
            store.save_ground_truth(space_plan.table, space_plan.arch_ids)
        executor = registry.get("executor", plan.config.executor)
        bar = _progress_bar(len(plan.trials), plan.already_done, progress)
        results = executor.run(plan.jobs, workers=plan.config.workers, device=plan.config.device,
                               trial_timeout_s=plan.config.trial_timeout_s)
        try:
            for result in results:
                store.add_results([result])
                counts[result.status] += 1
                if bar is not None:
                    bar.update(1)
                    failures = sum(counts[s] for s in FAILED_STATUSES)
                    bar.set_postfix(failures=failures, refresh=False)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            close = getattr(results, "close", None)
            if callable(close):
                close()
            if bar is not None:
                bar.close()
    return RunSummary(plan.run_dir, len(plan.trials), plan.already_done, sum(counts.values()),
                      dict(counts), interrupted)


def _progress_bar(total: int, done: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=done, desc="trials", unit="trial", dynamic_ncols=True,
                file=sys.stderr)


def run(config: RunConfig, *, progress: bool = True, command: list[str] | None = None,
        registry: Registry | None = None) -> RunSummary:
    """Plan and execute ``config`` (what ``harness compare`` does before its report)."""
    return execute_plan(plan_run(config, registry), progress=progress, command=command,
                        registry=registry)


# -- the worker side --------------------------------------------------------------------------
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
    """Peak memory of one trial in MB.

    On a GPU: ``torch.cuda.max_memory_allocated`` after resetting the peak (tensor memory).
    On CPU under Linux: the process's resident-set high-water mark (``VmHWM``) after resetting
    it through ``/proc/self/clear_refs``, minus the resident set before the trial, i.e. what
    the trial added at its peak. Elsewhere: ``ru_maxrss``, the process's lifetime peak (an
    upper bound that includes the interpreter and torch).
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.baseline_kb: int | None = None

    def __enter__(self) -> PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        elif _reset_rss_peak():
            self.baseline_kb = _proc_status_kb("VmRSS")
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def peak_mb(self) -> float | None:
        if self.device.type == "cuda":
            return torch.cuda.max_memory_allocated(self.device) / 2**20
        peak_kb = _proc_status_kb("VmHWM") if self.baseline_kb is not None else None
        if peak_kb is not None and self.baseline_kb is not None:
            return max(peak_kb - self.baseline_kb, 0) / 1024
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024


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
               device: str | None = None) -> TrialResult:
    """A ``TrialResult`` for ``job`` stamped with versions and time (executors use it too)."""
    return TrialResult(job.trial, score, status, message, wall_s, peak_mem_mb,
                       device or job.device, harness.__version__, torch.__version__,
                       datetime.now(UTC).isoformat(timespec="seconds"))


def execute_trial(job: TrialJob, device: str | None = None) -> TrialResult:
    """Run one trial and return its record; never raises for a failing scorer.

    ``device`` overrides ``job.device`` (a worker pinned to one GPU passes ``cuda:N``).
    """
    registry = get_registry()
    device_name = device or job.device
    torch_device = torch.device(device_name)
    trial = job.trial
    start = time.perf_counter()
    meter = PeakMemory(torch_device)
    try:
        space = registry.get("space", trial.space)
        scorer = registry.get("scorer", trial.scorer)
        batch = _input_batch(job, registry)
        if batch is not None:
            batch = batch.to(torch_device)

        def build_model(**options: Any) -> torch.nn.Module:
            seeding.seed_everything(job.trial_seed)
            num_classes = options.pop("num_classes", job.num_classes)
            model = space.build_model(trial.arch_id, num_classes=num_classes,
                                      **{**job.model_options, **options})
            seeding.apply_init(model, trial.weight_init, trial.bias_init)
            return model.to(torch_device).train()

        with meter:
            generator = seeding.seed_everything(job.trial_seed)
            ctx = ScoringContext(space=space, arch_id=trial.arch_id, dataset=trial.dataset,
                                 num_classes=job.num_classes, input_shape=job.input_shape,
                                 batch=batch, config=copy.deepcopy(job.config),
                                 device=torch_device, seed=job.trial_seed, generator=generator,
                                 build_model=build_model, run_seed=job.run_seed)
            value = float(scorer.score(ctx))
            if torch_device.type == "cuda":
                torch.cuda.synchronize(torch_device)
    except ScorerSkipped as exc:
        return result_for(job, "skipped", " ".join(str(exc).split()) or "skipped by the scorer",
                          wall_s=time.perf_counter() - start, device=device_name)
    except torch.cuda.OutOfMemoryError as exc:
        torch.cuda.empty_cache()
        return result_for(job, "oom", _one_line(exc), wall_s=time.perf_counter() - start,
                          peak_mem_mb=meter.peak_mb(), device=device_name)
    except Exception as exc:  # a failing trial is a row, never a lost run
        return result_for(job, "error", _one_line(exc), wall_s=time.perf_counter() - start,
                          peak_mem_mb=meter.peak_mb(), device=device_name)
    wall_s = time.perf_counter() - start
    peak = meter.peak_mb()
    if math.isnan(value):
        return result_for(job, "nan", "the scorer returned NaN", wall_s=wall_s,
                          peak_mem_mb=peak, device=device_name)
    if math.isinf(value):
        return result_for(job, "inf", f"the scorer returned {value}", wall_s=wall_s,
                          peak_mem_mb=peak, device=device_name)
    return result_for(job, "ok", "", score=value, wall_s=wall_s, peak_mem_mb=peak,
                      device=device_name)


def execute_in_process(jobs: Iterable[TrialJob]) -> Iterator[TrialResult]:
    """Run jobs one after another in this process (``--workers 0``: no timeouts, no isolation)."""
    seeding.use_deterministic_algorithms()
    for job in jobs:
        yield execute_trial(job)


def status_line(summary: RunSummary) -> str:
    """One line for the terminal: how many trials ran and how they ended."""
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(summary.status_counts.items())) or "none"
    state = "interrupted" if summary.interrupted else "done"
    return (f"{state}: {summary.ran} trials run now ({statuses}), {summary.already_done} "
            f"already in the store, {summary.total} in the selection -> {summary.run_dir}")

