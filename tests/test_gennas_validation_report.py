"""validation/gennas_validation_report.py on records whose correlations are known."""

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

SCRIPT = Path(__file__).resolve().parents[1] / "validation" / "gennas_validation_report.py"
COLUMN = "cifar10_valid_xvalid_mean"


def _records(table: pd.DataFrame, archs: list[str]) -> list[dict]:
    """Seed 0 ranks by accuracy plus noise, seed 1 by minus the accuracy; both keep their
    trajectory, whose first eval point ranks by params."""
    rng = np.random.default_rng(0)
    rows = []
    for arch in archs:
        accuracy = table.loc[arch, COLUMN]
        for seed, score in ((0, accuracy + rng.normal(0, 5)), (1, -accuracy)):
            rows.append({"seed": seed, "task": "gennas-search-n", "arch": arch,
                         "score": float(score), "wall_s": 1.0, "last_train_loss": -float(score),
                         "eval_losses": [-float(table.loc[arch, "params_mb_cifar10"]),
                                         -float(score)]})
    return rows


def test_report_sections_hold_the_expected_correlations(shared_data, tmp_path):
    csv = shared_data / "nb201" / "nb201_all_15625.csv"
    table = pd.read_csv(csv).set_index("arch_str")
    archs = random.Random(0).sample(list(table.index), len(table))[:30]
    records = _records(table, archs)
    (tmp_path / "records.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    done = subprocess.run([sys.executable, str(SCRIPT), "--table", str(csv), "--archs", "20",
                           str(tmp_path / "records.jsonl")],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout

    first = [r for r in records if r["seed"] == 0 and r["arch"] in archs[:20]]
    accuracy = table.loc[[r["arch"] for r in first], COLUMN]
    noisy = stats.kendalltau([r["score"] for r in first], accuracy)[0]
    params = stats.kendalltau(table.loc[archs[:20], "params_mb_cifar10"], accuracy)[0]
    ranking = out.split("## Spread over seeds")[0]
    assert f"| 0      | gennas-search-n | 20      | {noisy:.3f}" in ranking, "only the first 20"
    assert "| -1.000 " in ranking and "| 0.71 " in ranking, "seed 1 inverts; paper's value"
    spread = out.split("## Spread over seeds")[1].split("##")[0]
    assert f"{noisy:.3f} / -1.000" in spread
    trajectory = out.split("## Fewer iterations and other reports")[1].split("##")[0]
    assert f"| {params:.2f} {noisy:.2f} " in trajectory
    hardness = out.split("## Sample hardness")[1]
    naswot = stats.kendalltau(table.loc[archs[:20], "naswot_v1_score"].fillna(-1e9), accuracy)[0]
    assert f"| {noisy:.3f}     | {naswot:.3f} " in hardness
    assert "| +0.11 " in hardness, "the paper's search-N minus NASWOT difference"
