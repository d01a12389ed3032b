"""The driver: runs a plan's jobs on an executor and writes each result to the store.

The driver is the only writer of the store, so a killed run loses at most the trials in
flight, and running the same command again finishes the rest. It holds the run folder's lock
for the whole run and refuses a selection the folder does not record (``harness.runfolder``).
SIGINT, SIGTERM and SIGHUP stop a run the same way: the executor stops its workers, every
finished trial stays stored (each in its own transaction, so none is half-written), and the
summary names the signal (the command exits with 128 + its number). ``status_line`` sums a
run up for the terminal; ``common_error`` is set when every trial failed with one error the user
can fix, which ``harness compare`` then ends with (exit 2) instead of a report of errors.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, is_user_error
from harness.plan import RunPlan
from harness.protocols import ConfigurableExecutor, Executor, ExecutorSettings
from harness.registry import Registry, get_registry
from harness.runfolder import (
    check_configs_kept,
    check_selection,
    hold_run_folder,
    is_recorded,
    write_run_config,
)
from harness.store import FAILED_STATUSES, RETRYABLE_STATUSES, TrialResult, TrialStore
from harness.trial import TrialJob

# What stops a run: Ctrl-C, and what `timeout`, Slurm pre-emption and container stops send.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class RunStopped(KeyboardInterrupt):
    """Raised in the driver by the first stop signal; ``signum`` names it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@dataclass
class RunSummary:
    """What a run did: trials in the selection, already stored, run now, and their statuses."""

    run_dir: Path
    total: int
    already_done: int
    ran: int
    status_counts: dict[str, int]
    stop_signal: int | None = None  # the signal that cut the run short, if one did
    # The one error every trial run now failed with, when the user can fix it (else None).
    common_error: str | None = None

    @property
    def interrupted(self) -> bool:
        return self.stop_signal is not None


def execute_plan(plan: RunPlan, *, progress: bool = True, command: list[str] | None = None,
                 registry: Registry | None = None, extend: bool = False) -> RunSummary:
    """Run ``plan``'s jobs on its executor, writing each result to the store as it arrives.

    Under the run folder's lock: refuse a selection the folder does not record unless
    ``extend``, and a resume that would score its finished archs again under a changed scorer
    config; leave out the trials stored since the plan read the store.
    """
    registry = registry or get_registry()
    executor = configured_executor(registry, plan.config, plan.run_dir)
    counts: Counter[str] = Counter()
    errors: Counter[str] = Counter()

    def count_error(result: TrialResult) -> None:
        if result.status == "error":
            errors[result.message] += 1
    with hold_run_folder(plan.run_dir, command or []):
        check_selection(plan.run_dir, plan.config, extend=extend)
        with TrialStore.for_run(plan.run_dir) as store:
            if plan.config.retry_failed:  # the plan counted these trials as not run
                store.delete_status(RETRYABLE_STATUSES)
            stored = store.finished()  # another run may have finished some since the plan
            jobs = [job for job in plan.jobs if job.trial not in stored]
            if is_recorded(plan.run_dir, plan.config):
                check_configs_kept(plan.run_dir, [job.trial for job in jobs], stored,
                                   {**store.scorer_configs(), **{config_hash: config for
                                    (_, config_hash), config in plan.scorer_configs.items()}})
            write_run_config(plan.run_dir, plan.config, command, plan.summary(),
                             runs_trials=bool(jobs), extend=extend)
            record_plan(store, plan)
            already_done = len(plan.trials) - len(jobs)
            bar = _progress_bar(len(plan.trials), already_done, progress)
            stop_signal = run_and_store(jobs, store, executor, plan.config, counts, bar,
                                        on_result=count_error)
    return RunSummary(plan.run_dir, len(plan.trials), already_done, sum(counts.values()),
                      dict(counts), stop_signal, common_user_error(counts, errors))


def common_user_error(counts: Counter[str], errors: Counter[str]) -> str | None:
    """The message of the one error every trial failed with, if the user can fix it (a
    ``HarnessError``, e.g. a damaged CIFAR file: each trial reads it and fails alike); None
    when a trial succeeded, the errors differ, or the error is a bug."""
    ran = sum(counts.values())
    if ran == 0 or len(errors) != 1:
        return None
    [(message, count)] = errors.items()
    return message if count == ran and is_user_error(message) else None


