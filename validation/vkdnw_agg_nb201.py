"""VKDNW_single and VKDNW_agg (the named aggregates ``vkdnw_single``, ``vkdnw_agg``) on the NB-201
cells of a run that scored ``--scorers vkdnw_agg`` (or ``vkdnw_single``), beside each scorer
inside them.

The paper's values (0.750 on CIFAR-10 `ori-test` for VKDNW_agg) rank the 9,444 cells with GRAF
features; the run is given such cells (`--arch-list`, the GRAF-valid cells of the seeded sample,
`trainable_layers_nb201.graf_valid`), and the aggregates are ranked within the archs VKDNW
scored. Prints, for each aggregate whose scorers the run holds, Kendall tau-b with a 95 %
bootstrap interval (1,000 resamples) on the dataset's test column (the one VKDNW's code reads)
and its validation column, and each scorer's CPU seconds per arch.

    python validation/vkdnw_agg_nb201.py RUN_DIR [DATASET]     # cifar10 (default), cifar100,
                                                              # imagenet16-120
"""

from __future__ import annotations

import sys

from new_proxies_n1000 import COLUMNS  # per dataset: the test column, then the validation one

import harness
from harness import metrics
from harness.registry import get_registry
from harness.reports.aggregates import from_plugin


def kendall(scores, truth) -> str:
    quality = metrics.evaluate(scores, truth, bootstrap=1000)
    low, high = quality.kendall_interval
    return f"{quality.kendall:.3f} [{low:.3f}, {high:.3f}] (n = {quality.n})"


def main(run: str, dataset: str = "cifar10") -> None:
    columns = COLUMNS[dataset]
    trials = harness.load_trials(run)
    trials = trials[(trials.space == "nb201") & (trials.dataset == dataset)]
    scores = trials.assign(score=trials.score.where(trials.status == "ok")).pivot_table(
        index="arch_id", columns="scorer", values="score", aggfunc="first", dropna=False)
    scored = scores[scores["vkdnw"].notna()]
    truth = harness.ground_truth("nb201").reindex(scored.index)
    registry = get_registry()
    print(f"| scorer | Kendall `{columns[0]}` | Kendall `{columns[1]}` | CPU s per arch |\n"
          "| --- | --- | --- | --- |")
    aggregates = [from_plugin(registry.get("aggregate", name), registry)
                  for name in ("vkdnw_agg", "vkdnw_single")]
    aggregates = [spec for spec in aggregates if set(spec.leaves()) <= set(scored.columns)]
    for spec in aggregates:
        combined = spec.evaluate({leaf: scored[leaf].to_numpy(float) for leaf in spec.leaves()})
        cells = " | ".join(kendall(combined, truth[column].to_numpy(float)) for column in columns)
        print(f"| `{spec.name}` | {cells} | |")
    cpu = trials.groupby("scorer").cpu_s.mean()
    for leaf in aggregates[0].leaves():
        cells = " | ".join(kendall(scored[leaf].to_numpy(float), truth[column].to_numpy(float))
                           for column in columns)
        print(f"| `{leaf}` | {cells} | {cpu.get(leaf, float('nan')):.3f} |")


if __name__ == "__main__":
    main(*sys.argv[1:3])
