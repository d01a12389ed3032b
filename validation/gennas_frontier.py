"""GenNAS cost vs ranking quality on NB201: Kendall tau after 10..100 iterations, per setting.

Reads the records of ``gennas_validation.py`` runs of one task on the same archs: the default
run (``--default``) and any number of runs with one setting changed (``--variant LABEL=FILE``,
e.g. a smaller batch or channels-last convolutions). Each record keeps its evaluation losses at
iterations 10, 20, ..., 100, and with a constant learning rate the loss a run of k iterations
reports is exactly the k-th-iteration evaluation of the longer run (same initial weights, same
noise draws up to there), so one 100-iteration run gives every shorter schedule for free.

    python validation/gennas_frontier.py --table ../shared/data/nb201/nb201_all_15625.csv \\
        --default contiguous.jsonl --variant channels-last=channels_last.jsonl \\
        --variant "batch 8=batch8.jsonl" [--archs 250]

For every (setting, iterations): Kendall tau of -loss vs ``cifar10-valid/x-valid`` accuracy
with its 95 % bootstrap interval, the paired difference from the default at 100 iterations on
the same archs (95 % paired bootstrap interval), and the cost relative to that default (the
setting's mean seconds per arch times k / 100; the runs must have run side by side, on the
same machine, for their seconds to compare). A schedule "keeps tau" when its tau lies inside
the default's interval and its paired interval holds 0; the last line names the shortest
schedule of the default setting that keeps tau where the next evaluation point keeps it too.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import pandas as pd
from gennas_validation import GT_COLUMN, sample_order
from gennas_validation_report import load_records, paired_difference
from tabulate import tabulate

from harness.metrics import bootstrap_interval, kendall_tau

RESAMPLES = 1000
# Seconds per arch as the records give them: CPU seconds of the worker (newer records) or wall
# seconds; the cost column uses the first that every run has.
CLOCKS = ("cpu_s", "wall_s")


def trajectories(path: Path, archs: list[str]) -> pd.DataFrame:
    """-eval loss per (arch, iteration) of one run, on the archs of ``archs`` it scored, in
    ``archs`` order; columns are the iterations (10, 20, ...)."""
    records = load_records([path], archs).set_index("arch")
    losses = pd.DataFrame(records["eval_losses"].tolist(), index=records.index)
    losses.columns = [10 * (i + 1) for i in range(losses.shape[1])]
    scores = -losses.loc[[arch for arch in archs if arch in losses.index]]
    for clock in CLOCKS:
        if clock in records and records[clock].notna().all():
            scores.attrs[clock] = float(records[clock].mean())
    return scores


def frontier(default: pd.DataFrame, variants: dict[str, pd.DataFrame],
             truth: pd.Series) -> list[dict]:
    """One row per (setting, iterations) on the archs every run scored."""
    common = default.index
    for scores in variants.values():
        common = common.intersection(scores.index, sort=False)
    accuracy = truth.loc[common].to_numpy()
    full = default.loc[common, default.columns[-1]].to_numpy()
    tau_full = kendall_tau(full, accuracy)
    low_full, high_full = bootstrap_interval(full, accuracy, kendall_tau, resamples=RESAMPLES)
    runs = {"default": default, **variants}
    clock = next(clock for clock in CLOCKS if all(clock in run.attrs for run in runs.values()))
    rows = []
    for label, scores in runs.items():
        for iterations in scores.columns:
            values = scores.loc[common, iterations].to_numpy()
            tau = kendall_tau(values, accuracy)
            low, high = bootstrap_interval(values, accuracy, kendall_tau, resamples=RESAMPLES)
            diff_low, diff_high = paired_difference(values, full, accuracy)
            keeps = low_full <= tau <= high_full and diff_low <= 0 <= diff_high
            rows.append({"setting": label, "iterations": int(iterations), "archs": len(common),
                         "kendall": tau, "low": low, "high": high,
                         "difference": tau - tau_full,
                         "difference_low": diff_low, "difference_high": diff_high,
                         "relative_cost": scores.attrs[clock] * iterations
                         / (default.attrs[clock] * scores.columns[-1]), "clock": clock,
                         "keeps_tau": bool(keeps)})
    return rows


def shortest_schedule(rows: list[dict]) -> dict:
    """The default setting's row with the fewest iterations that keeps tau where the next
    evaluation point keeps it too (not one lucky evaluation point); the full schedule if none."""
    default = [row for row in rows if row["setting"] == "default"]
    for row, following in itertools.pairwise(default):
        if row["keeps_tau"] and following["keeps_tau"]:
            return row
    return default[-1]


def markdown(rows: list[dict]) -> str:
    table = [[row["setting"], row["iterations"], row["archs"], f"{row['kendall']:.3f}",
              f"{row['low']:.3f}..{row['high']:.3f}",
              f"{row['difference']:+.4f} "
              f"({row['difference_low']:+.3f}..{row['difference_high']:+.3f})",
              f"{row['relative_cost']:.2f}", "yes" if row["keeps_tau"] else "no"]
             for row in rows]
    return tabulate(table, ["setting", "iterations", "archs", "kendall", "95 %",
                            "vs default at 100 (paired 95 %)", "cost", "keeps tau"],
                    tablefmt="github", disable_numparse=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True, type=Path, help="nb201_all_15625.csv")
    parser.add_argument("--default", required=True, type=Path,
                        help="records of the run with the task's own settings")
    parser.add_argument("--variant", action="append", default=[], metavar="LABEL=FILE",
                        help="records of a run with one setting changed")
    parser.add_argument("--archs", type=int, help="only the first N archs of the sample")
    parser.add_argument("--sample-seed", type=int, default=0)
    args = parser.parse_args(argv)
    table = pd.read_csv(args.table)
    archs = sample_order(table, args.sample_seed)[:args.archs]
    truth = table.set_index("arch_str")[GT_COLUMN]
    variants = {}
    for entry in args.variant:
        label, _, path = entry.partition("=")
        variants[label] = trajectories(Path(path), archs)
    rows = frontier(trajectories(args.default, archs), variants, truth)
    shortest = shortest_schedule(rows)
    print(f"# GenNAS cost vs Kendall tau (vs {GT_COLUMN})\n\n{markdown(rows)}\n\n"
          f"cost: mean {rows[0]['clock']} per arch x iterations / 100, relative to the default\n\n"
          f"shortest default schedule that keeps tau (and so does the next one): "
          f"{shortest['iterations']} iterations, Kendall {shortest['kendall']:.3f} "
          f"({shortest['low']:.3f}..{shortest['high']:.3f}), cost {shortest['relative_cost']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
