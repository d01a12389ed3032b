"""NAS-Bench-NLP on WikiText-2: GenNAS-RNN and the zero-cost proxies against the three targets.

Runs one ``harness compare`` (arch-major, so a run cut by ``--budget-s`` has every scorer on the
same cells) over the benchmark's OK cells in a seeded order, then writes a markdown table of
Kendall tau-b (95 % bootstrap interval) and retrieval@10 % against each target, with n and the
CPU seconds per cell. No WikiText-2 numbers were published; the PTB ones (GenNAS appendix
Tables 3-4) are search 0.63 > combo 0.55 > single 0.43 > zero-cost.

    harness data prepare nbnlp --source ../shared/data/nbnlp/train_logs_wikitext-2_logs.zip
    nice -n 10 python validation/nbnlp_validation.py --out /tmp/nbnlp_val --budget-s 1500
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from harness import load_trials
from harness.datadir import resolve_data_dir
from harness.groundtruth.table import GroundTruthTable, prepared_table_path
from harness.metrics import evaluate

SCORERS = ("params", "synflow", "grad_norm", "snip", "grasp", "fisher", "gennas-rnn-single",
           "gennas-rnn-combo", "gennas-rnn-search")
ZERO_COST = ("synflow", "grad_norm", "snip", "grasp", "fisher")


def ok_cells(table: GroundTruthTable, seed: int) -> list[str]:
    """The OK cells in a seeded random order."""
    cells = sorted(table.frame.index[table.frame["status"] == "OK"])
    random.Random(seed).shuffle(cells)
    return cells


def run_compare(args: argparse.Namespace, arch_list: Path) -> tuple[float, float]:
    """Run the trials until done or ``budget_s``; (CPU seconds, wall seconds) it took."""
    command = [str(Path(sys.executable).with_name("harness")), "compare", "--spaces", "nbnlp",
               "--arch-list", str(arch_list), "--scorers", ",".join(args.scorers),
               "--seeds", args.seeds, "--workers", "0", "--out", str(args.out / "run"),
               "--no-report", "--quiet", *sum((["--option", f"{name}.batch_size="
                                                f"{args.zerocost_batch}"]
                                               for name in ZERO_COST if name in args.scorers),
                                              [])]
    if args.data_dir:
        command += ["--data-dir", str(args.data_dir)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    try:
        subprocess.run(command, env=env, timeout=args.budget_s, check=False)
    except subprocess.TimeoutExpired:
        print(f"budget of {args.budget_s} s reached; reporting the finished cells")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return cpu, time.monotonic() - start


def complete_cells(trials: pd.DataFrame, scorers: list[str]) -> pd.Index:
    """The cells every scorer finished (a run cut by its budget leaves one partial cell)."""
    per_cell = trials.pivot_table(index="arch_id", columns="scorer", values="seed",
                                  aggfunc="count")
    return per_cell.index[per_cell.notna().sum(axis=1) == len(scorers)]


def table_rows(args: argparse.Namespace, truth: GroundTruthTable) -> list[str]:
    """One markdown row per (scorer, target) on the cells every scorer finished."""
    trials = load_trials(args.out / "run")
    complete = complete_cells(trials, args.scorers)
    rows = []
    for scorer in args.scorers:
        done = trials[(trials.scorer == scorer) & trials.arch_id.isin(complete)]
        if done.empty:
            continue
        statuses = done.status.value_counts().to_dict()
        if "ok" not in statuses:
            reason = done.message.iloc[0][:70]
            rows.append(f"| {scorer} | all | {len(done)} | skipped: {reason} | | |")
            continue
        scores = done.groupby("arch_id").score.mean()  # the mean over seeds
        wall = done.wall_s.median()
        for metric in truth.metrics:
            quality = evaluate(scores.values, truth.frame.loc[scores.index, metric.name].values,
                               higher_is_better=False, bootstrap=args.bootstrap, seed=0)
            low, high = quality.kendall_interval or (float("nan"), float("nan"))
            # K = int(0.1 n) is 0 below 10 cells: no rate to report
            retrieval = f"{quality.retrieval[0.1]:.2f}" if quality.n >= 10 else "-"
            rows.append(f"| {scorer} | {metric.name.split('/')[1]} | {quality.n} | "
                        f"{quality.kendall:.3f} [{low:.3f}, {high:.3f}] | {retrieval} | "
                        f"{wall:.1f} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--cells", type=int, default=341)
    parser.add_argument("--sample-seed", type=int, default=0)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--scorers", type=lambda text: text.split(","), default=list(SCORERS))
    parser.add_argument("--zerocost-batch", type=int, default=16)
    parser.add_argument("--budget-s", type=float, default=1500)
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args()
    truth = GroundTruthTable.load(prepared_table_path(resolve_data_dir(args.data_dir), "nbnlp"))
    args.out.mkdir(parents=True, exist_ok=True)
    arch_list = args.out / "cells.txt"
    arch_list.write_text("\n".join(ok_cells(truth, args.sample_seed)[:args.cells]) + "\n")
    cpu_s, wall_s = run_compare(args, arch_list)
    rows = table_rows(args, truth)
    done = len(complete_cells(load_trials(args.out / "run"), args.scorers))
    header = ["| scorer | target | n | Kendall tau [95 % CI] | retrieval@10 % | median wall s |",
              "| --- | --- | --- | --- | --- | --- |"]
    per_cell = cpu_s / max(done, 1)
    summary = (f"\n{done} cells complete; CPU {cpu_s:.0f} s over all scorers in this call "
               f"({per_cell:.1f} CPU s per complete cell), wall {wall_s:.0f} s; seeds "
               f"{args.seeds}; zero-cost batch {args.zerocost_batch} x 35 tokens.\n")
    text = "\n".join(header + rows) + "\n" + summary
    (args.out / "table.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
