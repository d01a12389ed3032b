"""validation/gennas_validation.py, the command validation/validation-gennas.md gives: a two-arch,
two-iteration run on the real excerpts writes complete records, resumes, records overrides,
and scores exactly as `harness compare` does (so its numbers stand for the harness's)."""

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness import cli

SCRIPT = Path(__file__).resolve().parents[1] / "validation" / "gennas_validation.py"


def _script():
    spec = importlib.util.spec_from_file_location("gennas_validation", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _argv(shared_data: Path, out: Path) -> list[str]:
    return ["--table", str(shared_data / "nb201" / "nb201_all_15625.csv"),
            "--images", str(shared_data / "images" / "cifar10" / "cifar10_foolbox20.npz"),
            "--tasks", "gennas-combo", "--plan", "0:2", "--iterations", "2", "--out", str(out)]


def _run(argv: list[str]) -> str:
    done = subprocess.run([sys.executable, str(SCRIPT), *argv], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_short_validation_run_records_trajectories_and_resumes(shared_data, tmp_path):
    out = tmp_path / "validation.jsonl"
    argv = [*_argv(shared_data, out),
            "--option", 'network="benchmark"']
    _run(argv)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 2 and {r["seed"] for r in records} == {0}
    for record in records:
        assert len(record["eval_losses"]) == 1, "2 iterations, eval every 10: the last only"
        assert record["score"] == -record["eval_losses"][-1]
        assert math.isfinite(record["last_train_loss"])
    summary = json.loads(out.with_suffix(".summary.json").read_text())
    assert summary["overrides"]["network"] == "benchmark"
    assert summary["summary"][0]["archs"] == 2

    assert _run(argv).startswith("0 jobs"), "a second run resumes: nothing left to do"
    assert len(out.read_text().splitlines()) == 2


def test_scores_equal_those_of_harness_compare(shared_data, tmp_path, monkeypatch,
                                               one_torch_thread):
    """In process, at the script workers' one torch thread: the last bits of a score depend on
    the thread count (the convolution kernels sum in a different order)."""
    out = tmp_path / "validation.jsonl"
    _run(_argv(shared_data, out))
    script = {r["arch"]: r["score"] for r in map(json.loads, out.read_text().splitlines())}

    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "data"))
    assert cli.main(["data", "prepare", "nb201", "--source",
                     str(shared_data / "nb201" / "nb201_all_15625.csv"), "--columns",
                     "cifar10-valid/x-valid=cifar10_valid_xvalid_mean"]) == 0
    (tmp_path / "archs.json").write_text(json.dumps(sorted(script)))
    with np.load(shared_data / "images" / "cifar10" / "cifar10_foolbox20.npz") as data:
        np.savez(tmp_path / "first16.npz", x=data["x"][:16], y=data["y"][:16])
    assert cli.main(["compare", "--spaces", "nb201", "--datasets", "cifar10-valid",
                     "--scorers", "gennas-combo", "--option", "gennas-combo.iterations=2",
                     "--arch-list", str(tmp_path / "archs.json"),
                     "--images", str(tmp_path / "first16.npz"), "--workers", "0",
                     "--out", str(tmp_path / "run"), "--no-report", "--quiet"]) == 0
    assert cli.main(["export", str(tmp_path / "run"), "--format", "csv"]) == 0
    trials = pd.read_csv(tmp_path / "run" / "trials.csv").set_index("arch_id")
    assert (trials["status"] == "ok").all()
    assert {arch: trials.loc[arch, "score"] for arch in script} == pytest.approx(script, rel=1e-6)


@pytest.mark.parametrize("plan, expected", [
    ("0:2", [(0, "t", "a"), (0, "t", "b")]),
    ("0:1,1:1,0:2", [(0, "t", "a"), (1, "t", "a"), (0, "t", "b")]),
])
def test_plan_order_keeps_the_most_important_jobs_first(plan, expected):
    assert _script().plan_jobs(plan, ["a", "b", "c"], ["t"]) == expected
