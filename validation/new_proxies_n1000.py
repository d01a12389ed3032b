"""Every scorer of one NB-201 run, its label-free combinations and few-label prediction, on the
ground-truth columns the published values use (validation/validation-new-proxies.md, n = 1,000).

Reads a run folder where `harness study run gennas-appendix --rows nb201-DATASET-zc` and
`harness compare --extend` scored the same seeded NB-201 sample on DATASET (`cifar10`, the
default, `cifar100` or `imagenet16-120`; the commands are on the page). Prints markdown:

1. Kendall tau-b (95 % bootstrap interval, 1,000 resamples), Spearman rho, and nDCG@10 %, per
   scorer, on the published values' column (`cifar10/ori-test`; elsewhere `x-test`) and the
   validation column; and Kendall over the sample's GRAF-valid cells (no op on a dead branch,
   `trainable_layers_nb201.py`), the cells VKDNW's Table 1 correlates (its ZiCo, TE-NAS,
   trainable-layers and VKDNW values).
2. Label-free rank combinations, chosen **without looking at the archs they are reported on**:
   the candidates below are evaluated on a random half of the archs (selection half, seed 0);
   the one with the best Kendall there is reported on the other half, with its interval. AZ-NAS
   (its four parts, sum of log ranks) is reported on the whole sample as published.
3. `harness predict` (gradient boosting on the scores and the arch encoding) at k = 10 ... 500,
   held-out Kendall, mean and spread over 10 random draws.

    python validation/new_proxies_n1000.py RUN_DIR [DATASET] > table.md
"""

from __future__ import annotations

import itertools
import sys

import numpy as np
import pandas as pd
from trainable_layers_nb201 import graf_valid

import harness
from harness import metrics
from harness.plugins.spaces.nb201.arch import str_to_ops
from harness.registry import get_registry
from harness.reports.aggregates import combine, from_plugin

# Per dataset: the published values' column, then the validation column beside it.
COLUMNS = {"cifar10": ("cifar10/ori-test", "cifar10-valid/x-valid"),
           "cifar100": ("cifar100/x-test", "cifar100/x-valid"),
           "imagenet16-120": ("imagenet16-120/x-test", "imagenet16-120/x-valid")}
AZ_PARTS = ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity")
# Label-free candidates: every pair and triple of the strong, cheap, mutually different proxies,
# plus AZ-NAS's parts with each of them; each under both rank methods.
POOL = ("meco", "zico", "naswot", "synflow", "swap_reg", "gradsign", "jacob_cov", "flops")
KS = (10, 20, 50, 100, 200, 500)


def score_table(run: str, dataset: str) -> pd.DataFrame:
    """Arch x scorer scores of the nb201/``dataset`` trials (non-ok trials NaN)."""
    trials = harness.load_trials(run)
    trials = trials[(trials.space == "nb201") & (trials.dataset == dataset)]
    trials = trials.assign(score=trials.score.where(trials.status == "ok"))
    return trials.pivot_table(index="arch_id", columns="scorer", values="score",
                              aggfunc="first", dropna=False)


def quality(scores: np.ndarray, truth: np.ndarray) -> metrics.RankingQuality:
    return metrics.evaluate(scores, truth, bootstrap=1000, ks=(100,))


def cell(q: metrics.RankingQuality) -> str:
    low, high = q.kendall_interval
    return f"{q.kendall:.3f} [{low:.3f}, {high:.3f}]"


