"""What the records of ``gennas_validation.py`` say about GenNAS on NB201, as Markdown.

    python validation/gennas_validation_report.py --table ../shared/data/nb201/nb201_all_15625.csv \
        seed0.jsonl seeds12.jsonl [--archs 100]

Sections: Kendall tau per (seed, task) with a 95 % bootstrap interval beside the paper's value
(appendix Table 3, 1000 archs); the spread over seeds on the archs every seed scored; Kendall
after fewer iterations and for the other reports (from the recorded eval losses); and how hard
the arch sample is, measured with a published score of every NB201 arch (NASWOT v1 in the
shared table): a 100-arch sample moves Kendall by ~0.05 on its own, so the paired difference
GenNAS - NASWOT on the same archs is compared with the paper's difference as well.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from gennas_validation import GT_COLUMN, sample_order
from scipy import stats
from tabulate import tabulate

from harness.metrics import bootstrap_interval, kendall_tau, nonfinite_as_worst
from harness.reports.reference import references

RESAMPLES = 1000


def paper_kendall() -> dict[str, float]:
    """The paper's NB201 CIFAR-10 Kendall tau per scorer (appendix Table 3, 1000 archs)."""
    return {r.scorer: r.value for r in references()
            if r.table == "Table 3, NB-201" and r.dataset == "cifar10"}


def load_records(paths: list[Path], archs: list[str] | None) -> pd.DataFrame:
    """All records of the files (a later file wins a repeated trial), on ``archs`` if given."""
    rows = [json.loads(line) for path in paths for line in path.read_text().splitlines()
            if line.strip()]
    frame = pd.DataFrame(rows).drop_duplicates(["seed", "task", "arch"], keep="last")
    return frame if archs is None else frame[frame["arch"].isin(archs)]


def _table(rows: list[list], headers: list[str]) -> str:
    return tabulate(rows, headers, tablefmt="github", disable_numparse=True)


def _interval(scores: np.ndarray, truth: np.ndarray) -> str:
    low, high = bootstrap_interval(scores, truth, kendall_tau, resamples=RESAMPLES)
    return f"{low:.2f}..{high:.2f}"


def ranking_section(records: pd.DataFrame, truth: pd.Series) -> str:
    paper = paper_kendall()
    rows = []
    for (seed, task), group in records.groupby(["seed", "task"]):
        scores, accuracy = group["score"].to_numpy(), truth.loc[group["arch"]].to_numpy()
        rows.append([seed, task, len(group), f"{kendall_tau(scores, accuracy):.3f}",
                     _interval(scores, accuracy),
                     f"{stats.spearmanr(scores, accuracy, nan_policy='omit')[0]:.3f}",
                     paper.get(task, "")])
    return _table(rows, ["seed", "task", "archs", "kendall", "95 %", "spearman",
                         "paper (1000 archs)"])


def seed_section(records: pd.DataFrame, truth: pd.Series) -> str:
    rows = []
    for task, group in records.groupby("task"):
        scores = group.pivot_table(index="arch", columns="seed", values="score").dropna()
        if scores.shape[1] < 2:
            continue
        taus = [kendall_tau(scores[seed], truth.loc[scores.index]) for seed in scores.columns]
        between = [kendall_tau(scores[a], scores[b])
                   for a in scores.columns for b in scores.columns if a < b]
        rows.append([task, len(scores), " / ".join(f"{t:.3f}" for t in taus),
                     f"{np.mean(taus):.3f}", f"{np.std(taus, ddof=1):.3f}",
                     f"{max(taus) - min(taus):.3f}", f"{min(between):.2f}..{max(between):.2f}"])
    return _table(rows, ["task", "archs (all seeds)", "kendall per seed", "mean", "sd",
                         "range", "score tau between seeds"])


