"""benchmarks/gennas_validation.py, the command docs/validation-gennas.md gives: a two-arch,
two-iteration run on the real excerpts writes complete records, resumes, and records overrides."""

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gennas_validation.py"


def _script():
    spec = importlib.util.spec_from_file_location("gennas_validation", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(argv: list[str]) -> str:
    done = subprocess.run([sys.executable, str(SCRIPT), *argv], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_short_validation_run_records_trajectories_and_resumes(shared_data, tmp_path):
    out = tmp_path / "validation.jsonl"
    argv = ["--table", str(shared_data / "nb201" / "nb201_all_15625.csv"),
            "--images", str(shared_data / "images" / "cifar10" / "cifar10_foolbox20.npz"),
            "--tasks", "gennas-combo", "--plan", "0:2", "--iterations", "2", "--out", str(out),
            "--option", 'model_options={"nb201": {"variant": "official"}}']
    _run(argv)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 2 and {r["seed"] for r in records} == {0}
    for record in records:
        assert len(record["eval_losses"]) == 1, "2 iterations, eval every 10: the last only"
        assert record["score"] == -record["eval_losses"][-1]
        assert math.isfinite(record["last_train_loss"])
    summary = json.loads(out.with_suffix(".summary.json").read_text())
    assert summary["overrides"]["model_options"] == {"nb201": {"variant": "official"}}
    assert summary["summary"][0]["archs"] == 2

    assert _run(argv).startswith("0 jobs"), "a second run resumes: nothing left to do"
    assert len(out.read_text().splitlines()) == 2


@pytest.mark.parametrize("plan, expected", [
    ("0:2", [(0, "t", "a"), (0, "t", "b")]),
    ("0:1,1:1,0:2", [(0, "t", "a"), (1, "t", "a"), (0, "t", "b")]),
])
def test_plan_order_keeps_the_most_important_jobs_first(plan, expected):
    assert _script().plan_jobs(plan, ["a", "b", "c"], ["t"]) == expected