def main(run: str, dataset: str) -> None:
    published, validation = COLUMNS[dataset]
    scores = score_table(run, dataset)
    truth = harness.ground_truth("nb201").reindex(scores.index)
    valid_cells = np.array([graf_valid(str_to_ops(arch)) for arch in scores.index])
    print(f"## Single scorers (n up to {len(scores)}; {int(valid_cells.sum())} GRAF-valid)\n")
    print(f"| scorer | n | Kendall `{published}` | Spearman | nDCG@100 | Kendall `{validation}` | "
          f"Kendall `{published}`, GRAF-valid cells (n) |\n"
          "| --- | --- | --- | --- | --- | --- | --- |")
    for scorer in sorted(scores.columns):
        test = quality(scores[scorer].to_numpy(), truth[published].to_numpy())
        valid = quality(scores[scorer].to_numpy(), truth[validation].to_numpy())
        graf = quality(scores[scorer].to_numpy()[valid_cells],
                       truth[published].to_numpy()[valid_cells])
        print(f"| `{scorer}` | {test.n} | {cell(test)} | {test.spearman:.3f} | "
              f"{test.at_k['ndcg@100']:.3f} | {cell(valid)} | {cell(graf)} ({graf.n}) |")

    acc = truth[published].to_numpy()
    print(f"\n## Label-free combinations (`{published}`)\n")
    if all(part in scores for part in AZ_PARTS):
        az = combine(scores[list(AZ_PARTS)].to_numpy(), "log_rank")
        print(f"AZ-NAS (four parts, log ranks), whole sample: {cell(quality(az, acc))}, "
              f"n = {int(np.isfinite(az).sum())}\n")
    registry = get_registry()
    for name in registry.names("aggregate"):
        aggregate = from_plugin(registry.get("aggregate", name), registry)
        leaves = list(aggregate.leaves())
        if not all(leaf in scores for leaf in leaves):
            continue
        every = scores[leaves].notna().all(axis=1).to_numpy()
        # Ranked within the archs it is reported on, as the papers rank within their sample.
        on_all, on_graf = ((aggregate.evaluate({leaf: scores[leaf].to_numpy()[keep]
                                                for leaf in leaves}), acc[keep])
                           for keep in (every, every & valid_cells))
        print(f"{name} ({aggregate.method} of {', '.join(aggregate.parts)}), the archs with "
              f"every scorer: {cell(quality(*on_all))}, n = {int(every.sum())}; ranked within "
              f"their GRAF-valid cells: {cell(quality(*on_graf))}, "
              f"n = {int((every & valid_cells).sum())}\n")
    if "meco" in scores and dataset == "cifar10":
        meco_test = truth["cifar10-valid/ori-test"].to_numpy()
        q = metrics.evaluate(scores["meco"].to_numpy(), meco_test, bootstrap=1000)
        low, high = q.spearman_interval
        print(f"MeCo Spearman on `cifar10-valid/ori-test` (its paper's column): {q.spearman:.3f} "
              f"[{low:.3f}, {high:.3f}], n = {q.n}\n")
    pool = [name for name in POOL if name in scores]
    candidates = [parts for size in (2, 3) for parts in itertools.combinations(pool, size)]
    if all(part in scores for part in AZ_PARTS):
        candidates += [(*AZ_PARTS, name) for name in pool]
    rng = np.random.default_rng(0)
    selection = rng.permutation(len(scores)) < len(scores) // 2
    ranked = []
    for parts, method in itertools.product(candidates, ("mean_rank", "log_rank")):
        combined = combine(scores[list(parts)].to_numpy(), method)
        ranked.append((metrics.kendall_tau(combined[selection], acc[selection]), parts,
                       method, combined))
    ranked.sort(key=lambda entry: -entry[0])
    print(f"{len(ranked)} candidates, chosen on {int(selection.sum())} archs, reported on the "
          f"other {int((~selection).sum())}:\n")
    print("| rank on the selection half | combination | Kendall, selection half | Kendall, "
          "held-out half [95 %] |\n| --- | --- | --- | --- |")
    for place, (chosen_tau, parts, method, combined) in enumerate(ranked[:5], start=1):
        held = quality(combined[~selection], acc[~selection])
        print(f"| {place} | {method}({', '.join(parts)}) | {chosen_tau:.3f} | {cell(held)} |")

    print(f"\n## Few-label prediction (`harness predict`, `{published}`)\n")
    # Fit on the cheap scorers, those that scored (nearly) every arch of the sample.
    cheap = [name for name in scores if scores[name].notna().mean() >= 0.9]
    print(f"features: the ranks of {', '.join(cheap)}, and the arch encoding\n")
    frame = harness.predict(run, train=KS, splits=10, metric=published, scorers=cheap)
    frame = frame[(frame.space == "nb201") & (frame.dataset == dataset)]
    print("| k | boosting: held-out Kendall (± std over 10 draws) | best single scorer |\n"
          "| --- | --- | --- |")
    for k in KS:
        rows = frame[frame.k == k]
        fitted = rows[rows.predictor == "boosting"].iloc[0]
        best = rows[rows.best_single].iloc[0]
        print(f"| {k} | {fitted.kendall:.3f} ± {fitted.kendall_std:.3f} | "
              f"{best.predictor} {best.kendall:.3f} |")
    for note in frame.attrs.get("notes", []):
        print(f"\nnote: {note}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "cifar10")
