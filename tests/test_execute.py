"""Executing a plan: resume, statuses, retries, stored options, run.json and ground truth.

Runs here use ``workers=0`` (trials in this process); real worker processes are covered by
test_executor_local.py and the killed-run test in test_cli.py.
"""

import json
import random

import toy_plugins
from toy_plugins import run_toy, toy_config

from harness import hookimpl, load_trials
from harness.config import add_option
from harness.execute import execute_plan
from harness.plan import plan_run
from harness.runfolder import read_run_config
from harness.store import TrialStore


def test_rerun_skips_finished_trials_and_reruns_forgotten_ones(toy, tmp_path):
    config = toy_config(tmp_path, seeds=[0, 1])
    first = run_toy(config)
    assert (first.ran, first.already_done, first.status_counts) == (16, 0, {"ok": 16})
    again = plan_run(config)
    assert (len(again.jobs), again.already_done) == (0, 16)
    with TrialStore.for_run(tmp_path / "run") as store:
        store.delete_status(["ok"])
    assert len(plan_run(config).jobs) == 16


def test_failures_are_rows_with_status_and_one_line_message(toy, tmp_path):
    run_toy(toy_config(tmp_path, scorers=["nan", "boom", "skipper", "width"], samples=2))
    trials = load_trials(tmp_path / "run")
    by_scorer = trials.groupby("scorer")
    assert {s: set(group.status) for s, group in by_scorer} == {
        "nan": {"nan"}, "boom": {"error"}, "skipper": {"skipped"}, "width": {"ok"}}
    messages = set(trials.set_index("scorer").loc["boom", "message"])
    assert messages == {"RuntimeError: boom second line of the message"}
    assert set(trials.set_index("scorer").loc["nan", "message"]) == {
        "the scorer returned NaN: this toy always returns NaN"}, "the scorer's own reason"
    assert trials[trials.status != "ok"].score.isna().all()


def test_retry_failed_reruns_errors_only(toy, tmp_path):
    run_toy(toy_config(tmp_path, scorers=["boom", "nan"], samples=2))
    plan = plan_run(toy_config(tmp_path, scorers=["boom", "nan"], samples=2,
                               retry_failed=True))
    assert {job.trial.scorer for job in plan.jobs} == {"boom"}, "NaN is a result, not a glitch"
    assert load_trials(tmp_path / "run").status.value_counts().to_dict() == {
        "error": 2, "nan": 2}, "planning writes nothing; the driver forgets the failed rows"
    summary = execute_plan(plan, progress=False)
    assert (summary.ran, summary.already_done, summary.status_counts) == (2, 2, {"error": 2})
    assert len(load_trials(tmp_path / "run")) == 4, "each retried trial replaced its old row"


def test_scores_do_not_depend_on_order_or_on_the_rest_of_the_selection(toy, tmp_path):
    run_toy(toy_config(tmp_path, scorers=["weightsum"], seeds=[0, 1], out=str(tmp_path / "all")))
    arch_list = tmp_path / "archs.txt"
    arch_list.write_text("# one arch\nw3\n")
    run_toy(toy_config(tmp_path, scorers=["weightsum"], seeds=[1], arch_list=str(arch_list),
                       out=str(tmp_path / "one")))
    full = load_trials(tmp_path / "all").set_index(["arch_id", "seed"]).score
    alone = load_trials(tmp_path / "one").set_index(["arch_id", "seed"]).score
    assert alone[("w3", 1)] == full[("w3", 1)], "trial seed depends on (run seed, space, arch)"
    assert full[("w3", 0)] != full[("w3", 1)], "different run seeds give different draws"


def test_options_change_the_config_hash_and_are_stored(toy, tmp_path):
    options = {}
    add_option(options, "weightsum.scale=2")
    plain = plan_run(toy_config(tmp_path, scorers=["weightsum"]))
    scaled = plan_run(toy_config(tmp_path, scorers=["weightsum"], options=options))
    assert plain.jobs[0].trial.scorer_config_hash != scaled.jobs[0].trial.scorer_config_hash
    assert scaled.jobs[0].config == {"batch_size": 4, "scale": 2, "delay_s": 0.0}
    execute_plan(scaled, progress=False)
    with TrialStore.for_run(tmp_path / "run") as store:
        assert list(store.scorer_configs().values())[0]["scale"] == 2


def test_run_json_holds_the_config_and_reads_back(toy, tmp_path):
    options = {"weightsum": {"scale": 3}}
    config = toy_config(tmp_path, scorers=["weightsum"], seeds=[0, 2], options=options, samples=3)
    run_toy(config)
    document = json.loads((tmp_path / "run" / "run.json").read_text())
    assert document["config"]["options"] == options and document["n_trials"] == 6
    assert document["spaces"]["toy"]["ground_truth_source"]["file"] == "toy.csv"
    assert read_run_config(tmp_path / "run" / "run.json") == config


def test_ground_truth_of_the_sampled_archs_is_copied(toy, tmp_path):
    run_toy(toy_config(tmp_path, samples=3))
    with TrialStore.for_run(tmp_path / "run") as store:
        truth = store.ground_truth_frame()
    assert sorted(truth.arch_id) == sorted(random.Random(0).sample(toy_plugins.ARCHS, 3))


class _Images:
    """Stands in for the ``images`` dataset: records what the worker asks it for."""

    name = "images"
    num_classes = 3
    input_shape = (3, 8, 8)
    calls: list = []

    def batch(self, batch_size, seed, *, data_dir, path, like, **options):
        _Images.calls.append((path, like))
        return toy_plugins.ToyDataset().batch(batch_size, seed + 1, data_dir=data_dir)


class _ImagesPlugin:
    @hookimpl
    def harness_register_datasets(self, register):
        register(_Images())


def test_images_replace_the_inputs_and_enter_the_key(toy, tmp_path):
    registry, _ = toy
    registry.register_plugin(_ImagesPlugin(), "images-test")
    images = tmp_path / "images.npz"
    images.write_bytes(b"first")
    config = toy_config(tmp_path, scorers=["weightsum", "width"], images=str(images), samples=2)
    first = plan_run(config)
    weightsum = [job for job in first.jobs if job.trial.scorer == "weightsum"]
    assert {job.dataset_plugin for job in weightsum} == {"images"}
    assert weightsum[0].inputs == {"path": str(images.resolve()), "like": "toyset"}
    assert weightsum[0].config["input_source"]["images"] == str(images.resolve())
    execute_plan(first, progress=False)
    assert _Images.calls == [(str(images.resolve()), "toyset")], "one batch shared by the archs"
    images.write_bytes(b"second")
    second = plan_run(config)
    hashes = {(job.trial.scorer, job.trial.scorer_config_hash) for job in second.jobs}
    assert {scorer for scorer, _ in hashes} == {"weightsum"}, (
        "other image content is another trial; data-free scorers keep their stored results")
