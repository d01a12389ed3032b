"""``harness task-search``: regularized evolution over a scorer's configurations (GenNAS tasks).

The proxy-task search of GenNAS (Li et al., NeurIPS 2021, appendix Alg. 1; official code
github.com/leeyeehoo/GenNAS ``do_search``): draw ``population_size`` random tasks, then
``cycles`` times sample ``sample_size`` members of the population, mutate the fittest and
replace the *oldest* member by the child (aging). A task's fitness is the Kendall tau between
its scores and the ground truth on a small search set of archs (GenNAS: 20 NB-101 cells).
The scorer must offer ``random_config`` / ``mutate_config`` (``SearchableScorer``, e.g. the
generic ``gennas`` scorer); the core never imports it.

Every (task, arch) evaluation is a trial of the run folder's store whose config hash holds the
task's hash (the scorer's ``resolve_config``), so a search resumes after a kill without scoring
anything twice and two searches in one folder share their work. Unlike the reference, which
re-instantiates a task (new batch, phases, dots) at every evaluation, a task here is
instantiated from the scoring seed, so the same task gets the same fitness.

The result: the best task as a JSON file ``--option gennas.task=FILE`` takes, the trajectory
(best fitness after each evaluation), and the check that matters: the task's Kendall on a
held-out sample of the space beside a reference scorer's (by default the one the searchable
scorer names, ``SearchableScorer.reference_scorer``), reported even where the found task is
worse.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from harness.config import RunConfig
from harness.errors import ConfigError
from harness.execute import configured_executor, record_plan
from harness.metrics import kendall_tau
from harness.plan import plan_run
from harness.registry import Registry, get_registry
from harness.runfolder import hold_run_folder
from harness.search.scoring import TrialScores
from harness.selection import read_arch_list
from harness.store import TrialStore


@runtime_checkable
class SearchableScorer(Protocol):
    """Optional: a scorer whose configuration can itself be searched (``harness task-search``:
    GenNAS's proxy tasks). A configuration is a JSON object the scorer takes as its ``task``
    option. ``reference_scorer``: the registered scorer a found configuration is checked
    against on held-out archs by default (the method's own published configuration)."""

    reference_scorer: str

    def random_config(self, rng: random.Random) -> dict[str, Any]:
        """A configuration drawn from the scorer's search distribution."""

    def mutate_config(self, config: dict[str, Any], rng: random.Random) -> dict[str, Any]:
        """A mutated copy of ``config`` (the input is left unchanged)."""

FOLDER = "task-search"


@dataclass
class TaskSearchSpec:
    """What ``harness task-search`` runs. ``config``: one space, ``scorers[0]`` the searchable
    scorer, ``arch_list`` the search set, ``options[scorer]`` its training options (shared by the
    reference), ``seeds[0]`` the scoring seed, how trials execute and ``out``. Appendix
    defaults: P = 50, S = 10, T = 400; ``held_out`` archs (0: no check) drawn with
    ``held_out_seed`` from the table outside the search set, scored also by ``reference``
    (None: the scorer's ``reference_scorer``)."""

    config: RunConfig
    population_size: int = 50
    sample_size: int = 10
    cycles: int = 400
    seed: int = 1
    held_out: int = 100
    held_out_seed: int = 0
    reference: str | None = None


@dataclass
class TaskSearchOutcome:
    """The best task, the trajectory, and the held-out check (``task-search/result.json``)."""

    best_task: dict[str, Any]
    best_fitness: float | None
    trajectory: list[dict[str, Any]]
    check: dict[str, dict[str, float | None]]
    settings: dict[str, Any]
    trial_counts: dict[str, int]
    wall_s: float
    notes: list[str] = field(default_factory=list)


@dataclass
class _TaskFitness:
    """Kendall of tasks on one arch list, each (task, arch) a trial through ``scores``."""

    base: RunConfig
    scorer: str
    scores: TrialScores
    notes: list[str]
    truth: dict[str, float] = field(default_factory=dict)

    def config_for(self, scorer: str, options: dict[str, Any], arch_list: Path) -> RunConfig:
        return RunConfig.from_dict({**self.base.to_dict(), "scorers": [scorer], "samples": None,
                                    "options": {scorer: options}, "arch_list": str(arch_list)})

    def plan(self, scorer: str, options: dict[str, Any], arch_list: Path) -> tuple[str, list]:
        """Know the trials of ``scorer`` with ``options`` on ``arch_list``: (config hash,
        archs)."""
        plan = plan_run(self.config_for(scorer, options, arch_list))
        record_plan(self.scores.store, plan)
        self.scores.add_plan(plan, lambda trial: (trial.scorer_config_hash, trial.arch_id))
        space_plan = plan.spaces[0]
        metric = space_plan.table.default_metric[space_plan.datasets[0]]
        self.truth.update(space_plan.table.frame[metric].dropna().astype(float).to_dict())
        self.notes.extend(n for n in plan.notes if n not in self.notes)
        (config_hash,) = {trial.scorer_config_hash for trial in plan.trials}
        return config_hash, space_plan.arch_ids

    def kendall(self, plans: list[tuple[str, list]]) -> list[float]:
        """Score every (config, arch) of ``plans`` in one batch; each config's Kendall tau."""
        self.scores.ensure((config_hash, arch) for config_hash, archs in plans for arch in archs)
        return [kendall_tau([self.scores.scores[(config_hash, arch)] for arch in archs],
                            [self.truth.get(arch, math.nan) for arch in archs])
                for config_hash, archs in plans]

    def tasks(self, tasks: list[dict[str, Any]], arch_list: Path) -> list[float]:
        options = self.base.options.get(self.scorer, {})
        return self.kendall([self.plan(self.scorer, {**options, "task": task}, arch_list)
                             for task in tasks])


def _rank(value: float) -> float:
    return -math.inf if math.isnan(value) else value


def evolve(spec: TaskSearchSpec, scorer: Any, fitness: _TaskFitness, search_set: Path
           ) -> list[tuple[dict[str, Any], float]]:
    """Regularized evolution over tasks (module docstring); every evaluation in order."""
    rng = random.Random(spec.seed)
    initial = [scorer.random_config(rng) for _ in range(spec.population_size)]
    history = list(zip(initial, fitness.tasks(initial, search_set), strict=True))
    population = deque(history)
    for _ in range(spec.cycles):
        contenders = rng.sample(list(population), spec.sample_size)
        parent, _ = max(contenders, key=lambda member: _rank(member[1]))
        child = scorer.mutate_config(parent, rng)
        (value,) = fitness.tasks([child], search_set)
        history.append((child, value))
        population.append((child, value))
        population.popleft()  # aging: the oldest member dies, not the worst
    return history


def _trajectory(history: list[tuple[dict[str, Any], float]]) -> list[dict[str, Any]]:
    rows, best = [], -math.inf
    for index, (task, value) in enumerate(history, start=1):
        best = max(best, _rank(value))
        rows.append({"evaluation": index, "fitness": _number(value),
                     "best_fitness": _number(best), "task": task})
    return rows


def _number(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


def searchable_scorers(registry: Registry) -> list[str]:
    """The names of the installed scorers whose configuration can be searched."""
    return [name for name in registry.names("scorer")
            if isinstance(registry.get("scorer", name), SearchableScorer)]


def default_searchable_scorer(registry: Registry) -> str:
    """The one installed searchable scorer (``--scorer`` left out); ``ConfigError`` when there
    is none or several to choose from."""
    names = searchable_scorers(registry)
    if len(names) != 1:
        raise ConfigError(f"give --scorer: {len(names)} installed scorers have a searchable "
                          f"configuration ({', '.join(names) or 'none'})")
    return names[0]


def check_spec(spec: TaskSearchSpec, registry: Registry) -> tuple[Any, TaskSearchSpec]:
    """The searchable scorer, and ``spec`` with its reference scorer filled in; ``ConfigError``
    for settings that cannot run."""
    if not 1 <= spec.sample_size <= spec.population_size or spec.cycles < 0:
        raise ConfigError(f"task search needs 1 <= sample_size ({spec.sample_size}) <= "
                          f"population_size ({spec.population_size}) and cycles >= 0")
    if not spec.config.arch_list:
        raise ConfigError("task search needs a search set: --search-set FILE (an arch list)")
    scorer = registry.get("scorer", spec.config.scorers[0])
    if not isinstance(scorer, SearchableScorer):
        raise ConfigError(f"scorer {scorer.name!r} has no searchable configuration "
                          f"(random_config / mutate_config); scorers that have one: "
                          f"{', '.join(searchable_scorers(registry)) or 'none installed'}")
    spec = replace(spec, reference=spec.reference or scorer.reference_scorer)
    if spec.held_out:
        registry.get("scorer", spec.reference)
    return scorer, spec


def run_task_search(spec: TaskSearchSpec, *, command: list[str] | None = None,
                    registry: Registry | None = None, progress: bool = False
                    ) -> TaskSearchOutcome:
    """Search, write the best task, the trajectory and the held-out check under the run folder
    (``progress``: a bar of the trials run, on stderr)."""
    registry = registry or get_registry()
    scorer, spec = check_spec(spec, registry)
    started = time.perf_counter()
    run_dir = spec.config.run_dir()
    with _task_store(spec, registry, command or [], progress) as fitness:
        search_set = Path(spec.config.arch_list)
        history = evolve(spec, scorer, fitness, search_set)
        best_task, best_value = max(history, key=lambda member: _rank(member[1]))
        check = held_out_check(spec, fitness, best_task, run_dir)
        counts = dict(fitness.scores.counts)
        notes = fitness.notes
    outcome = TaskSearchOutcome(best_task, _number(best_value), _trajectory(history), check,
                                _settings(spec), counts, time.perf_counter() - started, notes)
    write_outcome(run_dir, outcome)
    return outcome


@contextmanager
def _task_store(spec: TaskSearchSpec, registry: Registry, command: list[str],
                progress: bool) -> Iterator[_TaskFitness]:
    """Hold the run folder (a task search's trials are many selections: no selection check)."""
    run_dir = spec.config.run_dir()
    with hold_run_folder(run_dir, command), TrialStore.for_run(run_dir) as store:
        executor = configured_executor(registry, spec.config, run_dir)
        scores = TrialScores(store, executor, spec.config, progress=progress)
        try:
            yield _TaskFitness(spec.config, spec.config.scorers[0], scores, [])
        finally:
            scores.close()


def held_out_check(spec: TaskSearchSpec, fitness: _TaskFitness, task: dict[str, Any],
                   run_dir: Path) -> dict[str, dict[str, float | None]]:
    """Kendall of the found task and of the reference scorer on the search set and on
    ``spec.held_out`` archs of the table outside it (what the search never saw)."""
    if not spec.held_out:
        return {}
    search_set = Path(spec.config.arch_list)
    held_out = _held_out_list(spec, fitness, run_dir)
    options = {k: v for k, v in spec.config.options.get(fitness.scorer, {}).items()
               if k not in ("task", "task_hash")}
    result = {}
    for label, arch_list in (("search_set", search_set), ("held_out", held_out)):
        plans = [fitness.plan(fitness.scorer, {**options, "task": task}, arch_list),
                 fitness.plan(spec.reference, options, arch_list)]
        found, reference = fitness.kendall(plans)
        result[label] = {"found_task": _number(found), spec.reference: _number(reference),
                         "n_archs": len(plans[0][1])}
    return result


def _held_out_list(spec: TaskSearchSpec, fitness: _TaskFitness, run_dir: Path) -> Path:
    """``held_out`` archs with ground truth outside the search set, drawn with
    ``held_out_seed`` and written as an arch list (``task-search/held_out_archs.txt``)."""
    space = get_registry().get("space", spec.config.spaces[0])
    search_set = set(read_arch_list(Path(spec.config.arch_list), space))
    pool = sorted(arch for arch in fitness.truth if arch not in search_set)
    if not pool:
        raise ConfigError(f"the {space.name} ground-truth table has no arch outside the search "
                          f"set to check the task on; prepare a larger table, or --held-out 0")
    chosen = random.Random(spec.held_out_seed).sample(pool, min(spec.held_out, len(pool)))
    path = Path(run_dir) / FOLDER / "held_out_archs.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{arch}\n" for arch in chosen))
    return path


def _settings(spec: TaskSearchSpec) -> dict[str, Any]:
    return {"population_size": spec.population_size, "sample_size": spec.sample_size,
            "cycles": spec.cycles, "seed": spec.seed, "held_out": spec.held_out,
            "held_out_seed": spec.held_out_seed, "reference": spec.reference,
            "scorer": spec.config.scorers[0], "space": spec.config.spaces[0],
            "search_set": spec.config.arch_list, "score_seed": spec.config.seeds[0],
            "scorer_options": spec.config.options}


def write_outcome(run_dir: Path, outcome: TaskSearchOutcome) -> list[Path]:
    """``task-search/best_task.json`` (a task file as is), ``task-search/result.json``."""
    folder = Path(run_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    task_file = folder / "best_task.json"
    task_file.write_text(json.dumps(outcome.best_task, indent=2) + "\n")
    result = folder / "result.json"
    result.write_text(json.dumps(asdict(outcome), indent=1, allow_nan=False) + "\n")
    return [task_file, result]
