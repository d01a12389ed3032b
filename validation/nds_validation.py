"""NDS ImageNet validation: NASWOT, synflow and the five GenNAS tasks against appendix Tables 3-4.

Scores the records of each prepared NDS ImageNet sweep (``harness data prepare nds --source
../shared/data/nds`` first) the way ``harness compare`` runs a trial: trial seed derived from
(run seed, space, arch), python/numpy/torch seeded with it, deterministic kernels, one 16-image
CIFAR-10 batch per run seed drawn by the ``images`` dataset plugin from
``../shared/data/images/cifar10/`` (the NB-201 GenNAS validation's batch), 32x32 inputs.

Builders (``--option``-free; docs/nds.md): ``naswot`` on NASWOT's network form (the space's
``network_forms["naswot"]``: NASWOT's AnyNet port reading ImageNet records at 224x224, the cell
networks as trained), ``synflow`` and the GenNAS tasks on GenNAS's (``network_forms["gennas"]``:
stride-1 ImageNet stems, the AnyNet rewrites). Every scorer gets batch size 16.

Resumable and most-useful-first: ``--plan 30,60,all`` scores every (space, scorer) cell on the
first 30 archs of its sample (drawn once with ``--sample-seed``), then grows them to 60, then to
all records; finished (space, scorer, arch) lines of ``--out`` (JSON lines) are never re-run, and
no new job starts after ``--budget-s``. ``--summary`` writes Kendall tau-b (signed; the
appendix prints |tau|) and retrieval@10 % per cell beside the published values, with its n and
CPU seconds per arch.

    nice -n 10 python validation/nds_validation.py --data-dir DD --out nds_scores.jsonl \
        --plan 30,all --scorers naswot,synflow --budget-s 1500 --summary validation/nds.md
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import numpy as np
import torch

SPACES = ("nds-darts", "nds-darts-f", "nds-amoeba", "nds-enas", "nds-nasnet", "nds-pnas",
          "nds-resnext-a", "nds-resnext-b")
SCORERS = ("naswot", "synflow", "gennas-single", "gennas-combo", "gennas-search-n",
           "gennas-search-d", "gennas-search-r")
DATASET = "imagenet"
BATCH_SIZE = 16
DEFAULT_IMAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "images" / "cifar10"


def form_for(scorer: str) -> str:
    """The network form each reference ran (module docstring)."""
    return "naswot" if scorer == "naswot" else "gennas"


def sample_order(space, data_dir: Path, sample_seed: int) -> list[str]:
    """The space's ImageNet records with ground truth, in the seeded sample's order."""
    table = space.ground_truth(data_dir)
    metric = table.default_metric[DATASET]
    archs = [str(a) for a in table.frame.index[table.frame[metric].notna()]]
    return random.Random(sample_seed).sample(archs, len(archs))


def plan_jobs(plan: str, samples: dict[str, list[str]], scorers: list[str]) -> list[tuple]:
    """(space, scorer, arch) in plan order: each stage grows every cell to its size."""
    jobs, done_upto = [], dict.fromkeys(samples, 0)
    for stage in plan.split(","):
        for space, archs in samples.items():
            size = len(archs) if stage == "all" else min(int(stage), len(archs))
            for scorer in scorers:
                jobs += [(space, scorer, arch) for arch in archs[done_upto[space]:size]]
            done_upto[space] = max(done_upto[space], size)
    return jobs


def input_batches(images: Path, run_seed: int):
    """``batch(scorer)``: the run's 16 images with the scorer's own ``inputs`` options
    (normalization, augmentation), as ``harness compare`` draws them; None for data-free ones."""
    from harness.plugins.datasets.folder import IMAGES

    cache: dict[str, object] = {}

    def batch(scorer):
        if not scorer.needs_inputs:
            return None
        options = dict(scorer.defaults.get("inputs") or {})
        key = json.dumps(options, sort_keys=True)
        if key not in cache:
            cache[key] = IMAGES.batch(BATCH_SIZE, run_seed, path=str(images), like="cifar10",
                                      **options)
        return cache[key]

    return batch


def score_one(registry, space_name: str, scorer_name: str, arch: str, data_dir: Path,
              batch, run_seed: int) -> dict:
    """One trial, as ``harness.trial`` runs it, with the builder variant of ``scorer_name``;
    ``batch`` is ``input_batches``'s function."""
    from harness.protocols import ScoringContext
    from harness.seeding import derive_trial_seed, seed_everything

    space = registry.get("space", space_name)
    scorer = registry.get("scorer", scorer_name)
    trial_seed = derive_trial_seed(run_seed, space_name, arch)
    generator = seed_everything(trial_seed)
    form_options = space.network_forms[form_for(scorer_name)]
    variant = form_options.get("variant", "nds")

    def build_model(**options):
        seed_everything(trial_seed)
        num_classes = options.pop("num_classes", 10)
        return space.build_model(arch, num_classes=num_classes, data_dir=data_dir,
                                 **{**form_options, **options}).train()

    config = {**scorer.defaults, "batch_size": BATCH_SIZE}
    ctx = ScoringContext(space=space, arch_id=arch, dataset=DATASET, num_classes=10,
                         input_shape=(3, 32, 32), batch=batch(scorer), config=config,
                         device=torch.device("cpu"), trial_seed=trial_seed,
                         generator=generator, build_model=build_model, run_seed=run_seed)
    start = time.process_time()
    wall = time.perf_counter()
    try:
        score = float(scorer.score(ctx))
        error = None
    except Exception as exc:  # a failed trial is a row, as in harness compare
        score, error = math.nan, f"{type(exc).__name__}: {exc}"
    return {"space": space_name, "scorer": scorer_name, "arch": arch, "score": score,
            "error": error, "cpu_s": time.process_time() - start,
            "wall_s": time.perf_counter() - wall, "variant": variant, "run_seed": run_seed}


