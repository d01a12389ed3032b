"""Ranking-quality metrics: Kendall tau-b, Spearman rho, Pearson r, retrieval rate@top-K, bootstrap.

Conventions (the evaluation protocol of docs/protocol.md, as in the GenNAS appendix A.3.4):

- Scores are oriented higher = predicted better; ground truth higher = better. A ground truth
  where lower is better (error, perplexity) is negated by ``evaluate(higher_is_better=False)``.
- Correlations are signed; nothing here takes ``abs()``. Reports add |tau| and |rho| beside them
  because the reference scripts publish absolute values.
- The bare metric functions drop every pair whose score or truth is not finite. ``evaluate``
  counts what it drops (``n_excluded``) and also gives the variant where a non-finite score
  counts as the worst score (tied with every other non-finite one).
- Retrieval rate@top-p: K = int(p * N) (truncation, at least 1); the rate is
  |predicted top-K ∩ true top-K| / K. Ties are broken by a stable sort on the input order: among
  equal values the element that comes first in the input is ranked better.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

RETRIEVAL_TOPS: tuple[float, ...] = (0.05, 0.10, 0.20, 0.30, 0.40, 0.50)

ArrayLike = Sequence[float] | np.ndarray


def _finite_pairs(scores: ArrayLike, truth: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    scores_array = np.asarray(scores, dtype=float)
    truth_array = np.asarray(truth, dtype=float)
    if scores_array.shape != truth_array.shape or scores_array.ndim != 1:
        raise ValueError(f"scores and truth must be 1-D and of equal length, got "
                         f"{scores_array.shape} and {truth_array.shape}")
    keep = np.isfinite(scores_array) & np.isfinite(truth_array)
    return scores_array[keep], truth_array[keep]


def _correlation(function: Callable, scores: ArrayLike, truth: ArrayLike) -> float:
    x, y = _finite_pairs(scores, truth)
    # Fewer than two pairs, or a constant side, has no defined correlation.
    if len(x) < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan")
    return float(function(x, y)[0])


def kendall_tau(scores: ArrayLike, truth: ArrayLike) -> float:
    """Kendall tau-b (tie-corrected; ``scipy.stats.kendalltau`` default) over finite pairs."""
    return _correlation(stats.kendalltau, scores, truth)


def spearman_rho(scores: ArrayLike, truth: ArrayLike) -> float:
    """Spearman rho with average ranks for ties (``scipy.stats.spearmanr``) over finite pairs."""
    return _correlation(stats.spearmanr, scores, truth)


def pearson(scores: ArrayLike, truth: ArrayLike) -> float:
    """Pearson's linear correlation r over finite pairs."""
    return _correlation(stats.pearsonr, scores, truth)


def top_k(n: int, top: float) -> int:
    """K = int(top * n), at least 1 (N = 117, top 10 % -> K = 11, as in GenNAS's Table 4)."""
    if not 0 < top <= 1:
        raise ValueError(f"top must be a fraction in (0, 1], got {top}")
    # The small epsilon keeps int() from truncating 0.3 * 10 = 2.9999999999999996 to 2.
    return max(1, int(top * n + 1e-9))


def _top_indices(values: np.ndarray, k: int) -> set[int]:
    order = np.argsort(-values, kind="stable")  # stable: equal values keep input order
    return set(order[:k].tolist())


def retrieval_rate(scores: ArrayLike, truth: ArrayLike, top: float = 0.10) -> float:
    """|predicted top-K ∩ true top-K| / K over finite pairs, K = ``top_k(N, top)``."""
    x, y = _finite_pairs(scores, truth)
    if len(x) == 0:
        return float("nan")
    k = top_k(len(x), top)
    return len(_top_indices(x, k) & _top_indices(y, k)) / k


