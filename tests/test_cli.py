"""The ``harness`` command: help examples, one-line errors, every sub-command, and a run killed
with SIGKILL that a second identical command finishes with the scores of an uninterrupted run."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest
import toy_plugins

from harness import cli, load_trials
from harness.config import RunConfig
from harness.execute import execute_plan
from harness.groundtruth.table import GroundTruthTable
from harness.plan import plan_run

HELP_COMMANDS = [[], ["plugins"], ["compare"], ["report"], ["export"], ["data"],
                 ["data", "status"], ["data", "prepare"], ["data", "build"], ["data", "fetch"]]


def _main(capsys, *argv):
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("command", HELP_COMMANDS, ids=lambda c: " ".join(c) or "harness")
def test_every_help_shows_an_example(toy, capsys, command):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out and "  harness " in out.split("example")[1], out


def test_harness_error_is_one_line_and_exit_code_2(toy, capsys):
    code, out, err = _main(capsys, "compare", "--spaces", "toi", "--quiet")
    assert code == 2
    assert err.strip().splitlines() == [
        "harness: error: unknown space 'toi'. Did you mean 'toy'? Known spaces: toy. Run "
        "`harness plugins` to see what is installed."]
    assert "Traceback" not in err


def test_plugins_json_lists_name_kind_plugin_distribution_version(toy, capsys):
    code, out, _ = _main(capsys, "plugins", "--json")
    listing = json.loads(out)
    rows = {(r["kind"], r["name"]): r for r in listing["plugins"]}
    assert code == 0 and rows[("scorer", "width")]["plugin"] == "toy"
    assert rows[("executor", "local")]["distribution"] == "nas-harness"
    assert rows[("weight", "kaiming")]["plugin"] == "initializers"
    assert listing["warnings"] == []
    code, out, _ = _main(capsys, "plugins")
    assert "width" in out and "scorer" in out


def test_compare_writes_the_store_and_run_json_and_config_repeats_it(toy, tmp_path, capsys):
    out_dir = tmp_path / "run"
    code, out, _ = _main(capsys, "compare", "--spaces", "toy", "--scorers", "width,nan",
                         "--seeds", "0-1", "--samples", "all", "--weight-inits", "default,kaiming",
                         "--workers", "0", "--quiet", "--no-report", "--out", str(out_dir))
    assert code == 0 and "64 trials run now (32 nan, 32 ok)" in out
    document = json.loads((out_dir / "run.json").read_text())
    assert document["command"][:3] == ["harness", "compare", "--spaces"]
    code, out, _ = _main(capsys, "compare", "--config", str(out_dir / "run.json"), "--quiet",
                         "--no-report")
    assert code == 0 and "0 trials run now (none), 64 already in the store" in out
    code, out, err = _main(capsys, "compare", "--config", str(out_dir / "run.json"), "--quiet",
                           "--no-report", "--seeds", "0-2")
    assert code == 2 and err.splitlines() == [
        f"harness: error: --out {out_dir} holds the trials of another selection (--seeds 0,1,2 "
        f"here, 0,1 there); give this run a new --out, or add --extend to add its trials to "
        f"that run on purpose"]
    code, out, _ = _main(capsys, "compare", "--config", str(out_dir / "run.json"), "--quiet",
                         "--no-report", "--seeds", "0-2", "--extend")
    assert "32 trials run now (16 nan, 16 ok), 64 already in the store" in out


def test_a_resume_after_a_default_changed_is_refused_and_resumes_with_the_old_value(
        toy, tmp_path, capsys, monkeypatch):
    """A newer version's default must not silently score a folder's archs again beside its
    finished trials: the resume names the changed key; --extend with the old value finds them."""
    out_dir = tmp_path / "run"
    command = ("compare", "--spaces", "toy", "--scorers", "weightsum", "--samples", "all",
               "--workers", "0", "--quiet", "--no-report", "--out", str(out_dir))
    assert _main(capsys, *command)[0] == 0
    monkeypatch.setattr(toy_plugins.WeightSum, "defaults",
                        {**toy_plugins.WeightSum.defaults, "scale": 2.0})
    code, _, err = _main(capsys, *command)
    assert code == 2 and err.splitlines() == [
        f"harness: error: --out {out_dir}: 8 finished weightsum trials there were scored under "
        f"another config (scale 2.0 now, 1.0 there): a default or the input images changed "
        f"since they ran. Resume them as they were with --extend and --option "
        f"weightsum.KEY=VALUE giving their values (an option absent there ran its default of "
        f"that time: docs/compare.md), or score the new config beside them with --extend and "
        f"--option weightsum.KEY=VALUE giving the new values (a study: the row's options)"]
    assert _main(capsys, *command, "--extend")[0] == 2, "--extend of the same selection resumes"
    code, out, _ = _main(capsys, *command, "--extend", "--option", "weightsum.scale=1.0")
    assert code == 0 and "0 trials run now (none), 8 already in the store" in out
    code, out, _ = _main(capsys, *command, "--extend", "--option", "weightsum.scale=2.0")
    assert code == 0 and "8 trials run now (8 ok), 0 already in the store" in out
    assert load_trials(out_dir).scorer_config_hash.nunique() == 2


def test_compare_without_arguments_runs_every_scorer_and_writes_the_report(
        tmp_path, monkeypatch, capsys):
    with toy_plugins.toy_environment(tmp_path, monkeypatch,
                                     f"{toy_plugins.CORE_PLUGINS},{toy_plugins.REPORTERS}") \
            as (registry, _):
        registry.unregister_plugin("toy")
        registry.register_plugin(toy_plugins.MinimalPlugin(), "toy-minimal")
        monkeypatch.chdir(tmp_path)
        code, out, err = _main(capsys, "compare", "--quiet")
    assert code == 0, err
    run_dir = RunConfig().run_dir()
    assert f"8 trials run now (8 ok), 0 already in the store, 8 in the selection -> {run_dir}" \
        in out
    for name in ("report.md", "correlations.csv", "report.json", "report.tex", "report.html"):
        assert (tmp_path / run_dir / name).is_file(), name
    report = json.loads((tmp_path / run_dir / "report.json").read_text())
    assert "width" in json.dumps(report)


def test_data_status_prepare_and_fetch(toy, tmp_path, capsys):
    _, data_dir = toy
    code, out, _ = _main(capsys, "data", "status")
    assert code == 0 and "toy" in out and "prepared" in out and "toy.csv" in out
    source = tmp_path / "mine.csv"
    pd.DataFrame({"arch_id": ["w1", "w2"], "acc2": [3.0, 1.0]}).to_csv(source, index=False)
    code, out, _ = _main(capsys, "data", "prepare", "toy", "--source", str(source),
                         "--column", "acc2", "--data-dir", str(tmp_path / "other"))
    assert code == 0, out
    table = GroundTruthTable.load(tmp_path / "other" / "toy" / "ground_truth.parquet")
    assert table.frame["acc"].to_dict() == {"w1": 3.0, "w2": 1.0}
    assert table.source["options"] == {"column": "acc2"}, "extra --name VALUE go to the space"
    code, _, err = _main(capsys, "data", "fetch", "toyset")
    assert code == 2 and "no fetch method" in err


def test_export_formats(toy, tmp_path, capsys):
    execute_plan(plan_run(RunConfig(
        spaces=["toy"], scorers=["width"], samples=None, workers=0, out=str(tmp_path / "run"))),
        progress=False)
    for fmt, read in (("csv", pd.read_csv), ("parquet", pd.read_parquet),
                      ("json", pd.read_json)):
        code, out, _ = _main(capsys, "export", str(tmp_path / "run"), "--format", fmt)
        frame = read(tmp_path / "run" / f"trials.{fmt}")
        assert code == 0 and len(frame) == 8
        # width = w, truth = 50 + 5 w: the exported join is exact.
        assert (frame.truth == 50 + 5 * frame.score).all(), fmt


def _stored_rows(path) -> int:
    try:
        with sqlite3.connect(path, timeout=5) as connection:
            return connection.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_run_killed_with_sigkill_resumes_without_loss_or_duplicates(toy, tmp_path):
    _, data_dir = toy
    reference_dir = tmp_path / "reference"
    execute_plan(plan_run(RunConfig(
        spaces=["toy"], scorers=["weightsum"], seeds=[0, 1], samples=None, workers=0,
        out=str(reference_dir))), progress=False)
    run_dir = tmp_path / "killed"
    command = [toy_plugins.harness_executable(), "compare", "--spaces", "toy", "--scorers",
               "weightsum", "--seeds", "0-1", "--samples", "all", "--option",
               "weightsum.delay_s=0.1", "--no-report", "--quiet", "--out", str(run_dir)]
    env = toy_plugins.subprocess_env(tmp_path, data_dir)
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    deadline = time.monotonic() + 240
    while _stored_rows(run_dir / "trials.sqlite") < 3 and process.poll() is None:
        assert time.monotonic() < deadline, "the run never stored a trial"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    os.killpg(process.pid, signal.SIGKILL)  # its worker, orphaned, would exit on its own
    stored_at_kill = _stored_rows(run_dir / "trials.sqlite")
    assert process.returncode == -signal.SIGKILL and 3 <= stored_at_kill < 16, stored_at_kill

    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert f"{stored_at_kill} already in the store, 16 in the selection" in finished.stdout

    trials = load_trials(run_dir)
    keys = trials[["arch_id", "seed"]].apply(tuple, axis=1)
    assert len(trials) == 16 and keys.is_unique and set(trials.status) == {"ok"}
    resumed = trials.set_index(["arch_id", "seed"]).score.sort_index()
    reference = load_trials(reference_dir).set_index(["arch_id", "seed"]).score.sort_index()
    assert resumed.tolist() == reference.tolist(), "a resumed run equals an uninterrupted one"



# What the start-up test runs in a fresh interpreter: build the parser, run the command, then
# report which heavy libraries got imported (the issue: --help must answer at once).
_STARTUP_PROBE = """
import sys
from harness.cli import build_parser, main
build_parser()
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("heavy modules loaded:", sorted(m for m in ("torch", "scipy") if m in sys.modules))
"""
STARTUP_COMMANDS = [["--help"], ["--version"], ["data", "status"],
                    *([*command, "--help"] for command in
                      [["plugins"], ["compare"], ["report"], ["export"], ["regress"],
                       ["profile"], ["data"], ["data", "status"], ["data", "prepare"],
                       ["data", "build"], ["data", "fetch"]])]


@pytest.mark.parametrize("command", STARTUP_COMMANDS, ids=" ".join)
def test_help_version_and_data_status_import_neither_torch_nor_scipy(command, tmp_path):
    env = {key: value for key, value in os.environ.items()
           if key not in ("HARNESS_LOAD_PLUGINS", "HARNESS_DISABLE_PLUGINS")}
    env["HARNESS_DATA_DIR"] = str(tmp_path)  # every installed plugin, no prepared data
    result = subprocess.run([sys.executable, "-c", _STARTUP_PROBE, *command], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.splitlines()[-1] == "heavy modules loaded: []", (
        f"`harness {' '.join(command)}` imported torch or scipy: every plugin's plugin.py must "
        f"import its implementation inside the hook\n{result.stdout}{result.stderr}")
