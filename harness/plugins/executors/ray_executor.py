"""The ``ray`` executor: trials as Ray tasks, on a Ray cluster or a Ray started on this machine.

``pip install 'nas-harness[ray]'``. The driver connects to ``--ray-address`` (else the
``RAY_ADDRESS`` variable, else it starts a Ray on this machine with ``--workers`` CPUs and stops
it at the end) and sends the jobs in small batches of consecutive trials, one Ray task each
(``--ray-batch N``, default 4; the plan orders trials arch by arch, so a batch mostly holds one
arch's scorers and seeds). Each task declares its resources: ``HARNESS_WORKER_THREADS`` CPUs
(default 1), and with ``--device cuda`` a ``1 / --workers-per-gpu`` share of a GPU, so Ray
packs that many trials on each GPU of the cluster.

Tasks return their records; the driver alone writes the store. Each task registers the
driver's in-process plugins and ``HARNESS_*`` settings and runs with the worker thread count,
so CPU scores are bit-identical to the ``local`` executor's. A task whose worker or node dies
is run again by Ray (``--ray-max-retries``, default 3); after that its trials are ``error``
rows and the run goes on. With ``--trial-timeout`` each task holds one trial and a timer in the
task turns an overrun into a ``timeout`` row; as a backstop for a trial stuck inside one long C
call, the driver cancels a task still running ``TIMEOUT_GRACE_S`` after its deadline (counted
from submission, so a worker's start-up is not charged to the trial) and records ``timeout``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from harness.plugins.executors.extras import import_extra
from harness.plugins.executors.workers import (
    harness_environment,
    portable_plugins,
    run_trials,
    worker_threads,
)
from harness.protocols import ExecutorOption, ExecutorSettings

if TYPE_CHECKING:
    from harness.store import TrialResult
    from harness.trial import TrialJob

DEFAULT_BATCH = 4
DEFAULT_MAX_RETRIES = 3
WAIT_S = 1.0
TIMEOUT_GRACE_S = 120.0  # a new Ray worker imports torch and the plugins: seconds, or more


def import_ray() -> Any:
    """The ``ray`` module, or one clear line saying how to install it."""
    return import_extra("ray", executor="ray", library="Ray", extra="ray")


def batches(jobs: Sequence[TrialJob], size: int) -> list[list[TrialJob]]:
    """``jobs`` cut into consecutive batches of at most ``size``."""
    return [list(jobs[start:start + size]) for start in range(0, len(jobs), size)]


class RayExecutor:
    """Runs trial batches as Ray tasks (see the module docstring)."""

    name = "ray"
    options = (
        ExecutorOption("ray_address", "Ray cluster to run on (default: RAY_ADDRESS, else a "
                       "Ray started on this machine with --workers CPUs)", metavar="ADDRESS"),
        ExecutorOption("ray_batch", f"trials per Ray task (default {DEFAULT_BATCH}; 1 with "
                       f"--trial-timeout)", int, "N"),
        ExecutorOption("ray_max_retries", f"times Ray re-runs a task whose worker or node was "
                       f"lost (default {DEFAULT_MAX_RETRIES})", int, "N"),
    )

    def __init__(self, settings: ExecutorSettings | None = None) -> None:
        options = settings.options if settings else {}
        self.address: str | None = options.get("ray_address") or os.environ.get("RAY_ADDRESS")
        self.batch = int(options.get("ray_batch", DEFAULT_BATCH))
        self.max_retries = int(options.get("ray_max_retries", DEFAULT_MAX_RETRIES))
        self.workers_per_gpu = settings.workers_per_gpu if settings else 1
        if self.batch < 1 or self.max_retries < 0:
            raise HarnessError("--ray-batch must be at least 1 and --ray-max-retries at least 0")

    def configured(self, settings: ExecutorSettings) -> RayExecutor:
        import_ray()  # refuse before any trial runs
        return RayExecutor(settings)

    def run(self, jobs: Sequence[TrialJob], *, workers: int, device: str,
            trial_timeout_s: float | None) -> Iterator[TrialResult]:
        if not jobs:
            return
        ray = import_ray()
        started_here = not ray.is_initialized()
        if started_here:
            if self.address:
                _connect(ray, self.address)
            else:
                ray.init(num_cpus=max(workers, 1), include_dashboard=False)
        try:
            yield from _RayRun(ray, self, device, trial_timeout_s).results(jobs)
        finally:
            if started_here:
                ray.shutdown()


def _connect(ray: Any, address: str) -> None:
    """``ray.init(address)``, or one line naming the address Ray could not reach."""
    from harness.errors import one_line

    try:
        ray.init(address=address)
    except (ConnectionError, RuntimeError) as exc:
        raise HarnessError(f"--ray-address / RAY_ADDRESS {address}: cannot connect to Ray "
                           f"({one_line(exc)})") from None


class _RayRun:
    """One run's tasks: submits batches (at most ``limit`` in flight), yields their results."""

    def __init__(self, ray: Any, executor: RayExecutor, device: str,
                 trial_timeout_s: float | None) -> None:
        self.ray = ray
        self.timeout_s = trial_timeout_s
        on_gpu = device.startswith("cuda")
        # Ray shows each task only the GPU it was given (CUDA_VISIBLE_DEVICES): cuda:0 there.
        self.device = "cuda" if on_gpu else device
        threads = worker_threads()
        gpu_share = 1.0 / executor.workers_per_gpu if on_gpu else 0
        self.task = ray.remote(run_trials).options(
            num_cpus=threads, num_gpus=gpu_share, max_retries=executor.max_retries,
            retry_exceptions=False)
        self.batch = 1 if trial_timeout_s else executor.batch
        self.max_retries = executor.max_retries
        resources = ray.cluster_resources()
        slots = (resources.get("GPU", 0) * executor.workers_per_gpu if on_gpu
                 else resources.get("CPU", 1) / threads)
        # Enough queued work to keep every slot busy, not a 400k-task queue.
        self.limit = max(int(slots), 1) * 2
        self.plugins = ray.put(portable_plugins())
        self.environment = harness_environment()

    def results(self, jobs: Sequence[TrialJob]) -> Iterator[TrialResult]:
        waiting = batches(jobs, self.batch)
        waiting.reverse()  # pop() from the end keeps the plan's order
        in_flight: dict[Any, tuple[list[TrialJob], float]] = {}
        try:
            while waiting or in_flight:
                while waiting and len(in_flight) < self.limit:
                    batch = waiting.pop()
                    ref = self.task.remote(batch, self.plugins, self.environment, self.device,
                                           self.timeout_s)
                    in_flight[ref] = (batch, time.monotonic())
                ready, _ = self.ray.wait(list(in_flight), num_returns=1,
                                         timeout=self._wait_s(in_flight))
                for ref in ready:
                    batch, _ = in_flight.pop(ref)
                    yield from self._collect(ref, batch)
                yield from self._expire(in_flight)
        finally:
            for ref in in_flight:
                self.ray.cancel(ref, force=True)

    def _wait_s(self, in_flight: dict[Any, tuple[list[TrialJob], float]]) -> float:
        """Until the first backstop deadline, and at most ``WAIT_S`` so that a stop signal
        reaches the driver's handler promptly."""
        if not self.timeout_s:
            return WAIT_S
        first = min(submitted for _, submitted in in_flight.values())
        return min(max(first + self.timeout_s + TIMEOUT_GRACE_S - time.monotonic(), 0.0),
                   WAIT_S)

    def _collect(self, ref: Any, batch: list[TrialJob]) -> list[TrialResult]:
        """The batch's records, or an ``error`` row per trial when Ray lost the task."""
        from harness.errors import one_line
        from harness.trial import result_for

        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:
            message = (f"Ray task lost after {self.max_retries} retries "
                       f"({type(exc).__name__}): {one_line(exc)}")
            return [result_for(job, "error", message[:500]) for job in batch]

    def _expire(self, in_flight: dict[Any, tuple[list[TrialJob], float]]
                ) -> list[TrialResult]:
        """Cancel the tasks still running ``TIMEOUT_GRACE_S`` after their deadline (their own
        timer did not stop them); a ``timeout`` row each."""
        from harness.trial import result_for

        if not self.timeout_s:
            return []
        now, expired = time.monotonic(), []
        for ref, (batch, submitted) in list(in_flight.items()):
            if now - submitted >= self.timeout_s + TIMEOUT_GRACE_S:
                self.ray.cancel(ref, force=True)
                del in_flight[ref]
                expired += [result_for(job, "timeout", f"exceeded --trial-timeout "
                                       f"{self.timeout_s:g} s; Ray task cancelled after a further "
                                       f"{TIMEOUT_GRACE_S:g} s",
                                       wall_s=now - submitted) for job in batch]
        return expired
