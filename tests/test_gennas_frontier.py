"""validation/gennas_frontier.py on records whose correlations and costs are known."""

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

SCRIPT = Path(__file__).resolve().parents[1] / "validation" / "gennas_frontier.py"
COLUMN = "cifar10_valid_xvalid_mean"


def _write(path: Path, table: pd.DataFrame, archs: list[str], seconds: float,
           shuffled_first: bool) -> Path:
    """Records whose last eval loss is minus the accuracy (tau 1) and whose first eval loss is
    random (tau ~ 0) when ``shuffled_first``; the eval points in between follow the accuracy."""
    rng = np.random.default_rng(0)
    rows = []
    for arch in archs:
        loss = -float(table.loc[arch, COLUMN])
        first = float(rng.normal()) if shuffled_first else loss
        rows.append({"seed": 0, "task": "gennas-search-n", "arch": arch, "score": -loss,
                     "eval_losses": [first] + [loss] * 9, "last_train_loss": loss,
                     "wall_s": seconds})
    path.write_text("\n".join(json.dumps(row) for row in rows))
    return path


def test_frontier_rows_hold_the_expected_taus_and_costs(shared_data, tmp_path):
    csv = shared_data / "nb201" / "nb201_all_15625.csv"
    table = pd.read_csv(csv).set_index("arch_str")
    archs = random.Random(0).sample(list(table.index), len(table))[:40]
    default = _write(tmp_path / "default.jsonl", table, archs, 10.0, shuffled_first=True)
    half = _write(tmp_path / "half.jsonl", table, archs[:30], 5.0, shuffled_first=False)
    done = subprocess.run([sys.executable, str(SCRIPT), "--table", str(csv), "--default",
                           str(default), "--variant", f"half cost={half}"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    rows = {(cells[1], int(cells[2])): cells[3:-1]
            for line in done.stdout.splitlines()
            if (cells := [cell.strip() for cell in line.split("|")])[1:2] != ["setting"]
            and len(cells) > 8 and cells[2].isdigit()}
    archs_, tau, _, _, cost, keeps = rows["default", 100]
    assert (archs_, tau, cost, keeps) == ("30", "1.000", "1.00", "yes"), "common archs only"
    assert rows["default", 10][-1] == "no", "a random first eval point does not keep tau"
    assert abs(float(rows["default", 10][1])) < 0.4
    assert rows["half cost", 10][1] == "1.000" and rows["half cost", 10][-2] == "0.05"
    assert rows["half cost", 100][-2:] == ["0.50", "yes"]
    assert "shortest default schedule that keeps tau (and so does the next one): 20 iterations" \
        in done.stdout, "the random first eval point does not keep tau; 20 and 30 do"
