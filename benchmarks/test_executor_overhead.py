"""Cost per trial of the ``ray`` and ``slurm`` (submitit's local cluster) executors against the
``local`` executor, on ``params`` trials (a model build and a count: almost pure overhead).

Each round runs, one executor after the other (so all see the same machine load), a run of N
and a run of 2N ``params`` trials on NB-201 cells from the bundled ground truth, every executor
one trial at a time: ``local`` with one worker process, ``ray`` on a ``ray.init(num_cpus=1)``
started once for the module (batches of 4 trials per task), ``slurm`` on submitit's local
cluster with one array task per run that runs its trials in its own process. Measured: wall
seconds (the work is in other processes, so the driver's CPU time would miss it). Reported,
medians over the rounds after a warm-up round: the marginal seconds per trial
((T(2N) - T(N)) / N: what one more trial costs, start-up excluded) and the whole 2N run's
seconds per trial (start-up included), and each executor's ratio to ``local``. Run with

    nice -n 10 pytest benchmarks/test_executor_overhead.py --benchmark-enable -s -p no:cacheprovider

Without ``--benchmark-enable`` one small round runs, as a smoke test. Needs the ray and slurm
extras (skipped without them).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from harness.config import RunConfig
from harness.execute import execute_plan
from harness.plan import plan_run

EXECUTORS = {
    "local": {"executor": "local", "workers": 1},
    "ray": {"executor": "ray", "workers": 1},
    "slurm-local": {"executor": "slurm", "workers": 0},
}


@pytest.fixture(scope="module")
def ray_started():
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")
    pytest.importorskip("submitit", reason="the slurm extra is not installed")
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _run_seconds(name: str, trials: int, out: Path) -> float:
    values = dict(EXECUTORS[name])
    if name == "slurm-local":
        values["executor_options"] = {"slurm_cluster": "local", "slurm_chunk": trials}
    config = RunConfig(spaces=["nb201"], scorers=["params"], samples=trials, out=str(out),
                       **values)
    plan = plan_run(config)
    start = time.perf_counter()
    summary = execute_plan(plan, progress=False)
    seconds = time.perf_counter() - start
    assert summary.status_counts == {"ok": trials}, summary.status_counts
    return seconds


@pytest.mark.benchmark(group="executor-overhead-params")
def test_executor_overhead_per_params_trial(benchmark, ray_started, tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "data"))  # the bundled NB-201 table
    monkeypatch.setenv("HARNESS_WORKER_THREADS", "1")
    enabled = benchmark.enabled
    trials, rounds = (100, 3) if enabled else (4, 1)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in EXECUTORS}
    counter = iter(range(10**6))

    def one_round() -> None:
        for name in EXECUTORS:
            small = _run_seconds(name, trials, tmp_path / f"{name}-{next(counter)}")
            large = _run_seconds(name, 2 * trials, tmp_path / f"{name}-{next(counter)}")
            times[name].append((small, large))

    benchmark.pedantic(one_round, rounds=rounds, warmup_rounds=1 if enabled else 0)
    rows = {}
    for name, measured in times.items():
        measured = measured[-rounds:]  # without the warm-up round
        marginal = statistics.median((large - small) / trials for small, large in measured)
        whole = statistics.median(large / (2 * trials) for _, large in measured)
        rows[name] = (marginal, whole)
    base_marginal, base_whole = rows["local"]
    for name, (marginal, whole) in rows.items():
        benchmark.extra_info[name] = {
            "marginal_s_per_trial": marginal, "whole_run_s_per_trial": whole,
            "marginal_ratio_to_local": marginal / base_marginal,
            "whole_run_ratio_to_local": whole / base_whole}
        print(f"\n{name:12s} marginal {1000 * marginal:7.2f} ms/trial "
              f"(x{marginal / base_marginal:.2f} local), whole {2 * trials}-trial run "
              f"{1000 * whole:7.2f} ms/trial (x{whole / base_whole:.2f} local)")
