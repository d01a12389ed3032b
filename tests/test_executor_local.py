"""The ``local`` executor's worker processes: identical scores for any worker count, and
timeouts and crashed workers recorded as rows while the run goes on.

Spawning workers costs seconds each (a fresh interpreter importing torch), so one mixed run
with two workers serves several tests.
"""

import pytest
import toy_plugins

from harness import load_trials, runner

TIMEOUT_S = 3.0


def _config(out, **overrides):
    values = {"spaces": ["toy"], "samples": None, "seeds": [0, 1], "out": str(out)}
    return runner.RunConfig(**{**values, **overrides})


@pytest.fixture(scope="module")
def two_worker_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("executor")
    with pytest.MonkeyPatch.context() as monkeypatch, \
            toy_plugins.toy_environment(tmp_path, monkeypatch):
        config = _config(tmp_path / "two", scorers=["weightsum", "sleepy", "crash", "width"],
                         workers=2, trial_timeout_s=TIMEOUT_S)
        summary = runner.execute_plan(runner.plan_run(config), progress=False)
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
        runner.execute_plan(runner.plan_run(config), progress=False)
    one = load_trials(tmp_path / "one").set_index(["arch_id", "seed"]).score.sort_index()
    two = two[two.scorer == "weightsum"].set_index(["arch_id", "seed"]).score.sort_index()
    assert len(one) == 16 and one.tolist() == two.tolist()
    assert one.nunique() == 16, "the probe really varies with arch and seed"


def test_results_report_their_device_and_memory(two_worker_run):
    trials = two_worker_run[3]
    ok = trials[trials.status == "ok"]
    assert set(ok.device) == {"cpu"}
    assert (ok.peak_mem_mb >= 0).all() and (ok.wall_s > 0).all()
