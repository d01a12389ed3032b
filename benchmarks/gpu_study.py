"""Run a study's GPU rows on a lent device within a time budget, then write the study report.

The rows a CPU run leaves out (``gpu = true``: GenNAS on NDS, NB-NLP) run here as
``harness study run --device cuda`` would run them, in passes of growing size (``--passes
100,all``: every row at 100 archs per space first, then every row at the paper's n), so a
budget that ends mid-way leaves every cell measured at some n rather than a few at full n. When
``--budget-s`` is spent the run is stopped as Ctrl-C would stop it (finished trials stay in the
store; the same command resumes) and the report is written from what is stored.

    # on the device, with the NDS ground truth prepared here and carried (runs/data):
    python benchmarks/gpu_study.py --device cuda --data-dir runs/data --budget-s 480
    # dry run on the CPU: the same rows at 2 archs per space, GPU flags ignored
    python benchmarks/gpu_study.py --device cpu --data-dir runs/data --dry-run

Writes the run folder (``--out``, default ``$OUT/study-gpu`` when ``$OUT`` is set) with its
``study_report.{md,json}``.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time
from pathlib import Path

from harness.config import RunConfig
from harness.study.report import write_study_report
from harness.study.run import StudyRunOptions, run_study
from harness.study.spec import load_study


def _passes(text: str) -> list[int | None]:
    return [None if part == "all" else int(part) for part in text.split(",")]


def _say(outcome: object) -> None:
    ran = sum(space.ran for space in outcome.spaces)
    print(f"{outcome.row}: {outcome.wall_s:.0f} s, {ran} trials run", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="gennas-appendix")
    parser.add_argument("--rows", help="row patterns (default: the study's GPU rows)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--data-dir", required=True, help="prepared ground truth (NDS, ...)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--passes", default="100,all", help="archs per space of each pass")
    parser.add_argument("--budget-s", type=float, default=480.0)
    parser.add_argument("--dry-run", action="store_true",
                        help="run the GPU rows on this device at 2 archs per space")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    study, folder = load_study(args.study)
    rows = args.rows or ",".join(row.name for row in study.rows if row.gpu)
    passes = [2] if args.dry_run else _passes(args.passes)
    if args.dry_run:  # the rows' GPU flag would leave them out on a CPU
        study = study.model_copy(update={"rows": [row.model_copy(update={"gpu": False})
                                                  for row in study.rows]})
    out = args.out or Path(os.environ.get("OUT", "runs")) / "study-gpu"
    base = RunConfig(device=args.device, workers=args.workers, data_dir=args.data_dir,
                     out=str(out))
    timer = threading.Timer(args.budget_s, os.kill, (os.getpid(), signal.SIGINT))
    timer.daemon = True
    timer.start()
    start = time.perf_counter()
    try:
        for cap in passes:
            options = StudyRunOptions(base=base, max_samples=cap, rows=rows)
            _, stopped = run_study(study, folder, options, command=["benchmarks/gpu_study.py"],
                                   progress=False, on_row=_say)
            print(f"pass {cap or 'all'}: {time.perf_counter() - start:.0f} s so far", flush=True)
            if stopped:
                break
    except KeyboardInterrupt:  # the budget ran out between two trials' runs (while planning)
        stopped = True
    timer.cancel()
    if stopped:
        print("budget spent: stopped; the same command resumes", flush=True)
    for path in write_study_report(out, "md,json"):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
