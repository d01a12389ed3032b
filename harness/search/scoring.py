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
import sys
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config import RunConfig
from harness.errors import HarnessError
from harness.execute import configured_executor, record_plan, run_and_store
from harness.plan import RunPlan
from harness.registry import Registry
from harness.runfolder import check_selection, hold_run_folder, write_run_config
from harness.store import Trial, TrialResult, TrialStore
from harness.trial import TrialJob


class SearchStopped(HarnessError):
    """A stop signal (Ctrl-C, SIGTERM, SIGHUP) cut a search short; ``signum`` names it. Every
    finished trial is stored, so the same command resumes."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum


@dataclass
class TrialScores:
    """Scores of trials by a caller's key, from the store, running the missing ones in batches.

    ``add_plan`` makes a plan's trials known under ``key_of(trial)`` (``harness search``: the
    (scorer, arch) pair; ``harness task-search``: the (task hash, arch) pair). ``scores``: what
    is known so far, NaN for a trial that did not end ``ok``; ``wall_s``: each known trial's
    scoring time; ``counts``: statuses of the trials run by this process.
    """

    store: TrialStore
    executor: Any
    config: RunConfig
    jobs: dict[Hashable, TrialJob] = field(default_factory=dict)
    scores: dict[Hashable, float] = field(default_factory=dict)
    wall_s: dict[Hashable, float] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    progress: bool = False  # a bar of the trials run, on stderr
    _stored: dict[Trial, tuple[float, float]] = field(default_factory=dict)
    _bar: Any = None

    def __post_init__(self) -> None:
        self._stored = self._read_store()

    def _read_store(self) -> dict[Trial, tuple[float, float]]:
        """Every stored trial's (score, NaN unless ``ok``; wall seconds)."""
        frame = self.store.trials_frame()
        return {_trial_of(row): _score_and_wall(row.status, row.score, row.wall_s)
                for row in frame.itertuples(index=False)}

    def _remember(self, result: TrialResult) -> None:
        """Keep a result just stored, as ``_read_store`` would read it back."""
        self._stored[result.trial] = _score_and_wall(result.status, result.score, result.wall_s)

    def close(self) -> None:
        """End the progress bar (if one was shown)."""
        if self._bar is not None:
            self._bar.close()

    def add_plan(self, plan: RunPlan, key_of: Callable[[Trial], Hashable]) -> None:
        """Know ``plan``'s trials under ``key_of(trial)``: stored ones by their score, the others
        by their job."""
        for trial in plan.trials:
            if trial in self._stored:
                self.scores[key_of(trial)], self.wall_s[key_of(trial)] = self._stored[trial]
        for job in plan.jobs:
            self.jobs[key_of(job.trial)] = job

    def ensure(self, keys: Iterable[Hashable]) -> None:
        """Score the keys not known yet, as one batch on the run's executor."""
        missing = [key for key in dict.fromkeys(keys) if key not in self.scores]
        unknown = [key for key in missing if key not in self.jobs]
        if unknown:
            raise HarnessError(f"no trial for {unknown[0]!r}: the arch is not in the space's "
                               f"ground-truth table")
        if not missing:
            return
        if self.progress and self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(desc="trials", unit="trial", dynamic_ncols=True, file=sys.stderr)
        stop = run_and_store([self.jobs[key] for key in missing], self.store, self.executor,
                             self.config, self.counts, on_result=self._remember)
        if self._bar is not None:
            self._bar.update(len(missing))  # a round at a time: the executor closes its own bar
        for key in missing:
            if self.jobs[key].trial in self._stored:
                self.scores[key], self.wall_s[key] = self._stored[self.jobs[key].trial]
        if stop is not None:
            raise SearchStopped(stop)


def _score_and_wall(status: str, score: float | None, wall_s: float | None
                    ) -> tuple[float, float]:
    """A trial's (score, NaN unless ``ok``; wall seconds) as a search reads it."""
    return (score if status == "ok" else math.nan), float(wall_s or 0.0)


def _trial_of(row: Any) -> Trial:
    """The ``Trial`` key of a stored row (``trials_frame`` columns)."""
    return Trial(row.space, row.dataset, row.arch_id, row.scorer, row.scorer_config_hash,
                 int(row.seed), row.weight_init, row.bias_init, int(row.batch_size))


@contextmanager
def search_store(plan: RunPlan, command: list[str], *, extend: bool, registry: Registry,
                 progress: bool = False) -> Iterator[TrialScores]:
    """Hold ``plan``'s run folder for a search: lock it, check its selection, record the run,
    save the scorer configs and the ground truth, and yield the store-backed scores (``plan``'s
    trials keyed by (scorer, arch); ``progress``: a bar of the trials run)."""
    run_dir = Path(plan.run_dir)
    executor = configured_executor(registry, plan.config, run_dir)
    with hold_run_folder(run_dir, command):
        check_selection(run_dir, plan.config, extend=extend)
        with TrialStore.for_run(run_dir) as store:
            write_run_config(run_dir, plan.config, command, plan.summary(), runs_trials=True,
                             extend=extend)
            scores = TrialScores(store, executor, plan.config, progress=progress)
            record_plan(store, plan)
            scores.add_plan(plan, lambda trial: (trial.scorer, trial.arch_id))
            try:
                yield scores
            finally:
                scores.close()

