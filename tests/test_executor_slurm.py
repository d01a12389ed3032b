"""The ``slurm`` executor through submitit's local executor (the same code path, array tasks run
as local processes): the local executor's scores bit for bit; job ids recorded in the run
folder, and a killed driver's run resumed by re-attaching to finished jobs and re-submitting
only the trials no job can deliver; a task that dies is ``error`` rows and the run goes on.

Skipped (with the reason) where the ``slurm`` extra is not installed:
``pip install -e '.[slurm]'``. Each array task is a fresh interpreter importing torch.
"""

import json
import os

import pytest
import toy_plugins

from harness import load_trials
from harness.config import RunConfig
from harness.execute import configured_executor, execute_plan
from harness.plan import plan_run
from harness.registry import get_registry

LOCAL = {"slurm_cluster": "local", "slurm_chunk": 6}


@pytest.fixture
def slurm_toy(tmp_path, monkeypatch):
    pytest.importorskip("submitit", reason="the slurm extra is not installed: "
                                           "pip install -e '.[slurm]'")
    with toy_plugins.toy_environment(tmp_path, monkeypatch):
        # The array tasks must import the toy plugins the driver registered in-process.
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
            [str(toy_plugins.TESTS_DIR), os.environ.get("PYTHONPATH", "")]))
        yield tmp_path


def _config(out, **overrides):
    values = {"spaces": ["toy"], "scorers": ["weightsum"], "samples": None, "seeds": [0, 1],
              "out": str(out)}
    return RunConfig(**{**values, **overrides})


def _scores(run_dir):
    trials = load_trials(run_dir)
    return trials[trials.status == "ok"].set_index(["arch_id", "seed"]).score.sort_index()


def _ledger(run_dir):
    return json.loads((run_dir / "slurm" / "jobs.json").read_text())["jobs"]


def test_slurm_resumes_a_killed_drivers_jobs_and_matches_local_scores(slurm_toy, capsys):
    local_dir, slurm_dir = slurm_toy / "local", slurm_toy / "slurm"
    execute_plan(plan_run(_config(local_dir, workers=1)), progress=False)
    # A driver that submitted every chunk and was killed before storing a result: its jobs
    # ran to the end (16 trials in chunks of 6: three array tasks).
    config = _config(slurm_dir, executor="slurm", workers=0, executor_options=LOCAL)
    plan = plan_run(config)
    executor = configured_executor(get_registry(), config, slurm_dir)
    session = executor.session(workers=0, device="cpu", trial_timeout_s=None)
    for handle, _ in session.submit([plan.jobs[:6], plan.jobs[6:12]]):
        handle.result()  # the first two tasks finished; the third was never submitted
    assert len(_ledger(slurm_dir)) == 2
    capsys.readouterr()

    summary = execute_plan(plan, progress=False)
    assert summary.ran == 16 and summary.status_counts == {"ok": 16}
    ledger = _ledger(slurm_dir)
    assert len(ledger) == 3, "one new task, for the four trials no recorded job held"
    assert len(ledger[2]["trials"]) == 4
    assert "submitted 1 array tasks" in capsys.readouterr().err
    assert any((slurm_dir / "slurm" / entry["job_id"]).is_dir() for entry in ledger), \
        "submitit's logs and files are in the run folder"
    local = _scores(local_dir)
    assert local.nunique() == 16 and _scores(slurm_dir).tolist() == local.tolist()


@pytest.mark.slow  # two more array tasks, each a fresh interpreter importing torch
def test_a_dead_array_task_is_error_rows_and_the_run_goes_on(slurm_toy):
    run_dir = slurm_toy / "crash"
    config = _config(run_dir, scorers=["crash"], seeds=[0], executor="slurm", workers=0,
                     executor_options={**LOCAL, "slurm_chunk": 4})
    summary = execute_plan(plan_run(config), progress=False)
    trials = load_trials(run_dir)
    assert summary.ran == 8
    # crash segfaults on arch w1: the task holding w1's chunk dies; the other task is fine.
    assert trials.groupby("status").size().to_dict() == {"error": 4, "ok": 4}
    assert trials[trials.status == "error"].message.str.startswith("Slurm task ").all()


def test_slurm_without_sbatch_names_the_local_cluster(slurm_toy, monkeypatch):
    from harness.errors import HarnessError

    monkeypatch.setenv("PATH", str(slurm_toy))  # no sbatch here
    config = _config(slurm_toy / "x", executor="slurm")
    with pytest.raises(HarnessError, match="sbatch not found.*--slurm-cluster local"):
        configured_executor(get_registry(), config, slurm_toy / "x")


def test_a_rerun_awaits_jobs_slurm_knows_and_resubmits_forgotten_ones(slurm_toy, monkeypatch):
    import submitit

    from harness.plugins.executors.slurm_executor import SlurmExecutor
    from harness.protocols import ExecutorSettings

    class FakeSlurmJob:  # what sacct says of each recorded job; none left a result
        states = {"1_0": "RUNNING", "1_1": "UNKNOWN"}

        def __init__(self, folder, job_id):
            self.job_id, self.state = job_id, self.states[job_id]
            self.paths = submitit.core.utils.JobPaths(folder, job_id)

    monkeypatch.setattr(submitit, "SlurmJob", FakeSlurmJob)
    run_dir = slurm_toy / "rerun"
    plan = plan_run(_config(run_dir, executor="slurm"))
    session = SlurmExecutor(ExecutorSettings(run_dir)).session(1, "cpu", None)
    session.ledger.add("slurm", [("1_0", plan.jobs[:6]), ("1_1", plan.jobs[6:12])])
    pending = {tuple(vars(job.trial).values()): job for job in plan.jobs}
    attached = session._attach(pending)
    assert [(handle.job_id, chunk) for handle, chunk in attached] == [("1_0", plan.jobs[:6])]
    assert sorted(pending.values(), key=plan.jobs.index) == plan.jobs[6:], \
        "the forgotten job's trials are submitted again, with those no job held"


def test_a_refused_submission_is_one_line_naming_the_options(slurm_toy, monkeypatch):
    import submitit

    from harness.errors import HarnessError
    from harness.plugins.executors.slurm_executor import SlurmExecutor
    from harness.protocols import ExecutorSettings

    def refuse(*args, **kwargs):
        raise submitit.core.utils.FailedSubmissionError(
            "sbatch: error: invalid partition specified: gpux\nsecond line")

    monkeypatch.setattr(submitit.AutoExecutor, "map_array", refuse)
    run_dir = slurm_toy / "refused"
    plan = plan_run(_config(run_dir, executor="slurm"))
    session = SlurmExecutor(ExecutorSettings(run_dir, {"slurm_cluster": "local"})).session(
        1, "cpu", None)
    with pytest.raises(HarnessError, match="Slurm refused the job array.*invalid partition"):
        session.submit([plan.jobs])
    assert not (run_dir / "slurm" / "jobs.json").exists(), "nothing recorded"
