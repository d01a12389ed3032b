"""A small run folder with known values, written through ``harness.store.TrialStore``.

Space ``toy``, dataset ``d1``, ten archs ``a0``..``a9`` whose ground truth is ``acc`` = i
(default metric, higher better) and ``err`` = 100 - i (lower better). Scorers:

- ``perfect`` (config ``hp``, batch 16): score i, seeds 0 and 1 at init default/default, and
  seed 0 at kaiming/zero with score -i. wall 1.0 s, 100 MB.
- ``reversed`` (``hr``, batch 16): score -i, seed 0. wall 2.0 s, 200 MB.
- ``noisy`` (``hn``, batch 16): seed 0: scores i with a8/a9 swapped, a3 ``nan``, a7 ``oom``;
  seed 1: scores i with a0/a1 swapped. wall 0.5 s, 50 MB.
- ``mem``: config ``h16`` (batch 16, score i, 3.0 s, 300 MB) and ``h64`` (batch 64, every
  trial ``oom``), seed 0.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from harness.groundtruth.table import GroundTruthTable, MetricInfo
from harness.store import Trial, TrialResult, TrialStore

ARCHS = [f"a{i}" for i in range(10)]
SOURCE = {"file": "toy_benchmark.csv", "version": "v1.2", "sha256": "0123abcd"}
COMMAND = ["harness", "compare", "--spaces", "toy", "--seeds", "0-1"]
# Seed-0 scores of the "noisy" scorer that rank worse than the default ones: a0 scores 9 and a8
# scores 0, so 12 of the 28 finite pairs are discordant, Kendall 26/28 -> 4/28.
WORSE_NOISY = [9, 1, 2, None, 4, 5, 6, None, 0, 8]


def _result(scorer, config_hash, arch, score, status="ok", *, seed=0, init=("default", "default"),
            batch_size=16, wall_s=1.0, mem_mb=100.0, device="cpu", harness_version="0.1.0",
            torch_version="2.13.0") -> TrialResult:
    trial = Trial("toy", "d1", arch, scorer, config_hash, seed, init[0], init[1], batch_size)
    return TrialResult(trial, score if status == "ok" else None, status, "", wall_s, mem_mb,
                       device, harness_version, torch_version, "2026-01-01T00:00:00")


def results(*, device="cpu", harness_version="0.1.0", noisy_scores=None) -> list[TrialResult]:
    env = {"device": device, "harness_version": harness_version}
    made = []
    for i, arch in enumerate(ARCHS):
        made.append(_result("perfect", "hp", arch, float(i), **env))
        made.append(_result("perfect", "hp", arch, float(i), seed=1, **env))
        made.append(_result("perfect", "hp", arch, float(-i), init=("kaiming", "zero"), **env))
        made.append(_result("reversed", "hr", arch, float(-i), wall_s=2.0, mem_mb=200.0, **env))
        made.append(_result("mem", "h16", arch, float(i), wall_s=3.0, mem_mb=300.0, **env))
        made.append(_result("mem", "h64", arch, None, "oom", batch_size=64, wall_s=0.1,
                            mem_mb=None, **env))
    seed0 = noisy_scores or [0, 1, 2, None, 4, 5, 6, None, 9, 8]
    statuses = ["ok"] * 10
    statuses[3], statuses[7] = "nan", "oom"
    seed1 = [1, 0, 2, 3, 4, 5, 6, 7, 8, 9]
    for i, arch in enumerate(ARCHS):
        made.append(_result("noisy", "hn", arch, seed0[i], statuses[i], wall_s=0.5, mem_mb=50.0,
                            **env))
        made.append(_result("noisy", "hn", arch, float(seed1[i]), seed=1, wall_s=0.5,
                            mem_mb=50.0, **env))
    return made


def ground_truth() -> GroundTruthTable:
    frame = pd.DataFrame({"acc": [float(i) for i in range(10)],
                          "err": [100.0 - i for i in range(10)]},
                         index=pd.Index(ARCHS, name="arch_id"))
    return GroundTruthTable(
        space="toy", frame=frame,
        metrics=[MetricInfo("acc", "d1", True, "toy accuracy"),
                 MetricInfo("err", "d1", False, "toy error")],
        default_metric={"d1": "acc"}, source=SOURCE)


def make_run(run_dir: Path, *, run_json: bool = True, **options) -> Path:
    """Write the store (and ``run.json`` unless told not to) under ``run_dir``."""
    with TrialStore.for_run(run_dir) as store:
        store.add_results(results(**options))
        store.save_ground_truth(ground_truth(), ARCHS)
    if run_json:
        (Path(run_dir) / "run.json").write_text(json.dumps(
            {"command": COMMAND, "harness_version": options.get("harness_version", "0.1.0"),
             "config": {"seeds": [0, 1], "device": options.get("device", "cpu"),
                        "weight_inits": ["default", "kaiming"]}}))
    return Path(run_dir)
