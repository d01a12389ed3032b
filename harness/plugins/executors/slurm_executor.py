"""The ``slurm`` executor: trials in chunks, one Slurm array task per chunk, through submitit.

``pip install 'nas-harness[slurm]'``. The driver cuts the jobs into chunks of consecutive trials
(``--slurm-chunk``, default 100) and submits them as one job array (``--slurm-partition``,
``--slurm-time`` minutes per task, ``--slurm-gpus-per-task``, ``--slurm-array-parallelism``).
Each array task runs its chunk with the ``local`` executor's worker pool (``--workers`` worker
processes, ``--workers-per-gpu``, ``--trial-timeout``), or in its own process with
``--workers 0``, and returns the records: the driver alone writes ``trials.sqlite``, which
never sits on a network file system's writer side. Tasks get the driver's in-process plugins
and ``HARNESS_*`` settings and run with the worker thread count, so CPU scores are
bit-identical to the ``local`` executor's.

Logs, and submitit's own files, are in ``RUN_DIR/slurm/<job id>/``. The submitted job ids and
the trials of each are recorded in ``RUN_DIR/slurm/jobs.json`` (plain JSON): a driver that was
killed resumes by running the same command again, which re-attaches to the recorded jobs that
still hold trials the store lacks, and re-submits only the trials no job can deliver. A task
that fails (killed, out of time, node lost) records ``error`` for its chunk's trials and the
run goes on (``--retry-failed`` runs them again). The driver collects results as tasks finish,
so the progress bar moves chunk by chunk. A stopped driver leaves Slurm jobs running (the next
run collects them) but cancels ``--slurm-cluster local`` ones, which are its own processes.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import astuple
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from harness.plugins.executors.extras import import_extra
from harness.plugins.executors.workers import (
    PortablePlugins,
    harness_environment,
    portable_plugins,
    run_trials,
    worker_threads,
)
from harness.protocols import ExecutorOption, ExecutorSettings

if TYPE_CHECKING:
    from harness.store import TrialResult
    from harness.trial import TrialJob

LEDGER_FILE = "jobs.json"
POLL_S = 0.5
DEFAULTS = {"slurm_time": 60, "slurm_array_parallelism": 64, "slurm_chunk": 100,
            "slurm_cluster": "slurm"}


def import_submitit() -> Any:
    """The ``submitit`` module, or one clear line saying how to install it."""
    return import_extra("submitit", executor="slurm", library="submitit", extra="slurm")


def run_chunk(jobs: list[TrialJob], plugins: PortablePlugins, environment: dict[str, str],
              workers: int, device: str, workers_per_gpu: int,
              trial_timeout_s: float | None) -> list[TrialResult]:
    """One array task's body: the chunk's records, through the local worker pool (or in this
    process with ``workers`` 0)."""
    os.environ.update(environment)
    if workers <= 0:
        return run_trials(jobs, plugins, environment, None, trial_timeout_s)
    from harness.plugins.executors.local import LocalExecutor
    from harness.plugins.executors.workers import prepare_worker

    prepare_worker(plugins)  # the pool's workers take the driver's plugins from this process
    return list(LocalExecutor(workers_per_gpu).run(jobs, workers=workers, device=device,
                                                   trial_timeout_s=trial_timeout_s))


def _trial_key(job: TrialJob) -> tuple[Any, ...]:
    """The trial's store key as plain values (what ``jobs.json`` records)."""
    return astuple(job.trial)


