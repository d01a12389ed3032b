"""AZ-NAS's rank aggregation of the four parts on a run of validation/new_proxies_az_te_vkdnw.sh.

Σ_parts log(rank / N) (scipy's average ranks, −inf lowest, as the official notebook's
``stats.rankdata``), Kendall tau-b against cifar10/ori-test with a 1,000-resample bootstrap
95 % interval. A stand-in until the report's own aggregates exist (issue 30, section 2).
Usage: python validation/new_proxies_az_aggregate.py RUN_DIR
"""

from __future__ import annotations

import sqlite3
import sys

import numpy as np
from scipy import stats

PARTS = ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity")


def main(run_dir: str) -> None:
    with sqlite3.connect(f"{run_dir}/trials.sqlite") as db:
        truth = dict(db.execute("select arch_id, value from ground_truth "
                                "where metric = 'cifar10/ori-test'"))
        scores = {part: dict(db.execute("select arch_id, coalesce(score, -1e308) from trials "
                                        "where scorer = ?", (part,))) for part in PARTS}
    archs = sorted(set.intersection(*(set(s) for s in scores.values())))
    ranks = [stats.rankdata([scores[part][a] for a in archs]) for part in PARTS]
    aggregate = np.sum([np.log(r / len(archs)) for r in ranks], axis=0)
    accuracy = np.array([truth[a] for a in archs])
    tau = stats.kendalltau(aggregate, accuracy).statistic
    rng = np.random.default_rng(0)
    draws = [rng.integers(0, len(archs), len(archs)) for _ in range(1000)]
    boot = [stats.kendalltau(aggregate[i], accuracy[i]).statistic for i in draws]
    low, high = np.nanpercentile(boot, [2.5, 97.5])
    print(f"az_nas (sum of log ranks of {', '.join(PARTS)}): n={len(archs)} "
          f"kendall={tau:.3f} [{low:.3f}, {high:.3f}]")


if __name__ == "__main__":
    main(sys.argv[1])
