"""The paired difference of a scorer's Kendall tau (or Spearman rho) between two run folders on
the same archs.

Used for the input-batch probe of validation/study-gennas-appendix-cpu.md: the same 500 seeded
NB-201 archs scored with NASWOT and jacob_cov at batch 10 (one run folder, `--option
naswot.batch_size=10 --option jacob_cov.batch_size=10`) and at batch 20 (the study's run
folder). Prints each run's Kendall tau-b and the difference (second - first) with a 95 % paired
percentile bootstrap interval (archs resampled together, 1,000 resamples, seed 0). Also used
for SWAP's pattern-count ceiling (docs/swap.md): `swap_reg` at 16 and at 20 images on the
CIFAR-100 study's 1,000 archs, with `--spearman` (the statistic SWAP publishes). A scorer
written `A=B` compares scorer A of the first run with scorer B of the second (two schedules of
one method, e.g. `gennas-search-n=gennas-search-n-fast`, possibly in the same run folder).

    python validation/paired_kendall_difference.py [--spearman] RUN_A RUN_B SPACE DATASET COLUMN \
        SCORER...
"""

from __future__ import annotations

import sys

import numpy as np

import harness
from harness import metrics

RESAMPLES = 1000


def scores(run: str, space: str, dataset: str, scorer: str):
    trials = harness.load_trials(run)
    trials = trials[(trials.space == space) & (trials.dataset == dataset)
                    & (trials.scorer == scorer)]
    return trials.set_index("arch_id").score.where(trials.set_index("arch_id").status == "ok")


def main(first: str, second: str, space: str, dataset: str, column: str,
         scorer_names: list[str], statistic=metrics.kendall_tau) -> None:
    truth = harness.ground_truth(space)[column]
    for scorer in scorer_names:
        scorer_a, _, scorer_b = scorer.partition("=")
        a = scores(first, space, dataset, scorer_a)
        b = scores(second, space, dataset, scorer_b or scorer_a)
        archs = sorted(set(a.index) & set(b.index))
        x, y, acc = (series.reindex(archs).to_numpy(float) for series in (a, b, truth))
        keep = np.isfinite(x) & np.isfinite(y) & np.isfinite(acc)
        x, y, acc = x[keep], y[keep], acc[keep]
        rng = np.random.default_rng(0)
        differences = []
        for _ in range(RESAMPLES):
            pick = rng.integers(0, len(acc), len(acc))
            differences.append(statistic(y[pick], acc[pick]) - statistic(x[pick], acc[pick]))
        low, high = np.percentile(differences, [2.5, 97.5])
        tau_a, tau_b = statistic(x, acc), statistic(y, acc)
        print(f"{scorer}: n = {len(acc)}, {tau_a:.3f} -> {tau_b:.3f}, difference "
              f"{tau_b - tau_a:+.3f} [{low:+.3f}, {high:+.3f}] on {column}")


if __name__ == "__main__":
    spearman = sys.argv[1] == "--spearman"
    arguments = sys.argv[2:] if spearman else sys.argv[1:]
    main(*arguments[:5], arguments[5:],
         statistic=metrics.spearman_rho if spearman else metrics.kendall_tau)