class JobLedger:
    """``RUN_DIR/slurm/jobs.json``: each submitted job's id and its trials' keys (JSON)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LEDGER_FILE

    def read(self) -> list[dict[str, Any]]:
        try:
            document = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return []
        jobs = document.get("jobs") if isinstance(document, dict) else None
        return [j for j in jobs or [] if isinstance(j, dict) and "job_id" in j]

    def add(self, cluster: str, submitted: list[tuple[str, list[TrialJob]]]) -> None:
        entries = self.read() + [{"job_id": job_id, "cluster": cluster,
                                  "trials": [list(_trial_key(job)) for job in chunk]}
                                 for job_id, chunk in submitted]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"format": "harness-slurm-jobs/1", "jobs": entries}))
        os.replace(tmp, self.path)


class SlurmExecutor:
    """Runs trial chunks as Slurm array tasks through submitit (see the module docstring)."""

    name = "slurm"
    options = (
        ExecutorOption("slurm_partition", "Slurm partition (default: the cluster's)",
                       metavar="NAME"),
        ExecutorOption("slurm_time", "minutes each array task may run (default 60)", int,
                       "MIN"),
        ExecutorOption("slurm_gpus_per_task", "GPUs per array task (default 1 with --device "
                       "cuda, else 0)", int, "N"),
        ExecutorOption("slurm_array_parallelism", "array tasks running at once (default 64)",
                       int, "N"),
        ExecutorOption("slurm_chunk", "trials per array task (default 100)", int, "N"),
        ExecutorOption("slurm_cluster", "slurm (default), or local: submitit runs the same "
                       "jobs as processes on this machine", metavar="NAME"),
    )

    def __init__(self, settings: ExecutorSettings | None = None) -> None:
        self.settings = settings
        self.values = {**DEFAULTS, **(settings.options if settings else {})}
        if self.values["slurm_cluster"] not in ("slurm", "local"):
            raise HarnessError(f"--slurm-cluster {self.values['slurm_cluster']!r}: give slurm "
                               f"or local")
        if min(self.values["slurm_time"], self.values["slurm_array_parallelism"],
               self.values["slurm_chunk"]) < 1:
            raise HarnessError("--slurm-time, --slurm-array-parallelism and --slurm-chunk "
                               "must be at least 1")

    def configured(self, settings: ExecutorSettings) -> SlurmExecutor:
        import_submitit()  # refuse before any trial runs
        executor = SlurmExecutor(settings)
        if executor.values["slurm_cluster"] == "slurm" and not _has_sbatch():
            raise HarnessError("--executor slurm: no Slurm on this machine (sbatch not found); "
                               "run where sbatch works, or --slurm-cluster local")
        return executor

    def run(self, jobs: Sequence[TrialJob], *, workers: int, device: str,
            trial_timeout_s: float | None) -> Iterator[TrialResult]:
        if not jobs:
            return
        yield from self.session(workers, device, trial_timeout_s).results(jobs)

    def session(self, workers: int, device: str, trial_timeout_s: float | None
                ) -> SlurmSession:
        """The submissions of one run (``run`` collects them; tests submit through it)."""
        if self.settings is None:
            raise HarnessError("the slurm executor needs its run settings (configured())")
        return SlurmSession(self, workers, device, trial_timeout_s)


def _has_sbatch() -> bool:
    from shutil import which

    return which("sbatch") is not None


class SlurmSession:
    """One run's array tasks: attach to recorded ones, submit the rest, collect as they end."""

    def __init__(self, executor: SlurmExecutor, workers: int, device: str,
                 trial_timeout_s: float | None) -> None:
        self.submitit = import_submitit()
        self.values = executor.values
        self.cluster = self.values["slurm_cluster"]
        self.folder = executor.settings.run_dir / "slurm"
        self.ledger = JobLedger(self.folder)
        self.task_args = (portable_plugins(), harness_environment(), workers, device,
                          executor.settings.workers_per_gpu, trial_timeout_s)
        self.workers, self.device = workers, device

    def _submitter(self) -> Any:
        gpus = self.values.get("slurm_gpus_per_task")
        if gpus is None:
            gpus = 1 if self.device.startswith("cuda") else 0
        executor = self.submitit.AutoExecutor(folder=self.folder / "%j", cluster=self.cluster)
        parameters = {"timeout_min": self.values["slurm_time"],
                      "cpus_per_task": max(self.workers, 1) * worker_threads(),
                      "slurm_array_parallelism": self.values["slurm_array_parallelism"],
                      "slurm_gpus_per_task": gpus}
        if self.cluster == "local":
            parameters["gpus_per_node"] = gpus
        if self.values.get("slurm_partition"):
            parameters["slurm_partition"] = self.values["slurm_partition"]
        executor.update_parameters(**parameters)
        return executor

    def _attach(self, pending: dict[tuple, TrialJob]) -> list[tuple[Any, list[TrialJob]]]:
        """Handles of recorded jobs that can still deliver pending trials (their trials leave
        ``pending``): a local job once it has left its result, a Slurm job that left its
        result or that Slurm still knows (queued, running, or ended: a failed one becomes
        ``error`` rows)."""
        attached = []
        for entry in self.ledger.read():
            chunk = [pending[tuple(key)] for key in entry.get("trials", [])
                     if tuple(key) in pending]
            if not chunk:
                continue
            job_id = str(entry["job_id"])
            if entry.get("cluster", self.cluster) == "local":
                job = self.submitit.local.local.LocalJob(self.folder / "%j", job_id)
                if not job.paths.result_pickle.exists():
                    continue  # its process belonged to the killed driver: submit again
            else:
                job = self.submitit.SlurmJob(self.folder / "%j", job_id)
                if not job.paths.result_pickle.exists() and job.state.upper() == "UNKNOWN":
                    continue  # Slurm no longer knows it and it left no result: submit again
            for trial_job in chunk:
                del pending[_trial_key(trial_job)]
            attached.append((job, chunk))
        return attached

    def submit(self, chunks: list[list[TrialJob]]) -> list[tuple[Any, list[TrialJob]]]:
        """Submit ``chunks`` as one job array and record their job ids in ``jobs.json``."""
        if not chunks:
            return []
        submitter = self._submitter()
        columns = [[arg] * len(chunks) for arg in self.task_args]
        try:
            handles = submitter.map_array(run_chunk, chunks, *columns)
        except self.submitit.core.utils.FailedSubmissionError as exc:
            from harness.errors import one_line

            raise HarnessError(f"Slurm refused the job array (check --slurm-partition, "
                               f"--slurm-time, --slurm-gpus-per-task): {one_line(exc)}"
                               ) from None
        self.ledger.add(self.cluster, [(h.job_id, c) for h, c in zip(handles, chunks,
                                                                     strict=True)])
        print(f"submitted {len(chunks)} array tasks ({self.cluster}); logs in {self.folder}",
              file=sys.stderr)
        return list(zip(handles, chunks, strict=True))

    def results(self, jobs: Sequence[TrialJob]) -> Iterator[TrialResult]:
        pending = {_trial_key(job): job for job in jobs}
        running = self._attach(pending)
        remaining = [job for job in jobs if _trial_key(job) in pending]
        size = self.values["slurm_chunk"]
        running += self.submit([remaining[i:i + size] for i in range(0, len(remaining), size)])
        finished = False
        try:
            while running:
                still = []
                for handle, chunk in running:
                    if handle.done():
                        yield from self._collect(handle, chunk)
                    else:
                        still.append((handle, chunk))
                running = still
                if running:
                    time.sleep(POLL_S)
            finished = True
        finally:
            if not finished:
                self._leave(running)

    def _collect(self, handle: Any, chunk: list[TrialJob]) -> list[TrialResult]:
        """The task's records, or an ``error`` row per trial when the task failed."""
        from harness.errors import one_line
        from harness.trial import result_for

        try:
            return list(handle.result())
        except Exception as exc:  # killed, out of time, node lost: the run goes on
            message = f"Slurm task {handle.job_id} failed: {one_line(exc)}"
            return [result_for(job, "error", message[:500]) for job in chunk]

    def _leave(self, running: list[tuple[Any, list[TrialJob]]]) -> None:
        """The run stopped: cancel local jobs (this driver's processes); Slurm ones keep
        running and the next run of the same command collects them."""
        if self.cluster == "local":
            for handle, _ in running:
                handle.cancel(check=False)
        elif running:
            print(f"{len(running)} Slurm array tasks keep running; run the same command "
                  f"again to collect their results", file=sys.stderr)
