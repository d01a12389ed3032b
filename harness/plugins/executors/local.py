"""The ``local`` executor: a pool of long-lived worker processes on this machine.

Each worker is a clean process that loads the plugins once, then runs trials one at a time
and sends back their records; the driver alone writes the store. Workers are never forked from
the driver (which may hold CUDA state and threads): on Linux they come from a ``forkserver``
that has imported torch and the harness core but run nothing, so replacing a killed worker
costs a fork instead of a fresh interpreter importing torch (seconds); elsewhere ``spawn``.
Each worker takes the driver's environment as it is when the run starts.

With ``--device cuda`` and several visible GPUs there is one worker per GPU, or
``--workers-per-gpu K`` workers per GPU (several small trials share a GPU at once).
A trial that exceeds ``--trial-timeout`` has its worker killed and replaced and is recorded as
``timeout``; a worker that dies (segfault, out-of-memory kill) becomes an ``error`` row for the
trial it was running, and a new worker takes its place. Workers ignore SIGINT, SIGTERM and
SIGHUP: when the driver stops a run (it closes ``run``'s generator), busy workers are killed at
once and idle ones asked to exit; the fork server exits when the driver does.

A worker runs one arch's trials one after another (the plan lists them arch by arch) and
starts an arch no busy worker holds, so scorers that share work for an arch within a process
(AZ-NAS's parts, one pass for all three) share it; once every remaining arch is held, an idle
worker helps with the first.

Workers use ``HARNESS_WORKER_THREADS`` torch threads each (default 1), whatever the worker
count, so CPU scores are bit-identical with 1 or N workers. ``--workers 0`` runs trials in the
driver process instead (no timeouts, no crash isolation; handy under a debugger).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import OrderedDict, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from harness.plugins.executors.workers import PortablePlugins, portable_plugins, prepare_worker
from harness.protocols import ExecutorOption, ExecutorSettings

if TYPE_CHECKING:
    from harness.store import TrialResult
    from harness.trial import TrialJob

STARTUP_TIMEOUT_S = 300.0
# Imported once by the fork server so that every worker starts with them loaded: what a
# trial needs, nothing more (no torch._inductor, no reports: seconds of start-up per run).
FORKSERVER_PRELOAD = ["torch", "harness.trial", "harness.seeding"]


class WorkerStartError(HarnessError):
    """A worker process died before it was ready (a plugin that cannot load, no memory...)."""


def _start_context() -> Any:
    """``forkserver`` (with torch preloaded) where the platform has it, else ``spawn``."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(FORKSERVER_PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def _worker_main(connection: Connection, device: str, plugins: PortablePlugins,
                 environment: dict[str, str]) -> None:
    """Worker loop: load plugins once, then answer each job with its ``TrialResult``."""
    # Ctrl-C goes to the whole process group, and `timeout` or Slurm may signal every process
    # of the run: the driver decides when workers stop (it kills them), so a stop is never
    # mistaken for a trial whose worker died.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    # The fork server was started with the environment of the first run; use today's
    # (plugin switches, CUDA_VISIBLE_DEVICES...).
    os.environ.clear()
    os.environ.update(environment)
    from harness.trial import execute_trial

    prepare_worker(plugins)
    connection.send(("ready", None))
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):  # the driver is gone
            return
        if job is None:
            return
        result = execute_trial(job, device)
        try:
            connection.send(("result", result))
        except (BrokenPipeError, OSError):
            return


ArchKey = tuple[str, str, str, int]


def arch_key(job: TrialJob) -> ArchKey:
    """The trials that build the same network: one space, dataset, arch and trial seed."""
    return job.trial.space, job.trial.dataset, job.trial.arch_id, job.trial_seed


class PendingJobs:
    """The jobs not yet sent, grouped by arch in plan order (see the module docstring)."""

    def __init__(self, jobs: Sequence[TrialJob]) -> None:
        self._groups: OrderedDict[ArchKey, deque[TrialJob]] = OrderedDict()
        for job in jobs:
            self._groups.setdefault(arch_key(job), deque()).append(job)

    def __bool__(self) -> bool:
        return bool(self._groups)

    def take(self, last: ArchKey | None, held: set[ArchKey]) -> TrialJob:
        """The next job for a worker whose last trial was of arch ``last``: that arch's next,
        else the first arch not ``held`` by a busy worker, else the first arch."""
        if last not in self._groups:
            last = next((key for key in self._groups if key not in held),
                        next(iter(self._groups)))
        group = self._groups[last]
        job = group.popleft()
        if not group:
            del self._groups[last]
        return job


@dataclass
class _Slot:
    """One worker position: its device, its current process, the job it runs, and the arch of
    the last job it was sent."""

    device: str
    process: Any = None
    connection: Connection | None = None
    ready: bool = False
    job: TrialJob | None = None
    arch: ArchKey | None = None
    started_s: float = 0.0
    spawned_s: float = 0.0


