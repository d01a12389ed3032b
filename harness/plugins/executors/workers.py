"""What every executor's worker does before its first trial, and what travels to it.

A worker (a local pool process, a Ray task, a Slurm array task) must compute exactly what the
driver would: the same plugins registered (including those the driver registered in-process,
such as tests' toy plugins), the same ``HARNESS_*`` settings, deterministic algorithms and
``HARNESS_WORKER_THREADS`` torch threads (default 1), so that CPU scores are bit-identical
whichever executor ran them. Importing this module is cheap (no torch).
"""

from __future__ import annotations

import importlib
import os
import signal
import threading
import time
import types
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from harness.registry import get_registry

if TYPE_CHECKING:
    from harness.store import TrialResult
    from harness.trial import TrialJob

# In-process plugins as (name, "module", module name) or (name, "object", picklable object).
PortablePlugins = list[tuple[str, str, Any]]


def portable_plugins() -> PortablePlugins:
    """The driver's in-process plugins in a form a worker process can register again."""
    portable = []
    for name, plugin in get_registry().inprocess_plugins():
        if isinstance(plugin, types.ModuleType):
            portable.append((name, "module", plugin.__name__))
        else:
            portable.append((name, "object", plugin))
    return portable


def harness_environment() -> dict[str, str]:
    """The driver's ``HARNESS_*`` variables (plugin switches, data dir, worker threads): what a
    worker on another machine needs of the driver's environment, and nothing machine-specific."""
    return {key: value for key, value in os.environ.items() if key.startswith("HARNESS_")}


def worker_threads() -> int:
    """Torch threads per worker: ``HARNESS_WORKER_THREADS`` (default 1)."""
    return int(os.environ.get("HARNESS_WORKER_THREADS", "1"))


def prepare_worker(plugins: PortablePlugins) -> None:
    """Make this process compute like the driver: deterministic algorithms, the worker thread
    count, and the driver's in-process plugins registered (once; a reused worker skips them)."""
    import torch

    from harness import seeding

    seeding.use_deterministic_algorithms()
    torch.set_num_threads(worker_threads())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the driver already reported load warnings
        registry = get_registry()
        for name, form, value in plugins:
            if registry.pm.get_plugin(name) is None:
                plugin = importlib.import_module(value) if form == "module" else value
                registry.register_plugin(plugin, name)


class TrialTimeout(BaseException):
    """Raised in a trial by ``run_trials``' timer; a ``BaseException`` so that the handling of
    scorer errors in ``harness.trial.execute_trial`` does not turn it into an ``error`` row."""


@contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise ``TrialTimeout`` in this thread after ``seconds`` (a SIGALRM timer; it fires
    between Python bytecodes, so a single long C call ends first). Only the main thread can
    take signals: elsewhere, and without ``seconds``, nothing is timed here."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise TrialTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_trials(jobs: Sequence[TrialJob], plugins: PortablePlugins,
               environment: dict[str, str], device: str | None = None,
               timeout_s: float | None = None) -> list[TrialResult]:
    """Run ``jobs`` one after another in this process with the driver's ``environment``
    (``HARNESS_*``) and plugins; their results in order (a remote task's body). A trial that
    runs past ``timeout_s`` is a ``timeout`` row."""
    os.environ.update(environment)
    prepare_worker(plugins)
    from harness.trial import execute_trial, result_for

    results = []
    for job in jobs:
        start = time.perf_counter()
        try:
            with _time_limit(timeout_s):
                results.append(execute_trial(job, device))
        except TrialTimeout:
            results.append(result_for(job, "timeout", f"exceeded --trial-timeout "
                                      f"{timeout_s:g} s", wall_s=time.perf_counter() - start,
                                      device=device))
    return results