# Kept over scipy.stats.bootstrap(method="BCa"): on 1,000 archs x 1,000 resamples scipy took
# 1.97x the CPU time for Kendall and 1.54x for Spearman, with the same statistic functions
# (benchmarks/test_bootstrap.py, interleaved): BCa's jackknife evaluates the statistic n more
# times, and the intervals agreed to 0.003.
def bootstrap_interval(scores: ArrayLike, truth: ArrayLike,
                       statistic: Callable[[np.ndarray, np.ndarray], float], *,
                       resamples: int = 1000, seed: int = 0,
                       confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over finite pairs, resampled with replacement.

    Resamples come from ``numpy.random.default_rng(seed)``, so the same call gives the same
    interval. Resamples whose statistic is undefined (e.g. all one value) are left out.
    """
    x, y = _finite_pairs(scores, truth)
    if len(x) < 2 or resamples < 1:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    indices = np.stack([rng.integers(0, len(x), len(x)) for _ in range(resamples)])
    batched, max_n, row_cells = _BATCHED.get(statistic, (None, 0, None))
    if batched is not None and len(x) <= max_n:
        rows = max(1, _BATCH_CELLS // row_cells(len(x)))
        values = np.concatenate([batched(x[indices[i:i + rows]], y[indices[i:i + rows]])
                                 for i in range(0, resamples, rows)])
    else:
        values = np.asarray([statistic(x[index], y[index]) for index in indices])
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return float("nan"), float("nan")
    alpha = (1 - confidence) / 2
    low, high = np.quantile(finite, [alpha, 1 - alpha])
    return float(low), float(high)


def _kendall_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall tau-b of every row pair of (B, n) arrays (equal to ``kendall_tau`` per row)."""
    n = x.shape[1]
    sign_x = np.sign(x[:, :, None] - x[:, None, :])
    sign_y = np.sign(y[:, :, None] - y[:, None, :])
    pairs = n * (n - 1) / 2
    ties_x = ((sign_x == 0).sum(axis=(1, 2)) - n) / 2
    ties_y = ((sign_y == 0).sum(axis=(1, 2)) - n) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = (sign_x * sign_y).sum(axis=(1, 2)) / 2 / np.sqrt((pairs - ties_x) * (pairs - ties_y))
    tau[(ties_x == pairs) | (ties_y == pairs)] = np.nan  # a constant side
    return tau


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rho (average ranks) of every row pair of (B, n) arrays."""
    rank_x = stats.rankdata(x, axis=1)
    rank_y = stats.rankdata(y, axis=1)
    rank_x -= rank_x.mean(axis=1, keepdims=True)
    rank_y -= rank_y.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rank_x * rank_y).sum(axis=1) / np.sqrt(
            (rank_x**2).sum(axis=1) * (rank_y**2).sum(axis=1))


# Bootstrap resamples of these statistics are computed many rows at a time, since scipy's
# per-call overhead dominates for small samples: (batched function, largest n, array cells
# per row). Kendall's n x n sign matrices stop paying off above ~150 archs.
_BATCHED = {kendall_tau: (_kendall_rows, 150, lambda n: n * n),
            spearman_rho: (_spearman_rows, 1_000_000, lambda n: n)}
_BATCH_CELLS = 4_000_000


@dataclass(frozen=True)
class RankingQuality:
    """Every ranking metric of one (scores, truth) pairing.

    ``n``: pairs used; ``n_excluded``: pairs dropped because the score was not finite (pairs
    without a finite truth are dropped too and counted in ``n_no_truth``). ``*_worst``: the
    same correlation when non-finite scores count as the worst score instead of being dropped.
    ``retrieval`` maps each top fraction to its rate; ``*_interval``: bootstrap intervals
    (None unless requested).
    """

    n: int
    n_excluded: int
    n_no_truth: int
    kendall: float
    spearman: float
    pearson: float
    kendall_worst: float
    spearman_worst: float
    retrieval: dict[float, float] = field(default_factory=dict)
    kendall_interval: tuple[float, float] | None = None
    spearman_interval: tuple[float, float] | None = None


def nonfinite_as_worst(scores: ArrayLike) -> np.ndarray:
    """Scores with every non-finite value replaced by one value below the finite minimum."""
    array = np.asarray(scores, dtype=float).copy()
    finite = np.isfinite(array)
    worst = array[finite].min() - 1.0 if finite.any() else 0.0
    array[~finite] = worst
    return array


def evaluate(scores: ArrayLike, truth: ArrayLike, *, higher_is_better: bool = True,
             tops: Sequence[float] = RETRIEVAL_TOPS, bootstrap: int = 0,
             seed: int = 0) -> RankingQuality:
    """All ranking metrics of ``scores`` against ``truth``, with exclusions counted.

    ``higher_is_better=False`` negates the truth first (errors, perplexities). ``bootstrap``
    resamples (0 = none) give 95 % intervals for Kendall and Spearman, seeded by ``seed``.
    """
    scores_array = np.asarray(scores, dtype=float)
    truth_array = np.asarray(truth, dtype=float)
    if not higher_is_better:
        truth_array = -truth_array
    has_truth = np.isfinite(truth_array)
    scores_array, truth_array = scores_array[has_truth], truth_array[has_truth]
    finite = np.isfinite(scores_array)
    worst = nonfinite_as_worst(scores_array)
    intervals: dict[str, tuple[float, float] | None] = {"kendall": None, "spearman": None}
    if bootstrap:
        for name, function in (("kendall", kendall_tau), ("spearman", spearman_rho)):
            intervals[name] = bootstrap_interval(scores_array, truth_array, function,
                                                 resamples=bootstrap, seed=seed)
    return RankingQuality(
        n=int(finite.sum()),
        n_excluded=int((~finite).sum()),
        n_no_truth=int((~has_truth).sum()),
        kendall=kendall_tau(scores_array, truth_array),
        spearman=spearman_rho(scores_array, truth_array),
        pearson=pearson(scores_array, truth_array),
        kendall_worst=kendall_tau(worst, truth_array),
        spearman_worst=spearman_rho(worst, truth_array),
        retrieval={top: retrieval_rate(scores_array, truth_array, top) for top in tops},
        kendall_interval=intervals["kendall"],
        spearman_interval=intervals["spearman"],
    )
