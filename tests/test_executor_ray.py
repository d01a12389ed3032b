"""The ``ray`` executor on a local ``ray.init(num_cpus=2)``: the local executor's scores bit for
bit, whatever the batch size; a task whose worker dies, or that overruns --trial-timeout,
becomes rows while the run goes on; a missing Ray is one line naming the extra to install.

Skipped (with the reason) where the ``ray`` extra is not installed: ``pip install -e '.[ray]'``.
Ray starts once for the module (seconds on a small machine); the fault test is slow.
"""

import os
import subprocess
import sys

import pytest
import toy_plugins

from harness import load_trials
from harness.cli import main
from harness.config import RunConfig
from harness.execute import execute_plan
from harness.plan import plan_run

TIMEOUT_S = 3.0


def _config(out, **overrides):
    values = {"spaces": ["toy"], "samples": None, "seeds": [0, 1], "out": str(out)}
    return RunConfig(**{**values, **overrides})


def _scores(run_dir):
    trials = load_trials(run_dir)
    return trials[trials.status == "ok"].set_index(["arch_id", "seed"]).score.sort_index()


@pytest.fixture(scope="module")
def ray_session(tmp_path_factory):
    ray = pytest.importorskip("ray", reason="the ray extra is not installed: "
                                            "pip install -e '.[ray]'")
    tmp_path = tmp_path_factory.mktemp("ray")
    with pytest.MonkeyPatch.context() as monkeypatch, \
            toy_plugins.toy_environment(tmp_path, monkeypatch):
        # Ray's worker processes must import the toy plugins the driver registered in-process.
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
            [str(toy_plugins.TESTS_DIR), os.environ.get("PYTHONPATH", "")]))
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            yield tmp_path, monkeypatch
        finally:
            ray.shutdown()


def test_ray_scores_equal_the_local_executors_bit_for_bit(ray_session, tmp_path):
    environment_dir, monkeypatch = ray_session
    with toy_plugins.toy_environment(environment_dir, monkeypatch):
        execute_plan(plan_run(_config(tmp_path / "local", scorers=["weightsum"], workers=1)),
                     progress=False)
        for batch in (1, 3):
            config = _config(tmp_path / f"ray{batch}", scorers=["weightsum"], executor="ray",
                             executor_options={"ray_batch": batch})
            summary = execute_plan(plan_run(config), progress=False)
            assert summary.ran == 16 and summary.status_counts == {"ok": 16}
    local = _scores(tmp_path / "local")
    assert local.nunique() == 16, "the probe really varies with arch and seed"
    for batch in (1, 3):
        assert _scores(tmp_path / f"ray{batch}").tolist() == local.tolist()


@pytest.mark.slow  # each lost or cancelled worker is replaced by one importing torch: a minute
def test_a_lost_ray_worker_and_a_hung_task_are_rows_and_the_run_goes_on(ray_session,
                                                                        tmp_path):
    environment_dir, monkeypatch = ray_session
    with toy_plugins.toy_environment(environment_dir, monkeypatch):
        config = _config(tmp_path / "faults", scorers=["crash", "sleepy"], executor="ray",
                         trial_timeout_s=TIMEOUT_S, executor_options={"ray_max_retries": 1})
        summary = execute_plan(plan_run(config), progress=False)
    trials = load_trials(tmp_path / "faults")
    assert summary.ran == 32
    # crash segfaults and sleepy hangs on arch w1 only, once per seed.
    assert trials.groupby(["scorer", "status"]).size().to_dict() == {
        ("crash", "error"): 2, ("crash", "ok"): 14, ("sleepy", "ok"): 14,
        ("sleepy", "timeout"): 2}
    lost = trials[trials.status == "error"].message
    assert lost.str.startswith("Ray task lost after 1 retries").all(), lost.tolist()
    assert (trials[trials.status == "timeout"].wall_s >= TIMEOUT_S).all()


def test_a_missing_ray_is_one_line_naming_the_extra(toy, monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    status = main(["compare", "--spaces", "toy", "--scorers", "width", "--samples", "2",
                   "--executor", "ray", "--no-report", "--quiet", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert status == 2 and "\n" not in err
    assert "pip install 'nas-harness[ray]'" in err
    assert not (tmp_path / "r" / "trials.sqlite").exists(), "refused before any trial"


def test_an_option_of_another_executor_is_refused_naming_it(toy, capsys, tmp_path):
    status = main(["compare", "--spaces", "toy", "--scorers", "width", "--samples", "2",
                   "--ray-batch", "2", "--no-report", "--quiet", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert "--ray-batch is an option of executor ray, not of 'local'" in err


def test_the_parser_lists_executor_options_without_importing_ray_submitit_or_torch():
    probe = ("import sys\nfrom harness.cli import build_parser\n"
             "help = build_parser()._subparsers._group_actions[0].choices['compare'].format_help()"
             "\nprint('--ray-address' in help, '--slurm-partition' in help, "
             "sorted(m for m in ('ray', 'submitit', 'torch') if m in sys.modules))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.stdout.split("\n")[-2] == "True True []", result.stdout + result.stderr
