"""The ``local`` executor's worker processes: identical scores for any worker count, and
timeouts and crashed workers recorded as rows while the run goes on.

Spawning workers costs seconds each (a fresh interpreter importing torch), so one mixed run
with two workers serves several tests.
"""

import pytest
import torch
import toy_plugins

from harness import load_trials
from harness.config import RunConfig
from harness.execute import execute_plan
from harness.plan import plan_run

TIMEOUT_S = 3.0


def _config(out, **overrides):
    values = {"spaces": ["toy"], "samples": None, "seeds": [0, 1], "out": str(out)}
    return RunConfig(**{**values, **overrides})


@pytest.fixture(scope="module")
def two_worker_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("executor")
    with pytest.MonkeyPatch.context() as monkeypatch, \
            toy_plugins.toy_environment(tmp_path, monkeypatch):
        config = _config(tmp_path / "two", scorers=["weightsum", "sleepy", "crash", "width"],
                         workers=2, trial_timeout_s=TIMEOUT_S)
        summary = execute_plan(plan_run(config), progress=False)
        yield tmp_path, monkeypatch, summary, load_trials(tmp_path / "two")


def test_a_hung_trial_times_out_and_a_crashed_worker_is_an_error_row(two_worker_run):
    _, _, summary, trials = two_worker_run
    assert summary.total == summary.ran == 4 * 8 * 2, "every trial has a row; none lost"
    statuses = trials.groupby(["scorer", "status"]).size().to_dict()
    # sleepy hangs and crash segfaults on arch w1 only, once per seed.
    assert statuses == {("crash", "error"): 2, ("crash", "ok"): 14, ("sleepy", "ok"): 14,
                        ("sleepy", "timeout"): 2, ("weightsum", "ok"): 16, ("width", "ok"): 16}
    failed = trials[trials.status.isin(["error", "timeout"])].set_index("scorer").message
    assert set(failed["crash"]) == {
        "worker process died (killed by signal SIGSEGV) while running this trial"}
    assert set(failed["sleepy"]) == {
        f"exceeded --trial-timeout {TIMEOUT_S:g} s; worker killed and replaced"}
    timed_out = trials[trials.status == "timeout"]
    assert (timed_out.wall_s >= TIMEOUT_S).all()


def test_one_worker_gives_the_scores_of_two_workers_bit_for_bit(two_worker_run, tmp_path):
    environment_dir, monkeypatch, _, two = two_worker_run
    with toy_plugins.toy_environment(environment_dir, monkeypatch):
        config = _config(tmp_path / "one", scorers=["weightsum"], workers=1)
        execute_plan(plan_run(config), progress=False)
    one = load_trials(tmp_path / "one").set_index(["arch_id", "seed"]).score.sort_index()
    two = two[two.scorer == "weightsum"].set_index(["arch_id", "seed"]).score.sort_index()
    assert len(one) == 16 and one.tolist() == two.tolist()
    assert one.nunique() == 16, "the probe really varies with arch and seed"


def test_results_report_their_device_and_memory(two_worker_run):
    trials = two_worker_run[3]
    ok = trials[trials.status == "ok"]
    assert set(ok.device) == {"cpu"}
    assert (ok.peak_mem_mb >= 0).all() and (ok.wall_s > 0).all()


@pytest.mark.gpu
def test_gpu_trials_record_cuda_memory_and_oom(tmp_path, monkeypatch):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    with toy_plugins.toy_environment(tmp_path, monkeypatch):
        for workers in (1, 2):
            config = _config(tmp_path / f"gpu{workers}", scorers=["weightsum", "oom"],
                             device="cuda", workers=workers)
            execute_plan(plan_run(config), progress=False)
        cpu = _config(tmp_path / "cpu", scorers=["weightsum"], workers=1)
        execute_plan(plan_run(cpu), progress=False)
    one, two = load_trials(tmp_path / "gpu1"), load_trials(tmp_path / "gpu2")
    statuses = one.groupby(["scorer", "status"]).size().to_dict()
    assert statuses == {("oom", "oom"): 16, ("weightsum", "ok"): 16}
    assert one[one.status == "oom"].message.str.startswith("OutOfMemoryError").all()
    ok = one[one.status == "ok"]
    assert (ok.peak_mem_mb > 0).all() and set(ok.device) == {"cuda"}
    gpu_scores = ok.set_index(["arch_id", "seed"]).score.sort_index()
    two_scores = two[two.status == "ok"].set_index(["arch_id", "seed"]).score.sort_index()
    assert gpu_scores.tolist() == two_scores.tolist(), \
        "deterministic GPU kernels: any worker count gives the same scores"
    cpu_scores = load_trials(tmp_path / "cpu").set_index(["arch_id", "seed"]).score.sort_index()
    assert gpu_scores.to_numpy() == pytest.approx(cpu_scores.to_numpy(), rel=1e-4, abs=1e-4)


class _RecordingConnection:
    def __init__(self):
        self.sent = []

    def send(self, job):
        self.sent.append(job)


def _job(arch, scorer):
    from harness.store import Trial
    from harness.trial import TrialJob

    trial = Trial("toy", "toyset", arch, scorer, "hash", 0, "default", "default", 1)
    return TrialJob(trial, hash(arch) % 1000, 0, {}, "toyset", 2, (1, 1, 1), None, {}, ".",
                    "cpu")


def test_a_worker_runs_an_archs_trials_one_after_another():
    """Scorers that share work for an arch within a worker (AZ-NAS's parts) find it there:
    the second worker starts the next arch, not the first arch's next trial, and each worker
    finishes its arch; when every arch left is held, an idle worker helps with the first."""
    from harness.plugins.executors.local import PendingJobs, _dispatch, _Slot

    pending = PendingJobs([_job(arch, scorer) for arch in ("a", "b", "c")
                           for scorer in ("s1", "s2", "s3")])
    slots = [_Slot("cpu", connection=_RecordingConnection(), ready=True) for _ in range(2)]
    ran = {0: [], 1: []}
    finishing = [0, 0, 1, 0, 1, 1]  # which busy worker finishes next
    _dispatch(slots, pending)
    for index in finishing:
        slot = slots[index]
        ran[index].append((slot.job.trial.arch_id, slot.job.trial.scorer))
        slot.job = None
        _dispatch(slots, pending)
    assert ran[0] == [("a", "s1"), ("a", "s2"), ("a", "s3")]
    assert ran[1] == [("b", "s1"), ("b", "s2"), ("b", "s3")]
    running = [(slot.job.trial.arch_id, slot.job.trial.scorer) for slot in slots]
    assert running == [("c", "s1"), ("c", "s2")], "the idle worker helps with the held arch"
    assert [job.trial.scorer for job in pending._groups[slots[0].arch]] == ["s3"]