def load_records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run(args: argparse.Namespace) -> None:
    from harness.registry import get_registry
    from harness.seeding import use_deterministic_algorithms

    torch.set_num_threads(1)
    use_deterministic_algorithms()
    registry = get_registry()
    samples = {name: sample_order(registry.get("space", name), args.data_dir, args.sample_seed)
               for name in args.spaces}
    batch = input_batches(args.images, args.run_seed)
    done = {(r["space"], r["scorer"], r["arch"]) for r in load_records(args.out)}
    jobs = [job for job in plan_jobs(args.plan, samples, args.scorers) if job not in done]
    start = time.perf_counter()
    with args.out.open("a") as out:
        for space, scorer, arch in jobs:
            if time.perf_counter() - start > args.budget_s:
                print(f"budget reached; {len(jobs)} jobs were planned")
                break
            record = score_one(registry, space, scorer, arch, args.data_dir, batch,
                               args.run_seed)
            out.write(json.dumps(record) + "\n")
            out.flush()
            print(f"{space} {scorer} {arch} {record['score']:.4g} {record['cpu_s']:.1f}s",
                  flush=True)


def summarize(records: list[dict], data_dir: Path) -> list[dict]:
    """Per (space, scorer): n, |Kendall tau-b|, retrieval@10 %, published values, s/arch."""
    from harness.metrics import kendall_tau, retrieval_rate
    from harness.registry import get_registry
    from harness.reports.reference import references

    published = {(ref.space, ref.scorer, ref.statistic): ref for ref in references()
                 if ref.dataset == DATASET and ref.space.startswith("nds-")}
    by_cell: dict[tuple, list[dict]] = {}
    for record in records:
        by_cell.setdefault((record["space"], record["scorer"]), []).append(record)
    rows = []
    for (space, scorer), group in sorted(by_cell.items()):
        table = get_registry().get("space", space).ground_truth(data_dir)
        truth = table.frame[table.default_metric[DATASET]]
        scores = np.array([r["score"] for r in group], dtype=float)
        accuracy = truth.loc[[r["arch"] for r in group]].to_numpy(dtype=float)
        tau = kendall_tau(scores, accuracy)
        tau_ref = published.get((space, scorer, "abs_kendall"))
        top_ref = published.get((space, scorer, "retrieval@10"))
        rows.append({"space": space, "scorer": scorer, "n": len(group),
                     "failed": int(np.sum(~np.isfinite(scores))),
                     "kendall": tau, "abs_kendall": abs(tau),
                     "published_kendall": tau_ref and tau_ref.value,
                     "published_n": tau_ref and tau_ref.n_archs,
                     "retrieval10": retrieval_rate(scores, accuracy, 0.10),
                     "published_retrieval10": top_ref and top_ref.value,
                     "cpu_s_per_arch": float(np.mean([r["cpu_s"] for r in group]))})
    return rows


def markdown(rows: list[dict]) -> str:
    def fmt(value, digits=2):
        return "-" if value is None or (isinstance(value, float) and math.isnan(value)) \
            else f"{value:.{digits}f}"

    lines = ["| space | scorer | n | tau (signed) | published abs tau (n) | ret@10% | "
             "published | cpu s/arch |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['space']} | {row['scorer']} | {row['n']} | "
                     f"{fmt(row['kendall'])} | {fmt(row['published_kendall'])} "
                     f"({row['published_n'] or '-'}) | {fmt(row['retrieval10'])} | "
                     f"{fmt(row['published_retrieval10'])} | {fmt(row['cpu_s_per_arch'], 1)} |")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="prepared NDS tables")
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES)
    parser.add_argument("--out", type=Path, default=Path("nds_scores.jsonl"))
    parser.add_argument("--plan", default="30,60,all", help="stage sizes, e.g. 30,60,all")
    parser.add_argument("--spaces", default=",".join(SPACES))
    parser.add_argument("--scorers", default=",".join(SCORERS))
    parser.add_argument("--sample-seed", type=int, default=0)
    parser.add_argument("--run-seed", type=int, default=0)
    parser.add_argument("--budget-s", type=float, default=math.inf)
    parser.add_argument("--summary", type=Path, help="write the markdown table here")
    parser.add_argument("--summary-only", action="store_true")
    args = parser.parse_args(argv)
    args.spaces = args.spaces.split(",")
    args.scorers = args.scorers.split(",")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if not args.summary_only:
        run(args)
    table = markdown(summarize(load_records(args.out), args.data_dir))
    print(table)
    if args.summary:
        args.summary.write_text(table)


if __name__ == "__main__":
    main()
