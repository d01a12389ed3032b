"""validation/nds_validation.py: most useful cells first, resumable, and the same score as
``harness compare`` gives the same trial (so its numbers stand for the harness's)."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from pathlib import Path

import pytest
from nds_fixtures import real_records, write_sweep

from harness.cli import main
from harness.plugins.spaces.nds.prepare import prepare

SCRIPT = Path(__file__).resolve().parents[1] / "validation" / "nds_validation.py"


def _script():
    spec = importlib.util.spec_from_file_location("nds_validation", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_cell_reaches_a_stage_before_any_grows():
    script = _script()
    samples = {"a": [f"a{i}" for i in range(5)], "b": [f"b{i}" for i in range(3)]}
    jobs = script.plan_jobs("2,all", samples, ["x", "y"])
    first_stage = jobs[:8]
    assert {(space, scorer) for space, scorer, _ in first_stage} == {
        ("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")}
    assert len(jobs) == len(set(jobs)) == 16
    assert jobs[8:] == [("a", "x", "a2"), ("a", "x", "a3"), ("a", "x", "a4"),
                        ("a", "y", "a2"), ("a", "y", "a3"), ("a", "y", "a4"),
                        ("b", "x", "b2"), ("b", "y", "b2")]


def test_resumes_and_scores_as_harness_compare(shared_data, tmp_path, one_torch_thread):
    script = _script()
    write_sweep(tmp_path / "src", "ResNeXt-A_in.json",
                real_records(shared_data, "ResNeXt-A_in.json", 3))
    data_dir = tmp_path / "data"
    prepare(tmp_path / "src", data_dir, "nds-resnext-a")
    images = shared_data / "images" / "cifar10"
    out = tmp_path / "scores.jsonl"
    argv = ["--data-dir", str(data_dir), "--images", str(images), "--out", str(out),
            "--plan", "2", "--spaces", "nds-resnext-a", "--scorers", "naswot"]
    script.main(argv)
    script.main([*argv[:-5], "3", *argv[-4:]])
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 3 and len({r["arch"] for r in records}) == 3
    assert all(r["error"] is None and r["variant"] == "naswot" for r in records)

    run = tmp_path / "run"
    assert main(["compare", "--spaces", "nds-resnext-a", "--datasets", "imagenet",
                 "--scorers", "naswot", "--data-dir", str(data_dir), "--images", str(images),
                 "--option", "naswot.batch_size=16", "--seeds", "0",
                 "--out", str(run), "--workers", "1"]) == 0
    with sqlite3.connect(run / "trials.sqlite") as db:
        stored = dict(db.execute("SELECT arch_id, score FROM trials"))
    for record in records:
        assert stored[record["arch"]] == pytest.approx(record["score"], rel=1e-9)