def _exit_text(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by signal {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


@dataclass
class _Spawner:
    """Starts worker processes, all alike: the run's start method, plugins and environment."""

    context: Any
    plugins: PortablePlugins
    environment: dict[str, str]

    def start(self, slot: _Slot) -> None:
        parent, child = self.context.Pipe()
        slot.process = self.context.Process(
            target=_worker_main, args=(child, slot.device, self.plugins, self.environment),
            daemon=True, name=f"harness-worker-{slot.device}")
        slot.process.start()
        child.close()
        slot.connection, slot.ready, slot.job = parent, False, None
        slot.spawned_s = time.monotonic()


def _stop(slot: _Slot) -> None:
    """Kill the slot's worker (if alive) and forget it."""
    if slot.process is not None and slot.process.is_alive():
        slot.process.kill()
    if slot.process is not None:
        slot.process.join(timeout=10)
    if slot.connection is not None:
        slot.connection.close()
    slot.process, slot.connection, slot.ready, slot.job = None, None, False, None


def _shut_down(slot: _Slot) -> None:
    """Ask the slot's idle worker to exit (a None job), give it two seconds, then stop it; a
    worker still running a trial (the run was stopped) is stopped at once."""
    if (slot.job is None and slot.connection is not None and slot.process is not None
            and slot.process.is_alive()):
        try:
            slot.connection.send(None)
        except OSError:
            pass
        slot.process.join(timeout=2)
    _stop(slot)


def _dispatch(slots: list[_Slot], pending: PendingJobs) -> None:
    """Send each ready, idle worker its next pending job."""
    for slot in slots:
        if slot.ready and slot.job is None and pending:
            held = {s.arch for s in slots if s.job is not None}
            slot.job = pending.take(slot.arch, held)
            slot.arch = arch_key(slot.job)
            slot.connection.send(slot.job)
            slot.started_s = time.monotonic()


def _wait_timeout(live: list[_Slot], trial_timeout_s: float | None) -> float | None:
    """Seconds until the first running trial or starting worker runs out of time (None: never)."""
    now = time.monotonic()
    deadlines = [s.started_s + trial_timeout_s - now for s in live
                 if s.job is not None and trial_timeout_s]
    deadlines += [s.spawned_s + STARTUP_TIMEOUT_S - now for s in live if not s.ready]
    return max(min(deadlines), 0) if deadlines else None


class LocalExecutor:
    """Runs trial jobs in a pool of long-lived worker processes (see the module docstring).

    ``workers_per_gpu`` (``--workers-per-gpu K``): with ``--device cuda``, K workers share
    each visible GPU (at least K x GPUs workers), so small networks keep a big GPU busy.
    """

    name = "local"
    options: tuple[ExecutorOption, ...] = ()

    def __init__(self, workers_per_gpu: int = 1) -> None:
        self.workers_per_gpu = workers_per_gpu

    def configured(self, settings: ExecutorSettings) -> LocalExecutor:
        return LocalExecutor(settings.workers_per_gpu)

    def _devices(self, workers: int, device: str) -> list[str]:
        """One device name per worker: every GPU, each ``workers_per_gpu`` times."""
        if device == "cuda":
            import torch

            gpus = torch.cuda.device_count()
            if gpus > 1 or (gpus == 1 and self.workers_per_gpu > 1):
                count = max(workers, gpus * self.workers_per_gpu)
                return [f"cuda:{i % gpus}" for i in range(count)]
        if device.startswith("cuda"):
            return [device] * max(workers, self.workers_per_gpu)
        return [device] * workers

    def run(self, jobs: Sequence[TrialJob], *, workers: int, device: str,
            trial_timeout_s: float | None) -> Iterator[TrialResult]:
        if workers <= 0:
            from harness.trial import execute_in_process

            yield from execute_in_process(jobs)
            return
        if not jobs:
            return
        spawner = _Spawner(_start_context(), portable_plugins(), dict(os.environ))
        slots = [_Slot(d) for d in self._devices(workers, device)[:len(jobs)]]
        pending = PendingJobs(jobs)
        try:
            for slot in slots:
                spawner.start(slot)
            while True:
                _dispatch(slots, pending)
                live = [s for s in slots if s.process is not None and (s.job or not s.ready)]
                if not live:
                    return
                ready = wait([s.connection for s in live] + [s.process.sentinel for s in live],
                             timeout=_wait_timeout(live, trial_timeout_s))
                for slot in live:
                    result = self._check(slot, ready, trial_timeout_s, spawner)
                    if result is not None:
                        yield result
                if not pending and all(s.job is None for s in slots):
                    return
        finally:
            for slot in slots:
                _shut_down(slot)

    def _check(self, slot: _Slot, ready: list, trial_timeout_s: float | None,
               spawner: _Spawner) -> TrialResult | None:
        """Advance one slot after ``wait``: a message, a death, or an expired deadline."""
        from harness.trial import result_for

        if slot.connection in ready:
            try:
                kind, payload = slot.connection.recv()
            except (EOFError, OSError):
                kind, payload = "died", None
            if kind == "ready":
                slot.ready = True
                return None
            if kind == "result":
                slot.job = None
                return payload
        elif slot.process.sentinel not in ready:
            now = time.monotonic()
            if slot.job is not None and trial_timeout_s and now - slot.started_s >= trial_timeout_s:
                job = slot.job
                _stop(slot)
                spawner.start(slot)
                return result_for(job, "timeout",
                                  f"exceeded --trial-timeout {trial_timeout_s:g} s; worker "
                                  f"killed and replaced", wall_s=now - slot.started_s,
                                  device=slot.device)
            if not slot.ready and now - slot.spawned_s >= STARTUP_TIMEOUT_S:
                _stop(slot)
                raise WorkerStartError(f"a worker on {slot.device} did not start within "
                                       f"{STARTUP_TIMEOUT_S:g} s")
            return None
        # The process died (its sentinel fired, or its pipe closed without a result).
        slot.process.join(timeout=10)
        exit_text = _exit_text(slot.process.exitcode)
        job, elapsed = slot.job, time.monotonic() - slot.started_s
        was_ready = slot.ready
        _stop(slot)
        if job is None and not was_ready:
            raise WorkerStartError(f"a worker on {slot.device} died while starting "
                                   f"({exit_text}); run with --workers 0 to see the error")
        spawner.start(slot)
        if job is None:
            return None
        return result_for(job, "error", f"worker process died ({exit_text}) while running this "
                          f"trial", wall_s=elapsed, device=slot.device)
