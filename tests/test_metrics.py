"""Ranking metrics against scipy and against small cases computed by hand (ties included)."""

import math

import numpy as np
import pytest
from scipy import stats

from harness import metrics


def test_perfect_and_reversed_rankings():
    scores, truth = [1, 2, 3, 4], [10, 20, 30, 40]
    assert metrics.kendall_tau(scores, truth) == 1.0
    assert metrics.spearman_rho(scores, truth) == 1.0
    assert metrics.kendall_tau(scores, truth[::-1]) == -1.0, "signed: never abs()"
    assert metrics.spearman_rho(scores, truth[::-1]) == -1.0


def test_kendall_tau_b_with_a_tie_by_hand():
    # Pairs of [1,2,2,3] vs [1,2,3,4]: 5 concordant, 0 discordant, 1 tied in scores only:
    # tau-b = 5 / sqrt((6 - 1) * (6 - 0)).
    assert metrics.kendall_tau([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(5 / math.sqrt(30),
                                                                             abs=1e-15)


def test_spearman_with_a_tie_by_hand():
    # Average ranks [1, 2.5, 2.5, 4] vs [1, 2, 3, 4]: rho = 4.5 / sqrt(4.5 * 5) = 3 / sqrt(10).
    assert metrics.spearman_rho([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(3 / math.sqrt(10),
                                                                              abs=1e-15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_scipy_on_tied_random_data(seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 8, 60).astype(float)  # many ties on purpose
    truth = scores + rng.integers(0, 5, 60)
    assert metrics.kendall_tau(scores, truth) == pytest.approx(
        stats.kendalltau(scores, truth)[0], abs=1e-12)
    assert metrics.spearman_rho(scores, truth) == pytest.approx(
        stats.spearmanr(scores, truth)[0], abs=1e-12)
    assert metrics.pearson(scores, truth) == pytest.approx(
        stats.pearsonr(scores, truth)[0], abs=1e-12)


def test_top_k_truncates_like_the_appendix():
    assert metrics.top_k(117, 0.10) == 11
    assert metrics.top_k(499, 0.10) == 49
    assert metrics.top_k(10, 0.30) == 3, "0.3 * 10 is 3, not 2.999..."
    assert metrics.top_k(5, 0.05) == 1, "at least 1"


def test_retrieval_rate_by_hand():
    truth = list(range(10))            # true top-2: indices 9, 8
    scores = [0, 1, 2, 3, 4, 5, 6, 7, 9, 8]
    assert metrics.retrieval_rate(scores, truth, top=0.2) == 1.0
    scores = [9, 1, 2, 3, 4, 5, 6, 7, 0, 8]  # predicted top-2: 0, 9 -> one hit
    assert metrics.retrieval_rate(scores, truth, top=0.2) == 0.5
    # top 50 %: K = 5, predicted {0, 9, 7, 6, 5}, true {9, 8, 7, 6, 5} -> 4 / 5
    assert metrics.retrieval_rate(scores, truth, top=0.5) == 0.8


def test_retrieval_rate_breaks_ties_by_input_order():
    # All scores tie: the stable sort keeps input order, so the predicted top-2 is {0, 1}.
    assert metrics.retrieval_rate([1, 1, 1, 1], [4, 3, 2, 1], top=0.5) == 1.0
    assert metrics.retrieval_rate([1, 1, 1, 1], [1, 2, 3, 4], top=0.5) == 0.0


def test_non_finite_scores_are_dropped_and_counted():
    quality = metrics.evaluate([1, float("nan"), 3, float("inf")], [1, 2, 3, 4])
    assert (quality.n, quality.n_excluded, quality.n_no_truth) == (2, 2, 0)
    assert quality.kendall == 1.0
    # Worst variant: scores [1, 0, 3, 0]: 2 concordant, 3 discordant, 1 tie in scores.
    assert quality.kendall_worst == pytest.approx(-1 / math.sqrt(30), abs=1e-15)


def test_missing_truth_is_counted_separately():
    quality = metrics.evaluate([1, 2, 3], [1, float("nan"), 3])
    assert (quality.n, quality.n_excluded, quality.n_no_truth) == (2, 0, 1)


def test_lower_is_better_truth_is_negated():
    quality = metrics.evaluate([1, 2, 3], [30.0, 20.0, 10.0], higher_is_better=False)
    assert quality.kendall == 1.0 and quality.spearman == 1.0
    assert quality.retrieval[0.5] == 1.0


def test_constant_scores_have_no_correlation():
    assert math.isnan(metrics.kendall_tau([1, 1, 1], [1, 2, 3]))
    assert math.isnan(metrics.spearman_rho([1], [1]))


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=80)
    scores = truth + rng.normal(scale=0.8, size=80)
    first = metrics.bootstrap_interval(scores, truth, metrics.kendall_tau, resamples=200, seed=3)
    again = metrics.bootstrap_interval(scores, truth, metrics.kendall_tau, resamples=200, seed=3)
    other = metrics.bootstrap_interval(scores, truth, metrics.kendall_tau, resamples=200, seed=4)
    assert first == again, "same seed -> same interval"
    assert first != other
    assert first[0] < metrics.kendall_tau(scores, truth) < first[1]


def test_bootstrap_resamples_pairs_like_a_direct_implementation():
    scores, truth = np.array([3.0, 1.0, 4.0, 1.5, 5.0, 9.0]), np.array([2.0, 7, 1, 8, 2.5, 8.5])
    rng = np.random.default_rng(11)
    direct = []
    for _ in range(50):
        index = rng.integers(0, 6, 6)
        direct.append(metrics.spearman_rho(scores[index], truth[index]))
    direct = np.asarray(direct)[np.isfinite(direct)]
    expected = tuple(np.quantile(direct, [0.025, 0.975]))
    assert metrics.bootstrap_interval(scores, truth, metrics.spearman_rho, resamples=50,
                                      seed=11) == pytest.approx(expected)


def test_evaluate_returns_intervals_only_when_asked():
    assert metrics.evaluate([1, 2, 3], [1, 2, 3]).kendall_interval is None
    quality = metrics.evaluate([1, 2, 3, 5, 4], [1, 2, 3, 4, 5], bootstrap=20, seed=0)
    assert quality.kendall_interval is not None and quality.spearman_interval is not None


@pytest.mark.parametrize("n", [3, 40, 200])
def test_batched_bootstrap_equals_one_resample_at_a_time(n):
    # Kendall is batched up to 150 archs, Spearman always; n = 200 takes scipy for Kendall.
    rng = np.random.default_rng(n)
    scores = rng.integers(0, 5, n).astype(float)  # ties, and constant resamples at n = 3
    truth = scores + rng.integers(0, 3, n)
    for statistic in (metrics.kendall_tau, metrics.spearman_rho):
        rng = np.random.default_rng(7)
        direct = np.asarray([statistic(scores[i], truth[i])
                             for i in (rng.integers(0, n, n) for _ in range(30))])
        direct = direct[np.isfinite(direct)]
        expected = tuple(np.quantile(direct, [0.025, 0.975]))
        assert metrics.bootstrap_interval(scores, truth, statistic, resamples=30,
                                          seed=7) == pytest.approx(expected, abs=1e-12)


# Five archs predicted in the order a0 > a1 > a2 > a3 > a4; the truth puts a1 first, then a3, a0.
TOP_SCORES, TOP_TRUTH = [4, 3, 2, 1, 0], [3, 5, 1, 4, 2]


def test_precision_at_k_by_hand():
    assert metrics.precision_at_k(TOP_SCORES, TOP_TRUTH, 2) == 0.5, "{a0,a1} vs {a1,a3}"
    assert metrics.precision_at_k(TOP_SCORES, TOP_TRUTH, 4) == 0.75, "{a0..a3} vs {a0,a1,a3,a4}"
    assert metrics.precision_at_k(TOP_SCORES, TOP_TRUTH, 50) == 1.0, "K is capped at N"


def test_retrieval_is_precision_at_a_share_of_the_archs():
    assert metrics.retrieval_rate(TOP_SCORES, TOP_TRUTH, 0.4) == metrics.precision_at_k(
        TOP_SCORES, TOP_TRUTH, 2)


def test_ndcg_at_k_by_hand():
    # Gains truth - 1 = [2, 4, 0, 3, 1]; predicted order gives 2, 4; the ideal one 4, 3.
    expected = (2 + 4 / math.log2(3)) / (4 + 3 / math.log2(3))
    assert metrics.ndcg_at_k(TOP_SCORES, TOP_TRUTH, 2) == pytest.approx(expected, abs=1e-15)
    assert metrics.ndcg_at_k(TOP_TRUTH, TOP_TRUTH, 3) == 1.0, "the true order is ideal"
    assert math.isnan(metrics.ndcg_at_k([1, 2], [7, 7], 2)), "no gain anywhere"


def test_kendall_within_the_true_top_by_hand():
    # True top 3: a1, a3, a0 with scores 3, 1, 4 against truth 5, 4, 3: one concordant pair
    # (a1, a3), two discordant: tau = (1 - 2) / 3.
    assert metrics.kendall_in_true_top(TOP_SCORES, TOP_TRUTH, 3) == pytest.approx(-1 / 3,
                                                                                  abs=1e-15)


def test_best_true_rank_by_hand():
    assert metrics.best_true_rank(TOP_SCORES, TOP_TRUTH, 1) == 3.0, "a0 is third in truth"
    assert metrics.best_true_rank(TOP_SCORES, TOP_TRUTH, 2) == 1.0, "a1 is first"
    assert metrics.best_true_rank([0, 1, 2], [5, 5, 1], 2) == 1.0, "tied truths share rank 1"
    assert metrics.best_true_rank([0, 1, 2], [5, 5, 1], 1) == 3.0


def test_top_metrics_drop_non_finite_pairs_and_reach_evaluate():
    scores = [4, float("nan"), 3, 2, 1, 0]
    truth = [3, 99, 5, 1, 4, 2]
    quality = metrics.evaluate(scores, truth, ks=(2,))
    assert quality.at_k == {
        "ndcg@2": metrics.ndcg_at_k(TOP_SCORES, TOP_TRUTH, 2),
        "precision@2": 0.5, "kendall_top@2": 1.0,
        "best_rank@2": 1.0}, "the NaN score's pair is left out before K is taken"