def report_section(records: pd.DataFrame, truth: pd.Series) -> str:
    """Kendall of minus the eval loss after each eval point, and of the other reports, on the
    records that keep their trajectory (older records have the final score only)."""
    if "eval_losses" not in records:
        return "no record keeps its eval losses"
    rows = []
    with_losses = records[records["eval_losses"].map(lambda value: isinstance(value, list))]
    for (seed, task), group in with_losses.groupby(["seed", "task"]):
        losses = np.array(group["eval_losses"].tolist(), dtype=float)
        accuracy = truth.loc[group["arch"]].to_numpy()
        per_eval = [kendall_tau(-losses[:, i], accuracy) for i in range(losses.shape[1])]
        rows.append([seed, task, len(group), " ".join(f"{t:.2f}" for t in per_eval),
                     f"{kendall_tau(-losses.mean(axis=1), accuracy):.3f}",
                     f"{kendall_tau(-group['last_train_loss'].to_numpy(), accuracy):.3f}"])
    return _table(rows, ["seed", "task", "archs", "kendall at each eval point (last_eval)",
                         "mean_eval", "last_train"])


def paired_difference(scores: np.ndarray, reference: np.ndarray,
                       accuracy: np.ndarray) -> tuple[float, float]:
    """95 % bootstrap interval of tau(scores) - tau(reference) over the same resampled archs."""
    rng = np.random.default_rng(0)
    differences = []
    for _ in range(RESAMPLES):
        index = rng.integers(0, len(scores), len(scores))
        differences.append(kendall_tau(scores[index], accuracy[index])
                           - kendall_tau(reference[index], accuracy[index]))
    low, high = np.nanquantile(differences, [0.025, 0.975])
    return float(low), float(high)


def hardness_section(records: pd.DataFrame, table: pd.DataFrame, column: str) -> str:
    paper = paper_kendall()
    everything = table.set_index("arch_str")[[column, GT_COLUMN]].copy()
    everything[column] = nonfinite_as_worst(everything[column])  # as a proxy would rank them
    rows = []
    for (seed, task), group in records.groupby(["seed", "task"]):
        rng = np.random.default_rng(len(group))  # same size, same random samples in every row
        reference = everything.loc[group["arch"], column].to_numpy()
        accuracy = everything.loc[group["arch"], GT_COLUMN].to_numpy()
        scores = group["score"].to_numpy()
        ours, theirs = kendall_tau(scores, accuracy), kendall_tau(reference, accuracy)
        random_samples = [kendall_tau(*everything.iloc[rng.choice(len(everything), len(group),
                                                                  replace=False)].T.to_numpy())
                          for _ in range(RESAMPLES)]
        low, high = paired_difference(scores, reference, accuracy)
        rows.append([seed, task, len(group), f"{ours:.3f}", f"{theirs:.3f}",
                     f"{np.mean(np.array(random_samples) < theirs) * 100:.0f}",
                     f"{ours - theirs:+.3f} ({low:+.2f}..{high:+.2f})",
                     f"{paper[task] - paper['naswot']:+.2f}" if task in paper else ""])
    overall = kendall_tau(everything[column], everything[GT_COLUMN])
    return _table(rows, ["seed", "task", "archs", "kendall", f"{column} kendall",
                         "its percentile among random samples", "difference (95 %)",
                         "paper difference"]) + (
        f"\n\n{column} over all {len(everything)} archs: Kendall {overall:.3f} (paper's NASWOT "
        f"on its 1000 archs: {paper_kendall()['naswot']:.2f}). Non-finite {column} values "
        f"rank as the worst.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="+", type=Path, help="JSON lines of gennas_validation")
    parser.add_argument("--table", required=True, type=Path, help="nb201_all_15625.csv")
    parser.add_argument("--archs", type=int, help="only the first N archs of the sample")
    parser.add_argument("--sample-seed", type=int, default=0)
    parser.add_argument("--reference-column", default="naswot_v1_score",
                        help="published score of every arch, for the sample-hardness section")
    args = parser.parse_args(argv)
    table = pd.read_csv(args.table)
    archs = None if args.archs is None else sample_order(table, args.sample_seed)[:args.archs]
    records = load_records(args.records, archs)
    truth = table.set_index("arch_str")[GT_COLUMN]
    print(f"# GenNAS on NB201: Kendall tau vs {GT_COLUMN}\n")
    for title, section in (
            ("Ranking per (seed, task)", ranking_section(records, truth)),
            ("Spread over seeds", seed_section(records, truth)),
            ("Fewer iterations and other reports", report_section(records, truth)),
            ("Sample hardness", hardness_section(records, table, args.reference_column))):
        print(f"## {title}\n\n{section}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
