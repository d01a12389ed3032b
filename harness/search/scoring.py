"""Scores for searches, each one a trial of the run folder's store.

``TrialScores`` answers "what does scorer S give arch A?" for a search. Every answer is a trial
with exactly the key ``harness compare`` gives it (space, dataset, arch, scorer, config hash,
seed, inits, batch: the trial grid of ``harness.plan``), so a search reuses what a compare or an
earlier search stored, a killed search resumes without scoring anything twice, and each batch of
new trials runs on the run's executor (its workers in parallel). The driver holds the run
folder's lock and is the store's only writer, as in ``harness.execute``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config import write_run_config
from harness.errors import HarnessError
from harness.execute import configured_executor, run_and_store
from harness.plan import RunPlan
from harness.registry import Registry
from harness.runfolder import check_selection, hold_run_folder
from harness.store import Trial, TrialStore
from harness.trial import TrialJob

# (scorer name, arch id): what a search asks of its scorers
ScoreKey = tuple[str, str]


class SearchStopped(HarnessError):
    """A stop signal (Ctrl-C, SIGTERM, SIGHUP) cut a search short; ``signum`` names it. Every
    finished trial is stored, so the same command resumes."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum


@dataclass
class TrialScores:
    """Scores of (scorer, arch) pairs from the store, running the missing trials in batches.

    ``jobs``: the plan's job of every (scorer, arch) of the selection (stored or not);
    ``scores``: what is known so far, NaN for a trial that did not end ``ok``; ``wall_s``: each
    known trial's scoring time; ``counts``: statuses of the trials run by this process.
    """

    plan: RunPlan
    store: TrialStore
    registry: Registry
    jobs: dict[ScoreKey, TrialJob] = field(default_factory=dict)
    scores: dict[ScoreKey, float] = field(default_factory=dict)
    wall_s: dict[ScoreKey, float] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    executor: Any = None

    def __post_init__(self) -> None:
        self.executor = configured_executor(self.registry, self.plan.config, self.plan.run_dir)
        by_trial = {trial: (trial.scorer, trial.arch_id) for trial in self.plan.trials}
        for job in self.plan.jobs:
            self.jobs[by_trial[job.trial]] = job
        stored = self.store.trials_frame()
        for row in stored.itertuples(index=False):
            key = by_trial.get(_trial_of(row))
            if key is not None:
                self._remember(key, row.score if row.status == "ok" else math.nan, row.wall_s)

    def _remember(self, key: ScoreKey, score: float | None, wall_s: float | None) -> None:
        self.scores[key] = math.nan if score is None else float(score)
        self.wall_s[key] = float(wall_s or 0.0)

    def ensure(self, keys: Iterable[ScoreKey]) -> None:
        """Score the pairs not known yet, as one batch on the run's executor."""
        missing = [key for key in dict.fromkeys(keys) if key not in self.scores]
        unknown = [key for key in missing if key not in self.jobs]
        if unknown:
            scorer, arch = unknown[0]
            raise HarnessError(f"no trial of scorer {scorer!r} for arch {arch!r}: the arch is "
                               f"not in the space's ground-truth table")
        if not missing:
            return
        stop = run_and_store([self.jobs[key] for key in missing], self.store, self.executor,
                             self.plan.config, self.counts)
        self._read_back(missing)
        if stop is not None:
            raise SearchStopped(stop)

    def _read_back(self, keys: list[ScoreKey]) -> None:
        """Take the results of ``keys`` just stored (each trial's row, whatever its status)."""
        wanted = {self.jobs[key].trial: key for key in keys}
        frame = self.store.trials_frame()
        for row in frame.itertuples(index=False):
            key = wanted.get(_trial_of(row))
            if key is not None:
                self._remember(key, row.score if row.status == "ok" else math.nan, row.wall_s)


def _trial_of(row: Any) -> Trial:
    """The ``Trial`` key of a stored row (``trials_frame`` columns)."""
    return Trial(row.space, row.dataset, row.arch_id, row.scorer, row.scorer_config_hash,
                 int(row.seed), row.weight_init, row.bias_init, int(row.batch_size))


@contextmanager
def search_store(plan: RunPlan, command: list[str], *, extend: bool,
                 registry: Registry) -> Iterator[TrialScores]:
    """Hold ``plan``'s run folder for a search: lock it, check its selection, record the run,
    save the scorer configs and the ground truth, and yield the store-backed scores."""
    run_dir = Path(plan.run_dir)
    with hold_run_folder(run_dir, command):
        check_selection(run_dir, plan.config, extend=extend)
        with TrialStore.for_run(run_dir) as store:
            write_run_config(run_dir, plan.config, command, plan.summary(), runs_trials=True,
                             extend=extend)
            for (name, config_hash), config in plan.scorer_configs.items():
                store.save_scorer_config(config_hash, name, config)
            for space_plan in plan.spaces:
                store.save_ground_truth(space_plan.table, space_plan.arch_ids)
            yield TrialScores(plan, store, registry)
