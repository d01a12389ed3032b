"""A run's plan: its selection expanded into trials, and the jobs not in the store yet.

``plan_run(config)`` resolves the names, selects spaces, datasets and archs
(``harness.selection``), resolves each scorer's options and lays out the trial grid, one picklable
``TrialJob`` per trial. It reads the run's store to leave finished trials out (resume = set
difference) and writes nothing: with ``--retry-failed`` the failed trials
(``store.RETRYABLE_STATUSES``) are planned again,
and the driver (``harness.execute``) forgets their old rows before it runs them.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from harness import seeding
from harness.config import RunConfig
from harness.datadir import resolve_data_dir
from harness.errors import ConfigError, HarnessError
from harness.groundtruth.table import file_sha256
from harness.hashing import canonical_hash
from harness.options import NETWORK_DEFAULTS, check_options
from harness.preflight import check_execution, check_inputs, check_run_dir
from harness.protocols import BENCHMARK_FORM, NetworkFormSpace
from harness.registry import Registry, get_registry
from harness.selection import SpacePlan, select_spaces, space_names
from harness.store import RETRYABLE_STATUSES, STORE_FILE, Trial, TrialStore, trial_key_config
from harness.trial import TrialJob


@runtime_checkable
class ConfiguredScorer(Protocol):
    """Optional: a scorer that rewrites its merged config before the config is hashed into the
    trial key (the generic ``gennas`` scorer replaces a task file path by the task's content and
    hash, so two different tasks never share a store key)."""

    def resolve_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """The config to use (and hash) instead of ``config``."""


@runtime_checkable
class CountedDataset(Protocol):
    """Optional: a dataset that says, when a run is planned, how many distinct images a batch
    can draw, so batch sizes are capped there and trial keys name the batch actually used (the
    ``images`` dataset: the files of ``--images``)."""

    def image_count(self, *, data_dir: Path | None = None, **options: Any) -> int:
        """The number of images ``batch(..., **options)`` draws from."""


@runtime_checkable
class SampleImagesDataset(Protocol):
    """Optional: a dataset that ships a few real images to stand in when it is not prepared."""

    def sample_images(self, data_dir: Path) -> tuple[Path, int] | None:
        """(an ``.npz`` the ``images`` dataset reads, its image count) when the dataset's files
        are absent under ``data_dir``; None when they are there."""


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

    def summary(self) -> dict[str, Any]:
        """What the plan selected, as ``run.json`` records it beside the configuration."""
        return {
            "spaces": {p.name: {"bundled": p.bundled, "datasets": p.datasets,
                                "n_archs": len(p.arch_ids), "ground_truth_source": p.table.source}
                       for p in self.spaces},
            "skipped_spaces": self.skipped_spaces,
            "scorer_configs": {f"{name}:{config_hash}": config
                               for (name, config_hash), config in self.scorer_configs.items()},
            "n_trials": len(self.trials),
        }


@dataclass(frozen=True)
class _ScorerSetup:
    """One scorer of the run: its resolved config (network options included; a trial key holds
    what they resolve to in the trial's space), whether it reads inputs."""

    name: str
    config: dict[str, Any]
    needs_inputs: bool


@dataclass(frozen=True)
class _KeyedSetup:
    """A scorer's setup in one space: the config its trial keys hash (``key_config``, stored
    beside the trials), that hash, the builder options of the network it asks for there, and
    the config its scorer reads (``key_config`` less those builder options)."""

    setup: _ScorerSetup
    key_config: dict[str, Any]
    config_hash: str
    builder_options: dict[str, Any]
    scorer_config: dict[str, Any]


def plan_run(config: RunConfig, registry: Registry | None = None) -> RunPlan:
    """Resolve the selection into trials and the jobs still to run (resume = set difference)."""
    registry = registry or get_registry()
    data_dir = resolve_data_dir(config.data_dir)
    notes: list[str] = []
    _check_names(config, registry)
    check_execution(config)
    run_dir = config.run_dir()
    check_run_dir(run_dir)
    scorers = _selected_scorers(config, registry)
    images = _images_path(config, registry)
    sources = _InputSources(config, scorers, images, notes,
                            _scorer_setups(config, scorers, images, notes,
                                           sample_count=_image_count(images, registry)))
    spaces, skipped = select_spaces(config, registry, data_dir, notes)
    jobs: dict[Trial, TrialJob] = {}
    keyed: dict[tuple[str, str], _KeyedSetup] = {}
    for space_plan in spaces:
        jobs.update(_space_jobs(config, registry, space_plan, sources, data_dir, keyed, notes))
    check_inputs(jobs.values(), registry)
    trials = list(jobs)
    done = _finished_trials(run_dir, config.retry_failed)
    todo = [jobs[trial] for trial in trials if trial not in done]
    scorer_configs = {key: setup.key_config for key, setup in keyed.items()}
    return RunPlan(config, run_dir, spaces, skipped, scorer_configs, trials, todo,
                   len(trials) - len(todo), notes)


# -- names and options ------------------------------------------------------------------------
def _check_names(config: RunConfig, registry: Registry) -> None:
    """Fail early on an unknown init, executor or space name."""
    for name in config.weight_inits:
        registry.get("weight", name)
    for name in config.bias_inits:
        registry.get("bias", name)
    registry.get("executor", config.executor)
    for name in space_names(config.spaces, registry):
        registry.get("space", name)


def _selected_scorers(config: RunConfig, registry: Registry) -> list[Any]:
    """The scorer plugins of ``--scorers``; ``--option`` may only name one of them."""
    scorer_names = (registry.names("scorer") if config.scorers == ["all"]
                    else expand_aggregates(config.scorers, registry))
    scorers = [registry.get("scorer", name) for name in scorer_names]
    if not scorers:
        raise ConfigError("no scorer is installed; `harness plugins` lists what is")
    unknown_options = sorted(set(config.options) - set(scorer_names))
    if unknown_options:
        raise ConfigError(f"--option names scorer {unknown_options[0]!r}, which is not in this "
                          f"run's scorers ({', '.join(scorer_names)})")
    return scorers


def expand_aggregates(names: list[str], registry: Registry) -> list[str]:
    """Scorer names with each registered aggregate's name (``protocols.Aggregate``) replaced by
    the scorers it reads (an inner aggregate's included), each scorer once: naming an aggregate
    in ``--scorers`` runs its scorers."""
    aggregates = set(registry.names("aggregate"))
    expanded: list[str] = []
    for name in names:
        parts = _aggregate_scorers(name, registry) if name in aggregates else [name]
        missing = [part for part in parts if part != name
                   and part not in registry.names("scorer")]
        if missing:
            raise ConfigError(f"aggregate {name!r} combines scorer(s) {', '.join(missing)}, "
                              f"which no installed plugin registers; install them, or run "
                              f"the other parts and combine with `harness report --aggregate`")
        expanded += parts
    return list(dict.fromkeys(expanded))


def _aggregate_scorers(name: str, registry: Registry, within: tuple[str, ...] = ()) -> list[str]:
    """The scorers the registered aggregate ``name`` reads, through its inner aggregates."""
    if name in within:
        raise ConfigError(f"aggregate {name!r} contains itself ({' -> '.join([*within, name])})")
    aggregates = set(registry.names("aggregate"))
    return [scorer for part in registry.get("aggregate", name).parts for scorer in
            (_aggregate_scorers(part, registry, (*within, name)) if part in aggregates
             else [part])]


def _images_path(config: RunConfig, registry: Registry) -> Path | None:
    """The resolved ``--images`` file or folder (None without one)."""
    if not config.images:
        return None
    images = Path(config.images).expanduser().resolve()
    if not images.exists():
        raise ConfigError(f"--images {images}: no such file or folder")
    registry.get("dataset", "images")
    return images


def _image_count(images: Path | None, registry: Registry) -> int | None:
    """How many images ``--images`` holds (None without it, or when the ``images`` plugin
    cannot say): batch sizes are capped to it, so a trial's key is the batch it uses."""
    plugin = registry.get("dataset", "images") if images is not None else None
    if not isinstance(plugin, CountedDataset):
        return None
    try:
        return plugin.image_count(path=str(images))
    except HarnessError as exc:
        raise ConfigError(f"--images: {exc}") from None


def _scorer_setups(config: RunConfig, scorers: list[Any], images: Path | None,
                   notes: list[str], sample_count: int | None = None,
                   bundled: bool = False) -> list[_ScorerSetup]:
    """Each scorer's resolved config; under ``--scorers all`` one that cannot resolve (and has
    no ``--option``) is noted. ``sample_count``: ``images`` holds that many images; larger
    batch sizes are capped to it (with a note), so trial keys name the batch actually used.
    ``bundled``: ``images`` is a dataset's bundled sample, recorded by file name, since the
    path depends on where the package is installed."""
    images_sha256 = file_sha256(images) if images is not None else None
    setups: list[_ScorerSetup] = []
    for scorer in scorers:
        try:
            resolved = scorer_config(scorer, config.options.get(scorer.name, {}), images,
                                     images_sha256)
        except ConfigError as exc:
            if config.scorers != ["all"] or scorer.name in config.options:
                raise  # a scorer the user named, or gave an --option to, must run
            notes.append(f"scorer {scorer.name} left out of --scorers all: {exc}")
            continue
        if bundled and scorer.needs_inputs:
            resolved["input_source"]["images"] = f"bundled:{images.name}"
        if sample_count is not None and scorer.needs_inputs:
            if resolved["batch_size"] > sample_count:
                notes.append(f"{scorer.name}: batch size {resolved['batch_size']} -> "
                             f"{sample_count}, all the images there are ({images.name})")
                resolved["batch_size"] = sample_count
        setups.append(_ScorerSetup(scorer.name, resolved, bool(scorer.needs_inputs)))
    return setups


def scorer_config(scorer: Any, overrides: dict[str, Any], images: Path | None,
                  images_sha256: str | None) -> dict[str, Any]:
    """The scorer's defaults with the user's overrides, resolved, plus the input source."""
    defaults = {**NETWORK_DEFAULTS, **scorer.defaults}
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise ConfigError(f"--option {scorer.name}.{unknown[0]}: {scorer.name} has no option "
                          f"{unknown[0]!r}; its options: {', '.join(sorted(defaults))}")
    config = _deep_merge(defaults, overrides)
    check_options(scorer, config)
    _check_model_options(scorer.name, config["model_options"])
    if isinstance(scorer, ConfiguredScorer):
        config = scorer.resolve_config(config)
    if images is not None and scorer.needs_inputs:
        config["input_source"] = {"images": str(images), "sha256": images_sha256}
    if "batch_size" not in config:
        raise ConfigError(f"scorer {scorer.name!r} has no batch_size in its defaults")
    return config


def _check_model_options(scorer: str, model_options: Any) -> None:
    """``model_options`` must map space names to builder options."""
    if not isinstance(model_options, dict) or not all(
            isinstance(options, dict) for options in model_options.values()):
        raise ConfigError(f"--option {scorer}.model_options: give builder options per space, "
                          f"e.g. {scorer}.model_options.SPACE.OPTION=VALUE; got {model_options!r}")


def network_builder_options(config: dict[str, Any], space: Any) -> dict[str, Any]:
    """The builder options of the network ``config`` asks for in ``space``: those of its network
    form there (``NetworkFormSpace``; none for the benchmark's own network, or a form the
    space does not list), then the user's ``model_options`` for that space."""
    user = (config.get("model_options") or {}).get(space.name) or {}
    return {**_network_forms(space).get(config.get("network", BENCHMARK_FORM), {}), **user}


def _network_forms(space: Any) -> dict[str, dict[str, Any]]:
    """The forms ``space`` builds besides its benchmark network, with their builder options."""
    return space.network_forms if isinstance(space, NetworkFormSpace) else {}


def _form_note(setup: _ScorerSetup, space: Any) -> str | None:
    """Why ``setup`` gets ``space``'s benchmark network although it asks for another form."""
    form = setup.config.get("network", BENCHMARK_FORM)
    forms = _network_forms(space)
    if form == BENCHMARK_FORM or form in forms:
        return None
    known = ", ".join([BENCHMARK_FORM, *forms]) if forms else "only its benchmark network"
    return (f"{setup.name} asks for the {form!r} network form, which {space.name} does not "
            f"build (it builds {known}): its benchmark network is scored")


def _deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


# -- the trial grid ---------------------------------------------------------------------------
def _space_jobs(config: RunConfig, registry: Registry, space_plan: SpacePlan,
                sources: _InputSources, data_dir: Path,
                keyed_setups: dict[tuple[str, str], _KeyedSetup], notes: list[str]
                ) -> dict[Trial, TrialJob]:
    """One job per trial of one space: datasets x seeds x archs x scorers x inits, in order;
    each scorer's setup in this space is added to ``keyed_setups`` by (name, config hash).

    Arch-major order: a run cut short has every scorer on the same archs, so its partial
    report still compares scorers like for like.
    """
    space = registry.get("space", space_plan.name)
    table_options = dict(space_plan.table.source.get("model_options", {}) or {})
    jobs: dict[Trial, TrialJob] = {}
    for dataset in space_plan.datasets:
        plugin_name = space.datasets.get(dataset, dataset)
        dataset_plugin = registry.get("dataset", plugin_name)
        images, setups = sources.for_dataset(dataset_plugin, data_dir)
        scorer_inputs = [(_keyed(setup, space, notes), *_scorer_inputs(setup, plugin_name, images))
                         for setup in setups]
        keyed_setups.update(((keyed.setup.name, keyed.config_hash), keyed)
                            for keyed, *_ in scorer_inputs)
        grid = itertools.product(config.seeds, space_plan.arch_ids, scorer_inputs,
                                 config.weight_inits, config.bias_inits)
        for seed, arch_id, (keyed, inputs, input_plugin), weight_init, bias_init in grid:
            trial = Trial(space_plan.name, dataset, arch_id, keyed.setup.name, keyed.config_hash,
                          seed, weight_init, bias_init, int(keyed.key_config["batch_size"]))
            jobs[trial] = TrialJob(
                trial, seeding.derive_trial_seed(seed, space_plan.name, arch_id), seed,
                keyed.scorer_config, input_plugin, int(dataset_plugin.num_classes),
                tuple(dataset_plugin.input_shape), inputs,
                {**table_options, **keyed.builder_options}, str(data_dir), config.device)
    return jobs


def _keyed(setup: _ScorerSetup, space: Any, notes: list[str]) -> _KeyedSetup:
    """``setup`` in ``space``: only that space's network options enter its trial keys, so adding
    or dropping another space leaves these keys as they are."""
    note = _form_note(setup, space)
    if note is not None and note not in notes:
        notes.append(note)
    builder_options = network_builder_options(setup.config, space)
    key_config = trial_key_config(setup.config, builder_options)
    return _KeyedSetup(setup, key_config, canonical_hash(key_config), builder_options,
                       trial_key_config(setup.config, {}))


@dataclass
class _InputSources:
    """The scorers' setups per input source: the run's (``--images``, else each dataset's own
    files), or a dataset's bundled sample images where the dataset is not prepared."""

    config: RunConfig
    scorers: list[Any]
    images: Path | None
    notes: list[str]
    run_setups: list[_ScorerSetup]
    sample_setups: dict[Path, list[_ScorerSetup]] = field(default_factory=dict)

    def for_dataset(self, dataset_plugin: Any, data_dir: Path
                    ) -> tuple[Path | None, list[_ScorerSetup]]:
        """(stand-in images or None, the setups) for trials on ``dataset_plugin``'s inputs."""
        sample = None
        if self.images is None and isinstance(dataset_plugin, SampleImagesDataset):
            sample = dataset_plugin.sample_images(data_dir)
        if sample is None:
            return self.images, self.run_setups
        path, count = sample
        if path not in self.sample_setups:
            self.notes.append(
                f"{dataset_plugin.name} is not prepared under {data_dir}: scorers read the "
                f"{count} real {dataset_plugin.name} images bundled with the package "
                f"(`harness data fetch {dataset_plugin.name}` gets the whole dataset)")
            self.sample_setups[path] = _scorer_setups(self.config, self.scorers, path,
                                                      self.notes, sample_count=count,
                                                      bundled=True)
        return path, self.sample_setups[path]


def _scorer_inputs(setup: _ScorerSetup, dataset_plugin: str,
                   images: Path | None) -> tuple[dict[str, Any] | None, str]:
    """``Dataset.batch`` options for a scorer's trials (None: it reads no inputs) and the plugin
    that supplies them: the trial dataset's, or ``images`` standing in for it."""
    if not setup.needs_inputs:
        return None, dataset_plugin
    inputs = dict(setup.config.get("inputs", {}) or {})
    if images is None:
        return inputs, dataset_plugin
    inputs.update(path=str(images), like=dataset_plugin)
    return inputs, "images"


def _finished_trials(run_dir: Path, retry_failed: bool) -> set[Trial]:
    """The trials already in the run's store (read only); with ``retry_failed`` the failed ones
    count as not run, and ``execute_plan`` deletes their rows before running them again."""
    if not (run_dir / STORE_FILE).exists():
        return set()
    with TrialStore.for_run(run_dir) as store:
        return store.finished(except_statuses=RETRYABLE_STATUSES if retry_failed else ())
