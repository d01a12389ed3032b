"""A run folder holds the selections its run.json lists, one run at a time.

A different selection is refused before any work unless ``--extend`` adds it on purpose (then
the history and the report's provenance list every command); a resume of a recorded selection
runs as before; a second process on a busy folder is refused with the first one's pid.
"""

import json
import os
import subprocess

import pytest
import toy_plugins
from toy_plugins import run_toy, toy_config

from harness import load_trials
from harness.config import RunConfig
from harness.errors import ConfigError
from harness.execute import execute_plan
from harness.plan import plan_run
from harness.reports import build_report
from harness.runfolder import (
    LOCK_FILE,
    RunFolderBusy,
    hold_run_folder,
    read_run_config,
    run_history,
)

FIRST = {"samples": 4}
# (field changed, value) -> the flag the refusal names.
OTHER_SELECTIONS = [
    ({"samples": 3}, "--samples 3 here, 4 there"),
    ({"sample_seed": 1}, "--sample-seed 1 here, 0 there"),
    ({"scorers": ["width", "nan"]}, "--scorers width,nan here, width there"),
    ({"seeds": [0, 1]}, "--seeds 0,1 here, 0 there"),
    ({"weight_inits": ["kaiming"]}, "--weight-inits kaiming here, default there"),
    ({"bias_inits": ["zero"]}, "--bias-inits zero here, default there"),
    ({"datasets": ["all"]}, "--datasets all here, unset there"),
    ({"spaces": ["all"]}, "--spaces all here, toy there"),
    ({"samples": None}, "--samples all here, 4 there"),
]


def _stored(run_dir) -> int:
    return len(load_trials(run_dir))


@pytest.mark.parametrize("change, named", OTHER_SELECTIONS, ids=lambda v: str(v)[:30])
def test_another_selection_is_refused_before_any_work(toy, tmp_path, change, named):
    run_toy(toy_config(tmp_path, **FIRST))
    run_dir = tmp_path / "run"
    before = {name: (run_dir / name).read_bytes() for name in ("run.json", "trials.sqlite")}
    with pytest.raises(ConfigError) as refused:
        run_toy(toy_config(tmp_path, **{**FIRST, **change}))
    message = str(refused.value)
    assert "\n" not in message and named in message, message
    assert "new --out" in message and "--extend" in message
    after = {name: (run_dir / name).read_bytes() for name in before}
    assert after == before, "a refused run writes nothing"


def test_option_change_is_refused_and_named(toy, tmp_path):
    run_toy(toy_config(tmp_path, scorers=["weightsum"], samples=2))
    with pytest.raises(ConfigError, match=r"--option \{'weightsum': \{'scale': 2\}\} here, \{\} "
                                          r"there"):
        run_toy(toy_config(tmp_path, scorers=["weightsum"], samples=2,
                           options={"weightsum": {"scale": 2}}))


def test_resume_of_the_same_selection_runs_as_before(toy, tmp_path):
    config = toy_config(tmp_path, **FIRST, scorers=["width", "boom"])
    first = run_toy(config)
    assert (first.ran, first.status_counts) == (8, {"ok": 4, "error": 4})
    again = run_toy(toy_config(tmp_path, **FIRST, scorers=["width", "boom"], workers=1))
    assert (again.ran, again.already_done) == (0, 8)
    from_json = read_run_config(tmp_path / "run" / "run.json")
    assert run_toy(from_json).already_done == 8
    from_json.retry_failed = True
    retried = run_toy(from_json)
    assert (retried.ran, retried.status_counts) == (4, {"error": 4})
    history = run_history(tmp_path / "run")
    assert len(history) == 2, "a command that ran no trial adds no history entry"


def test_extend_adds_a_selection_and_the_report_lists_every_command(toy, tmp_path):
    run_dir = tmp_path / "run"
    execute_plan(plan_run(toy_config(tmp_path, **FIRST)), progress=False,
                 command=["harness", "compare", "--samples", "4"])
    extended = toy_config(tmp_path, samples=None, scorers=["nan"])
    summary = execute_plan(plan_run(extended), progress=False, extend=True,
                           command=["harness", "compare", "--samples", "all", "--scorers",
                                    "nan", "--extend"])
    assert summary.ran == 8
    history = run_history(run_dir)
    assert [entry["command"][2:] for entry in history] == [
        ["--samples", "4"], ["--samples", "all", "--scorers", "nan", "--extend"]]
    assert [entry["extend"] for entry in history] == [False, True]
    assert [entry["n_trials"] for entry in history] == [4, 8]
    assert [RunConfig.from_dict(entry["selection"]).samples for entry in history] == [4, None]
    # Both recorded selections resume without --extend; only a third one is refused.
    assert run_toy(toy_config(tmp_path, **FIRST)).already_done == 4
    assert run_toy(extended).already_done == 8
    with pytest.raises(ConfigError, match="--samples 2 here, all there"):
        run_toy(toy_config(tmp_path, samples=2, scorers=["nan"]))
    report = build_report(run_dir)
    assert report.provenance.command == ("harness compare --samples 4 ; harness compare "
                                         "--samples all --scorers nan --extend")
    n_by_scorer = {row.key.scorer: row.n_trials for row in report.rows}
    assert n_by_scorer == {"width": 4, "nan": 8}, "each cell's n is its own selection's"


def test_run_json_without_history_counts_as_its_own_selection(toy, tmp_path):
    run_toy(toy_config(tmp_path, **FIRST))
    path = tmp_path / "run" / "run.json"
    document = json.loads(path.read_text())
    del document["history"]
    path.write_text(json.dumps(document))
    assert run_toy(toy_config(tmp_path, **FIRST)).already_done == 4
    with pytest.raises(ConfigError, match="--samples 5 here, 4 there"):
        run_toy(toy_config(tmp_path, samples=5))


def test_a_busy_folder_is_refused_and_a_released_one_is_not(toy, tmp_path):
    run_dir = tmp_path / "run"
    with hold_run_folder(run_dir, ["harness", "compare", "--out", "first"]):
        with pytest.raises(RunFolderBusy) as busy:
            with hold_run_folder(run_dir, ["second"]):
                pass
        assert str(busy.value) == (
            f"{run_dir} is in use by pid {os.getpid()} (harness compare --out first): wait "
            f"until it ends, or give this run another --out")
    assert (run_dir / LOCK_FILE).read_text() == "", "the lock file names no holder once free"
    assert run_toy(toy_config(tmp_path)).ran == 8


def test_a_second_process_on_a_busy_folder_exits_2_naming_the_first(toy, tmp_path):
    _, data_dir = toy
    run_dir = tmp_path / "run"
    command = [toy_plugins.harness_executable(), "compare", "--spaces", "toy", "--scorers",
               "width", "--samples", "all", "--no-report", "--quiet", "--out", str(run_dir)]
    env = toy_plugins.subprocess_env(tmp_path, data_dir)
    with hold_run_folder(run_dir, ["harness", "compare", "--out", "first"]):
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 2, second.stderr
    assert second.stderr.splitlines() == [
        f"harness: error: {run_dir} is in use by pid {os.getpid()} (harness compare --out "
        f"first): wait until it ends, or give this run another --out"]
    assert not (run_dir / "trials.sqlite").exists(), "the refused process computed nothing"
