"""Validation of the zero-cost / NASWOT scorers against published numbers (driver + analysis).

``archs``: writes the arch lists (seeded shuffles, in chunks, so a run cut short still holds a
random subset; ``harness.plan`` orders a chunk's trials arch by arch, every scorer on each).
``analyse``: reads the run folders and prints Spearman ρ against the ground truth:

- ``synflow`` / ``params`` on a seeded sample of all 15,625 NB-201 cells vs CIFAR-10 test
  accuracy (published: 0.737 synflow, zero-cost-nas notebooks; params 0.74);
- every proxy on the 725 cifar10 archs of NAS-Bench-Suite-Zero (``naslib_zc_nasbench201.csv``)
  vs that file's ``val_accuracy``, next to the file's own proxy value on the same archs, and
  ρ(ours, file's) — the direct check that the two implementations rank alike (``epe_nas``
  included);
- ``zen``, which the file lacks: Kendall τ and Spearman ρ on a seeded sample of NB-201 cells
  (run folders ``zen_nb201_*``) vs the benchmark's CIFAR-10 columns.

See ``validation/validate_zerocost.sh`` for the commands.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import pandas as pd
from scipy.stats import kendalltau, spearmanr

from harness import load_trials

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
NB201_CSV = SHARED / "nb201" / "nb201_all_15625.csv"
ZC_CSV = SHARED / "zc" / "naslib_zc_nasbench201.csv"
# our scorer name -> the NAS-Bench-Suite-Zero column
ZC_COLUMNS = {"synflow": "synflow", "snip": "snip", "grasp": "grasp", "fisher": "fisher",
              "grad_norm": "grad_norm", "jacob_cov": "jacov", "plain": "plain",
              "l2_norm": "l2_norm", "naswot": "nwot", "params": "params", "flops": "flops",
              "epe_nas": "epe_nas"}
# NB-201 ground-truth columns of nb201_all_15625.csv the zen sample is ranked against
ZEN_COLUMNS = ("cifar10_valid_xvalid_mean", "cifar10_valid_oritest_mean",
               "cifar10_test_mean_nb201v1_1")


def write_chunks(arch_ids: list[str], folder: Path, prefix: str, chunk: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(arch_ids), chunk):
        path = folder / f"{prefix}_{start // chunk:03d}.txt"
        path.write_text("\n".join(arch_ids[start:start + chunk]) + "\n")


def command_archs(args: argparse.Namespace) -> None:
    all_archs = pd.read_csv(NB201_CSV)["arch_str"].tolist()
    write_chunks(random.Random(0).sample(all_archs, args.full_sample), args.out, "nb201",
                 args.chunk)
    zc = pd.read_csv(ZC_CSV)
    zc_archs = zc.loc[zc["dataset"] == "cifar10", "arch_str"].tolist()
    write_chunks(random.Random(0).sample(zc_archs, len(zc_archs)), args.out, "zc",
                 args.zc_chunk)


def scores(run_dirs: list[Path]) -> tuple[pd.DataFrame, pd.Series]:
    """arch_id × scorer table of ok scores from every run folder, and per scorer the count of
    trials with another status (nan / inf / error / skipped)."""
    frames = [load_trials(run_dir) for run_dir in run_dirs if (run_dir / "trials.sqlite").exists()]
    if not frames:
        return pd.DataFrame(), pd.Series(dtype=int)
    trials = pd.concat(frames)
    ok = trials[trials["status"] == "ok"]
    failed = trials[trials["status"] != "ok"].groupby("scorer").size()
    return ok.pivot_table(index="arch_id", columns="scorer", values="score",
                          aggfunc="first"), failed


def rho(a: pd.Series, b: pd.Series) -> float:
    return float(spearmanr(a, b, nan_policy="omit").statistic)


def tau(a: pd.Series, b: pd.Series) -> float:
    return float(kendalltau(a, b, nan_policy="omit").statistic)


def analyse_zen(runs: Path, truth: pd.DataFrame) -> None:
    """Kendall τ and Spearman ρ of zen on its NB-201 sample; non-finite scores (all-``none``
    cells: −inf) count as the worst rank, and their number is printed."""
    frames = [load_trials(run_dir) for run_dir in sorted(runs.glob("zen_nb201_*"))
              if (run_dir / "trials.sqlite").exists()]
    if not frames:
        return
    trials = pd.concat(frames).set_index("arch_id")
    worst = trials["score"].where(trials["status"] == "ok", float("-inf"))
    print(f"zen on a seeded NB-201 sample: {len(trials)} archs, "
          f"{int((trials['status'] != 'ok').sum())} not ok (ranked worst)")
    for column in ZEN_COLUMNS:
        joined = pd.concat({"zen": worst, "truth": truth[column]}, axis=1, join="inner")
        print(f"  zen vs {column}: tau = {tau(joined['zen'], joined['truth']):.3f}, "
              f"rho = {rho(joined['zen'], joined['truth']):.3f} (n = {len(joined)})")


def command_analyse(args: argparse.Namespace) -> None:
    truth = pd.read_csv(NB201_CSV).set_index("arch_str")
    analyse_zen(args.runs, truth)
    full, _ = scores(sorted(args.runs.glob("nb201_*")))
    if len(full):
        print(f"NB-201 seeded sample: {len(full)} archs scored")
        for scorer in full.columns:
            for column in ("cifar10_test_mean_nb201v1_1", "cifar10_valid_xvalid_mean"):
                joined = full[[scorer]].join(truth[column]).dropna()
                print(f"  {scorer:8s} vs {column}: rho = {rho(joined[scorer], joined[column]):.3f}"
                      f" (n = {len(joined)})")
        everything = pd.read_csv(NB201_CSV)
        published = rho(everything["params_mb_cifar10"], everything["cifar10_test_mean_nb201v1_1"])
        print(f"  benchmark params (all 15,625) vs test: rho = {published:.3f}")
    zc = pd.read_csv(ZC_CSV)
    zc = zc[zc["dataset"] == "cifar10"].set_index("arch_str")
    ours, failed = scores(sorted([*args.runs.glob("zc_*"), *args.runs.glob("epe_zc_*")]))
    if len(ours):
        print(f"NAS-Bench-Suite-Zero cifar10 archs scored: {len(ours)} of {len(zc)}")
        print(f"  {'scorer':10s} {'n':>4s} {'rho ours':>9s} {'rho file':>9s} {'file/725':>9s}"
              f" {'rho(ours,file)':>15s} {'not ok':>7s}")
        for scorer, column in ZC_COLUMNS.items():
            if scorer not in ours.columns:
                continue
            file_col = f"file_{column}"
            finite = ours[[scorer]].dropna().join(zc[[column, "val_accuracy"]].rename(
                columns={column: file_col})).dropna()
            print(f"  {scorer:10s} {len(finite):4d} "
                  f"{rho(finite[scorer], finite['val_accuracy']):9.3f} "
                  f"{rho(finite[file_col], finite['val_accuracy']):9.3f} "
                  f"{rho(zc[column], zc['val_accuracy']):9.3f} "
                  f"{rho(finite[scorer], finite[file_col]):15.3f} "
                  f"{int(failed.get(scorer, 0)):7d}")


def command_seedcheck(args: argparse.Namespace) -> None:
    """ρ between our scores under two run seeds (another init, another crop/flip/order of the
    same images) next to ρ(ours, file) on the same archs: how much of the disagreement with
    the file any re-draw already produces."""
    zc = pd.read_csv(ZC_CSV)
    zc = zc[zc["dataset"] == "cifar10"].set_index("arch_str")
    seed0, _ = scores(sorted([*args.runs.glob("zc_*"), *args.runs.glob("epe_zc_*")]))
    seed1, _ = scores([args.other])
    print(f"  {'scorer':10s} {'n':>4s} {'rho(seed0,seed1)':>17s} {'rho(seed0,file)':>16s}"
          f" {'rho(seed1,file)':>16s}")
    for scorer in seed1.columns:
        column = ZC_COLUMNS[scorer]
        both = pd.concat({"seed0": seed0[scorer], "seed1": seed1[scorer],
                          "file": zc[column]}, axis=1, join="inner").dropna()
        print(f"  {scorer:10s} {len(both):4d} {rho(both['seed0'], both['seed1']):17.3f} "
              f"{rho(both['seed0'], both['file']):16.3f} {rho(both['seed1'], both['file']):16.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True)
    archs = commands.add_parser("archs", help="write the seeded arch-list chunks")
    archs.add_argument("--out", type=Path, required=True)
    archs.add_argument("--full-sample", type=int, default=15625)
    archs.add_argument("--chunk", type=int, default=250)
    archs.add_argument("--zc-chunk", type=int, default=25)
    archs.set_defaults(func=command_archs)
    analyse = commands.add_parser("analyse", help="Spearman of the finished runs")
    analyse.add_argument("--runs", type=Path, required=True)
    analyse.set_defaults(func=command_analyse)
    seedcheck = commands.add_parser("seedcheck", help="rank agreement across run seeds")
    seedcheck.add_argument("--runs", type=Path, required=True)
    seedcheck.add_argument("--other", type=Path, required=True, help="run folder, seed 1")
    seedcheck.set_defaults(func=command_seedcheck)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
