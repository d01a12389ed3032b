"""The report's bootstrap intervals: ``harness.metrics.bootstrap_interval`` (percentile, resamples
computed many rows at a time) against ``scipy.stats.bootstrap`` with ``method="BCa"``, on
1,000 archs x 1,000 resamples, for Kendall's tau and Spearman's rho.

Each round runs both, one after the other (interleaved, so both see the same machine load),
timed in CPU seconds (``time.process_time``: this process only, not the machine's other jobs);
the ratio of their medians (scipy / harness) is printed and stored in ``extra_info``. Both
sides get the same statistic function: what differs is the resampling machinery. BCa adds a
jackknife (n more evaluations of the statistic) to the resamples. Run with

    OMP_NUM_THREADS=1 pytest benchmarks/test_bootstrap.py --benchmark-enable -s

Without ``--benchmark-enable`` (the project default) each side runs once, as a smoke test.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest
from scipy import stats

from harness import metrics

N_ARCHS = 1_000
RESAMPLES = 1_000
ROUNDS = 3


def _data() -> tuple[np.ndarray, np.ndarray]:
    """Scores that rank the truth with Kendall ~0.6, with synflow-like heavy tails."""
    rng = np.random.default_rng(0)
    truth = rng.normal(size=N_ARCHS)
    scores = np.exp(3 * (truth + rng.normal(scale=0.7, size=N_ARCHS)))
    return scores, truth


def _spearman_along(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Spearman along ``axis`` of arrays of any shape (scipy's vectorized calling form), by
    the batched function the harness's bootstrap uses."""
    x, y = np.moveaxis(x, axis, -1), np.moveaxis(y, axis, -1)
    rows = metrics._spearman_rows(x.reshape(-1, x.shape[-1]), y.reshape(-1, y.shape[-1]))
    return rows.reshape(x.shape[:-1])


def _scipy_bca(name: str, scores: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    if name == "kendall":
        function, vectorized = metrics.kendall_tau, False
    else:
        function, vectorized = _spearman_along, True
    result = stats.bootstrap((scores, truth), function, paired=True, vectorized=vectorized,
                             n_resamples=RESAMPLES, method="BCa", random_state=0)
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def _harness(name: str, scores: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    function = metrics.kendall_tau if name == "kendall" else metrics.spearman_rho
    return metrics.bootstrap_interval(scores, truth, function, resamples=RESAMPLES, seed=0)


def _cpu_seconds(call, times: list[float]) -> tuple[float, float]:
    start = time.process_time()
    interval = call()
    times.append(time.process_time() - start)
    return interval


@pytest.mark.benchmark(group="bootstrap")
@pytest.mark.parametrize("name", ["kendall", "spearman"])
def test_harness_bootstrap_against_scipy_bca(benchmark, name):
    scores, truth = _data()
    times: dict[str, list[float]] = {"harness": [], "scipy_bca": []}
    intervals: dict[str, tuple[float, float]] = {}

    def one_round() -> None:
        intervals["harness"] = _cpu_seconds(lambda: _harness(name, scores, truth),
                                            times["harness"])
        intervals["scipy_bca"] = _cpu_seconds(lambda: _scipy_bca(name, scores, truth),
                                              times["scipy_bca"])

    benchmark.pedantic(one_round, rounds=ROUNDS, warmup_rounds=0)
    harness_s = statistics.median(times["harness"])
    scipy_s = statistics.median(times["scipy_bca"])
    benchmark.extra_info.update({"harness_cpu_s": harness_s, "scipy_bca_cpu_s": scipy_s,
                                 "ratio_scipy_over_harness": scipy_s / harness_s,
                                 "harness_interval": intervals["harness"],
                                 "scipy_bca_interval": intervals["scipy_bca"]})
    print(f"\n{name}, {N_ARCHS} archs x {RESAMPLES} resamples: harness {harness_s:.2f} CPU s "
          f"{intervals['harness']}, scipy BCa {scipy_s:.2f} CPU s {intervals['scipy_bca']}, "
          f"ratio {scipy_s / harness_s:.2f}")
    low, high = intervals["harness"]
    bca_low, bca_high = intervals["scipy_bca"]
    assert abs(low - bca_low) < 0.02 and abs(high - bca_high) < 0.02, (
        "both are 95 % intervals of the same statistic on the same data")
