"""``harness search``: end-to-end NAS on a tabular benchmark, many runs per (fitness, searcher).

Each run of a searcher (``random``, ``evolution``...) spends ``budget`` fitness evaluations on
the archs of one space that have ground truth and returns the arch of highest fitness; the
benchmark's table then says how good that arch really is, on the search dataset and on every
other dataset of the table. Fitness is a scorer (every evaluation a trial of the run folder's
store, keyed as ``harness compare`` keys it, ``harness.search.scoring``), the ground truth
itself (``oracle``: the search dataset's default metric, the upper bound of a searcher), a
random number per arch and run (``random``: a searcher that cannot tell archs apart) or an
aggregate of scorers (a registered one such as ``az_nas``, or ``SearchSpec.aggregates``), its
ranks taken within the archs the search has seen (``harness.search.rank_fitness``).

Run ``r`` of every (fitness, searcher) draws from the same random stream (``--seed``, ``r``), so
fitnesses are compared on the same initial populations; the same command makes the same
choices. All runs advance in lockstep (``harness.search.lockstep``) so each round's new trials
run as one batch on the executor's workers. Mutation that leaves the table (a space whose
prepared table holds part of the space) is drawn again, so a search stays on archs with ground
truth. Results: ``RUN_DIR/search/runs.json`` (``write_runs``); the report is
``harness.reports.search``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from harness.config import RunConfig
from harness.datadir import resolve_data_dir
from harness.errors import ConfigError, HarnessError
from harness.groundtruth.table import GroundTruthTable
from harness.plan import plan_run
from harness.protocols import MutableSpace, SearchResult, SearchSteps, Space
from harness.registry import Registry, get_registry
from harness.reports.aggregates import AggregateSpec, from_plugin, with_inner
from harness.runfolder import hold_run_folder
from harness.search.lockstep import Fitness, ScoreBatch, SteppedSearch, run_lockstep
from harness.search.rank_fitness import rank_fitness
from harness.search.scoring import TrialScores, search_store
from harness.selection import select_spaces


@runtime_checkable
class SteppedSearcher(Protocol):
    """Optional: a searcher that asks for fitness a batch at a time (``harness search`` scores a
    batch on the executor's workers and runs many searches in lockstep)."""

    def steps(self, space: Space, candidates: Sequence[str], budget: int,
              rng: random.Random) -> SearchSteps:
        """The search as a generator (``SearchSteps``); same choices as ``search``."""

SPECIAL_FITNESSES = ("oracle", "random")
RUNS_FILE = Path("search") / "runs.json"
MAX_MUTATION_TRIES = 100  # draws of a mutation before giving up on finding a tabled arch


@dataclass
class SearchSpec:
    """What ``harness search`` runs. ``config``: the scoring selection (one space, one dataset,
    the scorer fitnesses, their options, ``seeds[0]`` the scoring seed) and how trials execute;
    ``searcher_options``: ``{searcher: {field: value}}`` (e.g. evolution population_size).
    ``aggregates``: rank combinations a fitness may name besides the registered ones."""

    config: RunConfig
    fitnesses: list[str]
    searchers: list[str]
    searcher_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    budget: int = 400
    runs: int = 20
    seed: int = 0
    aggregates: list[AggregateSpec] = field(default_factory=list)


@dataclass
class SearchRun:
    """One search's outcome: the chosen arch, its ground truth under every metric, how many
    evaluations it made (and of how many distinct archs), the seconds its trials took to score,
    and ``curve``: the search metric of the arch it would have chosen after each evaluation."""

    fitness: str
    searcher: str
    run: int
    chosen_arch: str
    chosen_fitness: float | None
    truth: dict[str, float | None]
    evaluations: int
    distinct_evaluations: int
    scoring_s: float
    curve: list[float | None]


@dataclass
class SearchOutcome:
    """Every run of a ``harness search`` command and what it was asked (``runs.json``)."""

    space: str
    dataset: str
    search_metric: str
    metrics: list[str]
    settings: dict[str, Any]
    runs: list[SearchRun]
    wall_s: float
    trial_counts: dict[str, int]
    notes: list[str]


def configured_searcher(registry: Registry, name: str, options: dict[str, Any]) -> Any:
    """The searcher plugin ``name`` with ``options`` set (fields of a dataclass searcher)."""
    searcher = registry.get("searcher", name)
    if not options:
        return searcher
    if not dataclasses.is_dataclass(searcher):
        raise ConfigError(f"--option {name}.{next(iter(options))}: searcher {name!r} takes no "
                          f"options")
    known = {f.name: getattr(searcher, f.name) for f in dataclasses.fields(searcher)
             if f.name != "name"}
    for key, value in options.items():
        if key not in known:
            raise ConfigError(f"--option {name}.{key}: searcher {name!r} has no option {key!r}; "
                              f"its options: {', '.join(sorted(known)) or 'none'}")
        if isinstance(known[key], int) and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(f"--option {name}.{key}={value!r}: give a whole number")
    return dataclasses.replace(searcher, **options)


def random_fitness(seed: int, run: int) -> Callable[[str], float]:
    """A fixed uniform number in [0, 1) per arch for run ``run``: a fitness that knows nothing."""
    def value(arch: str) -> float:
        digest = hashlib.sha256(f"random-fitness:{seed}:{run}:{arch}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64
    return value


@dataclass
class _TableBoundSpace:
    """A mutable space whose mutations stay on the archs of the ground-truth table."""

    space: Any
    archs: frozenset[str]

    @property
    def name(self) -> str:
        return str(self.space.name)

    def mutate(self, arch_id: str, rng: random.Random) -> str:
        for _ in range(MAX_MUTATION_TRIES):
            child = self.space.mutate(arch_id, rng)
            if child in self.archs:
                return child
        raise HarnessError(f"{MAX_MUTATION_TRIES} mutations of {arch_id!r} in space "
                           f"{self.name!r} all left its ground-truth table ({len(self.archs)} "
                           f"archs): evolution needs a table that covers more of the space")


def _search_space(space: Any, archs: list[str]) -> Any:
    return _TableBoundSpace(space, frozenset(archs)) if isinstance(space, MutableSpace) else space


def _plain_steps(searcher: Any, space: Any, candidates: list[str], budget: int,
                 rng: random.Random, fitness: Fitness, score_batch: ScoreBatch) -> SearchSteps:
    """A searcher without ``steps`` runs alone, one evaluation at a time (no lockstep)."""
    def value(arch: str) -> float:
        score_batch(fitness.trial_keys([arch]))
        return fitness.value(arch)

    return searcher.search(space, candidates, value, budget, rng)
    yield  # unreachable: it makes this a generator, which returns at its first step


def _table_and_space(config: RunConfig, registry: Registry) -> tuple[Any, GroundTruthTable, str]:
    """The space plugin, its ground-truth table, and the search dataset."""
    notes: list[str] = []
    plans, _ = select_spaces(config, registry, resolve_data_dir(config.data_dir), notes)
    if not plans:
        raise ConfigError(f"space {config.spaces[0]!r} has no ground truth for dataset "
                          f"{config.datasets}")
    space_plan = plans[0]
    return registry.get("space", space_plan.name), space_plan.table, space_plan.datasets[0]


def check_spec(spec: SearchSpec, registry: Registry) -> None:
    """Refuse a spec that cannot run, before any work."""
    if spec.budget < 1 or spec.runs < 1:
        raise ConfigError(f"--budget {spec.budget} / --runs {spec.runs}: both must be at least 1")
    if len(spec.config.spaces) != 1 or spec.config.spaces == ["all"]:
        raise ConfigError("--space names exactly one space")
    for name in spec.searchers:
        configured_searcher(registry, name, spec.searcher_options.get(name, {}))
    if not spec.fitnesses:
        raise ConfigError("--fitness needs at least one of: a scorer name, an aggregate, oracle, "
                          "random (or give --aggregate)")


def run_search(spec: SearchSpec, *, command: list[str] | None = None, extend: bool = False,
               registry: Registry | None = None, progress: bool = False) -> SearchOutcome:
    """Run every (fitness, searcher) ``spec.runs`` times; write and return the outcome
    (``progress``: a bar of the trials run, on stderr)."""
    registry = registry or get_registry()
    check_spec(spec, registry)
    started = time.perf_counter()
    space, table, dataset = _table_and_space(spec.config, registry)
    metric = table.default_metric[dataset]
    archs = [str(arch) for arch in table.frame.index]
    truth = table.frame[metric]
    aggregates = fitness_aggregates(spec, registry)
    scorers = list(dict.fromkeys(
        part for name in spec.fitnesses if name not in SPECIAL_FITNESSES
        for part in (aggregates[name].leaves() if name in aggregates else (name,))))
    selection = {"samples": None, "datasets": [dataset],
                 **({"scorers": scorers} if scorers else {})}
    config = RunConfig.from_dict({**spec.config.to_dict(), **selection})
    scoring = _scoring(config, bool(scorers), command or [], extend, registry, progress)
    with scoring as (scores, run_dir, notes):
        searches = _searches(spec, registry, _search_space(space, archs), archs,
                             lambda arch: float(truth[arch]), scores, aggregates)
        run_lockstep([s for _, s in searches], scores.ensure if scores else _no_trials)
        runs = [_run_record(label, s.result, table, metric, scores, s.fitness.scorers)
                for label, s in searches if s.result is not None]
        counts = dict(scores.counts) if scores else {}
    outcome = SearchOutcome(space.name, dataset, metric, [m.name for m in table.metrics],
                            _settings(spec, config), runs, time.perf_counter() - started,
                            counts, notes)
    write_runs(run_dir, outcome)
    return outcome


@contextmanager
def _scoring(config: RunConfig, any_scorer: bool, command: list[str], extend: bool,
             registry: Registry, progress: bool
             ) -> Iterator[tuple[TrialScores | None, Path, list[str]]]:
    """(the store-backed scores, the run folder, the plan's notes) for the search's scorers;
    without a scorer (oracle, random) no trial runs and only the folder's lock is held."""
    if not any_scorer:
        with hold_run_folder(config.run_dir(), command):
            yield None, config.run_dir(), []
        return
    plan = plan_run(config, registry)
    with search_store(plan, command, extend=extend, registry=registry,
                      progress=progress) as scores:
        yield scores, plan.run_dir, plan.notes


def _no_trials(keys: list[tuple[str, str]]) -> None:
    """The score batch of a search without scorers: there is never anything to score."""


def fitness_aggregates(spec: SearchSpec, registry: Registry) -> dict[str, AggregateSpec]:
    """The fitnesses that are aggregates, by name: ``spec.aggregates`` and the registered
    aggregates ``spec.fitnesses`` names."""
    given = {aggregate.name: with_inner(aggregate, registry) for aggregate in spec.aggregates}
    registered = set(registry.names("aggregate"))
    named = {name: from_plugin(registry.get("aggregate", name), registry)
             for name in spec.fitnesses if name in registered and name not in given}
    return {**named, **given}


def _searches(spec: SearchSpec, registry: Registry, space: Any, archs: list[str],
              oracle: Callable[[str], float], scores: TrialScores | None,
              aggregates: dict[str, AggregateSpec]
              ) -> list[tuple[tuple[str, str, int], SteppedSearch]]:
    """One search per (fitness, searcher, run); run ``r`` of each uses the same random stream."""
    searches = []
    for fitness_name in spec.fitnesses:
        for searcher_name in spec.searchers:
            searcher = configured_searcher(registry, searcher_name,
                                           spec.searcher_options.get(searcher_name, {}))
            for run in range(spec.runs):
                fitness = _fitness(fitness_name, spec.seed, run, oracle, scores,
                                   aggregates.get(fitness_name))
                rng = random.Random(f"search:{spec.seed}:{run}")
                steps = (searcher.steps(space, archs, spec.budget, rng)
                         if isinstance(searcher, SteppedSearcher) else
                         _plain_steps(searcher, space, archs, spec.budget, rng, fitness,
                                      scores.ensure if scores else _no_trials))
                searches.append(((fitness_name, searcher_name, run),
                                 SteppedSearch(steps, fitness)))
    return searches


def _fitness(name: str, seed: int, run: int, oracle: Callable[[str], float],
             scores: TrialScores | None, aggregate: AggregateSpec | None) -> Fitness:
    if name == "oracle":
        return Fitness(name, oracle)
    if name == "random":
        return Fitness(name, random_fitness(seed, run))
    assert scores is not None, "a scorer fitness runs with the trial store"
    if aggregate is not None:
        return rank_fitness(aggregate, lambda part, arch: scores.scores[(part, arch)])
    return Fitness(name, lambda arch: scores.scores[(name, arch)], (name,))


def _run_record(label: tuple[str, str, int], result: SearchResult, table: GroundTruthTable,
                metric: str, scores: TrialScores | None, scorers: tuple[str, ...]) -> SearchRun:
    """The ``SearchRun`` of a finished search: chosen arch, its truth, the best-so-far curve."""
    fitness, searcher, run = label
    frame = table.frame
    curve: list[float | None] = []
    best_arch, best_value = None, -math.inf
    for arch, value in result.history:
        rank = -math.inf if math.isnan(value) else value
        if best_arch is None or rank > best_value:
            best_arch, best_value = arch, rank
        curve.append(_number(frame.at[best_arch, metric]))
    distinct = list(dict.fromkeys(arch for arch, _ in result.history))
    chosen_fitness = _number(dict(result.history)[result.best_arch])
    wall_s = scores.wall_s if scores else {}
    scoring_s = sum(wall_s.get((scorer, arch), 0.0) for arch in distinct for scorer in scorers)
    return SearchRun(fitness, searcher, run, result.best_arch, chosen_fitness,
                     {m.name: _number(frame.at[result.best_arch, m.name]) for m in table.metrics},
                     len(result.history), len(distinct), scoring_s, curve)


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) \
        else float(value)


def _settings(spec: SearchSpec, config: RunConfig) -> dict[str, Any]:
    return {"fitnesses": spec.fitnesses, "searchers": spec.searchers,
            "searcher_options": spec.searcher_options, "budget": spec.budget,
            "runs": spec.runs, "seed": spec.seed, "score_seed": config.seeds[0],
            "aggregates": [aggregate.record() for aggregate in spec.aggregates],
            "scorer_options": config.options, "run_dir": str(config.run_dir())}


def write_runs(run_dir: Path, outcome: SearchOutcome) -> Path:
    """``RUN_DIR/search/runs.json``: the outcome as JSON (what the search report reads)."""
    path = Path(run_dir) / RUNS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dataclasses.asdict(outcome), indent=1, allow_nan=False) + "\n")
    return path


def read_runs(run_dir: Path) -> SearchOutcome:
    """The outcome ``write_runs`` wrote under ``run_dir``."""
    path = Path(run_dir) / RUNS_FILE
    try:
        document = json.loads(path.read_text())
        runs = [SearchRun(**run) for run in document.pop("runs")]
        return SearchOutcome(runs=runs, **document)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"{path}: not a search result written by `harness search` ({exc}); "
                          f"run the search again to rewrite it") from exc