def record_plan(store: TrialStore, plan: RunPlan) -> None:
    """Save ``plan``'s scorer configs and the ground truth of its archs in ``store``."""
    for (name, config_hash), config in plan.scorer_configs.items():
        store.save_scorer_config(config_hash, name, config)
    for space_plan in plan.spaces:
        store.save_ground_truth(space_plan.table, space_plan.arch_ids)


def run_and_store(jobs: Sequence[TrialJob], store: TrialStore, executor: Executor, config: Any,
                  counts: Counter[str], bar: Any = None,
                  on_result: Callable[[TrialResult], None] | None = None) -> int | None:
    """Run ``jobs`` on ``executor`` (from ``configured_executor``) as ``config`` (a
    ``RunConfig``) asks, writing each result to ``store`` as it arrives, counting its status and
    passing it to ``on_result``: a compare's jobs, or one batch of a search (``harness.search``),
    under a run folder the caller holds. The stop signal that cut it short, or None."""
    results = executor.run(jobs, workers=config.workers, device=config.device,
                           trial_timeout_s=config.trial_timeout_s)
    return _store_results(results, store, counts, bar, on_result)


def configured_executor(registry: Registry, config: Any, run_dir: Path) -> Executor:
    """``config``'s executor (a ``RunConfig``'s) set up for a run in ``run_dir``.

    A ``ConfigurableExecutor`` gets its own options' values (``--ray-address``...), the run
    folder and ``--workers-per-gpu``, and may refuse to start (a missing optional library);
    an option of another executor, or GPU sharing asked of an executor that cannot, is refused.
    """
    executor = registry.get("executor", config.executor)
    configurable = isinstance(executor, ConfigurableExecutor)
    own = {option.name for option in executor.options} if configurable else set()
    for name in sorted(set(config.executor_options) - own):
        owners = [entry.name for entry in registry.entries("executor")
                  if isinstance(entry.obj, ConfigurableExecutor)
                  and name in {option.name for option in entry.obj.options}]
        flag = "--" + name.replace("_", "-")
        if not owners:
            raise ConfigError(f"{flag}: no installed executor has this option")
        raise ConfigError(f"{flag} is an option of executor {' or '.join(owners)}, not of "
                          f"{config.executor!r}: add --executor {owners[0]}")
    if not configurable:
        if config.workers_per_gpu != 1:
            raise ConfigError(f"--workers-per-gpu: executor {config.executor!r} cannot share a "
                              f"GPU between trials; leave it at 1")
        return executor
    return executor.configured(ExecutorSettings(Path(run_dir), dict(config.executor_options),
                                                config.workers_per_gpu))


def _store_results(results: Iterable[TrialResult], store: TrialStore, counts: Counter[str],
                   bar: Any, on_result: Callable[[TrialResult], None] | None) -> int | None:
    """Write each result as it arrives and count its status; the stop signal that cut the run
    short (None if it ran to the end). Closing ``results`` stops the executor's workers."""
    with _stopped_by_signals():
        try:
            for result in results:
                store.add_results([result])
                counts[result.status] += 1
                if on_result is not None:
                    on_result(result)
                if bar is not None:
                    bar.update(1)
                    failures = sum(counts[s] for s in FAILED_STATUSES)
                    bar.set_postfix(failures=failures, refresh=False)
        except KeyboardInterrupt as stopped:  # a plain one: Ctrl-C where no handler was set
            return getattr(stopped, "signum", int(signal.SIGINT))
        finally:
            close = getattr(results, "close", None)
            if callable(close):
                close()
            if bar is not None:
                bar.close()
    return None


@contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """Turn the first stop signal into ``RunStopped`` and ignore the next ones, so that the
    executor's clean-up (stopping its workers) runs to the end; then restore the handlers.
    Only the main thread can set handlers: elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum: int, frame: object) -> None:
        if not received:
            received.append(signum)
            raise RunStopped(signum)

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old if old is not None else signal.SIG_DFL)


def _progress_bar(total: int, done: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=done, desc="trials", unit="trial", dynamic_ncols=True,
                file=sys.stderr)


def status_line(summary: RunSummary) -> str:
    """One line for the terminal: how many trials ran and how they ended."""
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(summary.status_counts.items())) or "none"
    state = (f"interrupted by {signal.Signals(summary.stop_signal).name}"
             if summary.stop_signal is not None else "done")
    return (f"{state}: {summary.ran} trials run now ({statuses}), {summary.already_done} "
            f"already in the store, {summary.total} in the selection -> {summary.run_dir}")
