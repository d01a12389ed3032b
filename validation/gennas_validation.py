"""GenNAS ranking validation on NB201: Kendall tau vs cifar10-valid x-valid accuracy.

Runs each trial as ``harness compare`` does (trial seed derived from (run seed, space, arch),
python/numpy/torch seeded with it, deterministic kernels, the GenNAS builder variant, one input
batch per run seed drawn by the ``images`` dataset plugin), but with a pool of worker processes
sharing one device, so the paper's 1000-arch sample fits in minutes on a GPU. Jobs run in the
order given by ``--plan`` so a time budget keeps the most important ones.

    python validation/gennas_validation.py --table ../shared/data/nb201/nb201_all_15625.csv \
        --images ../shared/data/images/cifar10/cifar10_foolbox20.npz --first 16 \
        --tasks gennas-search-n,gennas-combo --device cuda --workers 12 \
        --plan 0:200,1:200,2:200,0:1000 --out validation.json

``--plan SEED:N,...`` = run seed SEED on the first N archs of the arch sample (drawn once with
``--sample-seed``); a later entry of the same seed extends it. Results are appended to
``--out`` as they arrive (JSON lines), then summarized (Kendall tau-b, Spearman rho).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats

GT_COLUMN = "cifar10_valid_xvalid_mean"
_worker_state: dict = {}


def _init_worker(device: str, images: str, inputs: dict, overrides: dict) -> None:
    from harness.seeding import use_deterministic_algorithms

    torch.set_num_threads(1)
    use_deterministic_algorithms()
    _worker_state.update(device=torch.device(device), images=images, inputs=inputs,
                         overrides=overrides, batches={})


def _batch(run_seed: int, batch_size: int):
    from harness.plugins.datasets.folder import IMAGES

    batches = _worker_state["batches"]
    if (run_seed, batch_size) not in batches:
        batches[run_seed, batch_size] = IMAGES.batch(
            batch_size, run_seed, path=_worker_state["images"], like="cifar10",
            **_worker_state["inputs"])
    return batches[run_seed, batch_size]


def _score(job: tuple[int, str, str]) -> dict:
    """One trial: (run seed, task name, arch) -> score record."""
    from harness.options import NETWORK_DEFAULTS
    from harness.plan import network_builder_options
    from harness.plugins.scorers.gennas.plugin import named_task
    from harness.plugins.scorers.gennas.scorer import GenNASScorer, reported_loss, train_task
    from harness.plugins.spaces.nb201.space import NB201Space
    from harness.protocols import ScoringContext
    from harness.seeding import derive_trial_seed, seed_everything

    run_seed, task_name, arch = job
    device = _worker_state["device"]
    space = NB201Space()
    scorer = GenNASScorer(task_name, named_task(task_name))
    trial_seed = derive_trial_seed(run_seed, space.name, arch)
    generator = seed_everything(trial_seed)

    config = {**NETWORK_DEFAULTS, **scorer.defaults, **_worker_state["overrides"]}
    network = network_builder_options(config, space)  # the network a planned trial builds

    def build_model(**options):
        seed_everything(trial_seed)
        return space.build_model(arch, num_classes=10, **{**network, **options}).to(
            device).train()

    ctx = ScoringContext(space=space, arch_id=arch, dataset="cifar10-valid", num_classes=10,
                         input_shape=(3, 32, 32), batch=_batch(run_seed, config["batch_size"]),
                         config=config,
                         device=device, trial_seed=trial_seed, generator=generator,
                         build_model=build_model, run_seed=run_seed)
    start, cpu_start = time.perf_counter(), time.process_time()
    result = train_task(ctx, scorer.task)
    # score = the scorer's value (-last eval loss); the trajectory lets a summary compare the
    # other reports (mean_eval, last_train) without re-running anything.
    return {"seed": run_seed, "task": task_name, "arch": arch,
            "score": -reported_loss(result, config["report"]),
            "eval_losses": result.eval_losses, "last_train_loss": result.last_train_loss,
            "wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu_start}


def sample_order(table: pd.DataFrame, sample_seed: int) -> list[str]:
    """Every arch of the table in the seeded sample's order (``--plan SEED:N`` takes the first
    N)."""
    return random.Random(sample_seed).sample(list(table["arch_str"]), len(table))


def plan_jobs(plan: str, archs: list[str], tasks: list[str]) -> list[tuple[int, str, str]]:
    """Jobs in plan order, each (seed, task, arch) once."""
    jobs, seen = [], set()
    for entry in plan.split(","):
        seed_text, _, count_text = entry.partition(":")
        for arch in archs[:int(count_text)]:
            for task in tasks:
                job = (int(seed_text), task, arch)
                if job not in seen:
                    seen.add(job)
                    jobs.append(job)
    return jobs


def summarize(records: list[dict], truth: pd.Series) -> list[dict]:
    """Kendall tau-b and Spearman rho per (seed, task), finite scores only."""
    frame = pd.DataFrame(records)
    rows = []
    for (seed, task), group in frame.groupby(["seed", "task"]):
        finite = group[np.isfinite(group["score"])]
        accuracy = truth.loc[finite["arch"]].to_numpy()
        rows.append({"seed": int(seed), "task": task, "archs": len(group),
                     "non_finite": int(len(group) - len(finite)),
                     "kendall": float(stats.kendalltau(finite["score"], accuracy)[0]),
                     "spearman": float(stats.spearmanr(finite["score"], accuracy)[0]),
                     "mean_wall_s": float(group["wall_s"].mean())})
    return rows


def run_jobs(jobs: list[tuple[int, str, str]], args: argparse.Namespace,
             worker_args: tuple) -> list[dict]:
    """Score the jobs on a pool, appending each record to --out as it finishes; after
    --budget-s no new job starts, so a cut-short run keeps its most important trials."""
    records, start = [], time.perf_counter()
    context = mp.get_context("spawn")
    with context.Pool(args.workers, _init_worker, worker_args) as pool, \
            args.out.open("a") as out:
        pending = iter(jobs)
        running = []
        for _ in range(args.workers * 2):
            job = next(pending, None)
            if job is not None:
                running.append(pool.apply_async(_score, (job,)))
        while running:
            result = running.pop(0).get()
            records.append(result)
            out.write(json.dumps(result) + "\n")
            out.flush()
            if time.perf_counter() - start < args.budget_s:
                job = next(pending, None)
                if job is not None:
                    running.append(pool.apply_async(_score, (job,)))
            if len(records) % 100 == 0:
                print(f"{len(records)} done, {time.perf_counter() - start:.0f} s", flush=True)
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, required=True, help="nb201_all_15625.csv")
    parser.add_argument("--images", type=Path, required=True, help=".npz with x (N,32,32,3)")
    parser.add_argument("--first", type=int, default=16, help="use the first N images")
    parser.add_argument("--tasks", default="gennas-search-n,gennas-combo")
    parser.add_argument("--sample-seed", type=int, default=0)
    parser.add_argument("--plan", default="0:100")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--budget-s", type=float, default=math.inf,
                        help="stop starting new jobs after this many seconds")
    parser.add_argument("--iterations", type=int, default=None, help="override (smoke tests)")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=JSON",
                        help="override a scorer option, e.g. network='\"benchmark\"' (the "
                             "official NB-201 network; use a separate --out)")
    parser.add_argument("--out", type=Path, required=True, help="JSON lines of trial records")
    args = parser.parse_args(argv)

    table = pd.read_csv(args.table)
    truth = table.set_index("arch_str")[GT_COLUMN]
    archs = sample_order(table, args.sample_seed)
    previous = ([json.loads(line) for line in args.out.read_text().splitlines() if line.strip()]
                if args.out.exists() else [])
    done = {(r["seed"], r["task"], r["arch"]) for r in previous}
    jobs = [job for job in plan_jobs(args.plan, archs, args.tasks.split(",")) if job not in done]
    from harness.plugins.scorers.gennas.scorer import DEFAULT_INPUTS

    overrides = {} if args.iterations is None else {"iterations": args.iterations}
    for option in args.option:
        key, _, value = option.partition("=")
        overrides[key] = json.loads(value)
    print(f"{len(jobs)} jobs on {args.device} with {args.workers} workers "
          f"({len(previous)} already in {args.out})", flush=True)
    start = time.perf_counter()
    records = []
    if jobs:
        with tempfile.TemporaryDirectory() as folder, np.load(args.images) as data:
            images = Path(folder) / f"first{args.first}.npz"
            np.savez(images, x=data["x"][:args.first], y=data["y"][:args.first])
            records = run_jobs(jobs, args, (args.device, str(images), DEFAULT_INPUTS, overrides))
    summary = summarize(previous + records, truth)
    for row in summary:
        print(json.dumps(row), flush=True)
    summary_path = args.out.with_suffix(".summary.json")
    summary_path.write_text(json.dumps({"jobs_done": len(previous) + len(records),
                                        "jobs_planned": len(previous) + len(jobs),
                                        "elapsed_s": time.perf_counter() - start,
                                        "device": args.device, "workers": args.workers,
                                        "overrides": overrides,
                                        "summary": summary}, indent=2))
    print(f"wrote {args.out} and {summary_path}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
