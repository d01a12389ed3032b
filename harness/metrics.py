"""Ranking-quality metrics: Kendall tau-b, Spearman rho, Pearson r, retrieval rate@top-K, the
metrics that weigh the top (nDCG@K, precision@K, Kendall within the true top-K, best true rank
among the predicted top-K), bootstrap.

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
- The metrics that weigh the top take K as a count of archs (``TOP_K_ARCHS``; K = min(K, N)),
  since a search keeps a few archs, not a share of the space: precision@K is
  |predicted top-K ∩ true top-K| / K (retrieval@p is precision@int(p * N)); nDCG@K takes as
  gain the truth minus the smallest truth (the worst arch gains 0), discounted by log2(1 +
  position); Kendall within the true top-K is tau-b over the K truly best archs; best true
  rank is the smallest true rank (1 = the truly best arch; tied truths share the better rank)
  among the predicted top-K. Each uses the stable tie-breaking above.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

RETRIEVAL_TOPS: tuple[float, ...] = (0.05, 0.10, 0.20, 0.30, 0.40, 0.50)
TOP_K_ARCHS: tuple[int, ...] = (10,)

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


def _best_first(values: np.ndarray) -> np.ndarray:
    """Indices from the highest value down; equal values keep input order (stable)."""
    return np.argsort(-values, kind="stable")


def precision_at_k(scores: ArrayLike, truth: ArrayLike, k: int) -> float:
    """|predicted top-K ∩ true top-K| / K over finite pairs, K = min(k, N)."""
    x, y = _finite_pairs(scores, truth)
    k = min(k, len(x))
    if k < 1:
        return float("nan")
    return len(np.intersect1d(_best_first(x)[:k], _best_first(y)[:k])) / k


def retrieval_rate(scores: ArrayLike, truth: ArrayLike, top: float = 0.10) -> float:
    """|predicted top-K ∩ true top-K| / K over finite pairs, K = ``top_k(N, top)``."""
    x, y = _finite_pairs(scores, truth)
    return precision_at_k(x, y, top_k(len(x), top)) if len(x) else float("nan")


def ndcg_at_k(scores: ArrayLike, truth: ArrayLike, k: int) -> float:
    """nDCG@K over finite pairs: gains ``truth - min(truth)`` in predicted order, discounted by
    log2(1 + position), over the same sum in true order; NaN when every gain is 0."""
    x, y = _finite_pairs(scores, truth)
    k = min(k, len(x))
    if k < 1:
        return float("nan")
    gain = y - y.min()
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = float(np.sort(gain)[::-1][:k] @ discount)
    return float(gain[_best_first(x)[:k]] @ discount) / ideal if ideal > 0 else float("nan")


def kendall_in_true_top(scores: ArrayLike, truth: ArrayLike, k: int) -> float:
    """Kendall tau-b of scores and truth over the K truly best archs (finite pairs)."""
    x, y = _finite_pairs(scores, truth)
    best = _best_first(y)[:min(k, len(x))]
    return kendall_tau(x[best], y[best])


def best_true_rank(scores: ArrayLike, truth: ArrayLike, k: int) -> float:
    """The best true rank (1 = truly best; 1 + the number of strictly better archs) among the
    predicted top-K (finite pairs): how far down the truth the search's best pick lies."""
    x, y = _finite_pairs(scores, truth)
    k = min(k, len(x))
    if k < 1:
        return float("nan")
    picked = y[_best_first(x)[:k]]
    return float(1 + np.sum(y[None, :] > picked[:, None], axis=1).min())


# The metrics that weigh the top, by name: each f(scores, truth, k).
TOP_METRICS: dict[str, Callable[[ArrayLike, ArrayLike, int], float]] = {
    "ndcg": ndcg_at_k, "precision": precision_at_k, "kendall_top": kendall_in_true_top,
    "best_rank": best_true_rank}


def top_metric_name(metric: str, k: int) -> str:
    """The column name of a metric that weighs the top, e.g. ``ndcg@10``."""
    return f"{metric}@{k}"


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
    ``retrieval`` maps each top fraction to its rate; ``at_k``: the metrics that weigh the top
    by name (``ndcg@10``, ``precision@10``, ``kendall_top@10``, ``best_rank@10``);
    ``*_interval``: bootstrap intervals (None unless requested).
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
    at_k: dict[str, float] = field(default_factory=dict)
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
             tops: Sequence[float] = RETRIEVAL_TOPS, ks: Sequence[int] = TOP_K_ARCHS,
             bootstrap: int = 0, seed: int = 0) -> RankingQuality:
    """All ranking metrics of ``scores`` against ``truth``, with exclusions counted.

    ``higher_is_better=False`` negates the truth first (errors, perplexities). ``bootstrap``
    resamples (0 = none) give 95 % intervals for Kendall and Spearman, seeded by ``seed``.
    ``ks``: the K (archs) of the metrics that weigh the top.
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
        at_k={top_metric_name(name, k): function(scores_array, truth_array, k)
              for k in ks for name, function in TOP_METRICS.items()},
        kendall_interval=intervals["kendall"],
        spearman_interval=intervals["spearman"],
    )
