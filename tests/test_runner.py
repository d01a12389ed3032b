"""The runner: trial expansion, resume, statuses, options, selections and run.json.

Runs here use ``workers=0`` (trials in this process); real worker processes are covered by
test_executor_local.py and the killed-run test in test_cli.py.
"""

import json
import random

import pytest
import toy_plugins

from harness import hookimpl, load_trials, runner
from harness.errors import ConfigError, DataNotPreparedError
from harness.registry import get_registry
from harness.store import TrialStore


@pytest.fixture
def toy(tmp_path, monkeypatch):
    with toy_plugins.toy_environment(tmp_path, monkeypatch) as environment:
        yield environment


def _config(tmp_path, **overrides):
    values = {"spaces": ["toy"], "scorers": ["width"], "samples": None, "workers": 0,
              "out": str(tmp_path / "run")}
    return runner.RunConfig(**{**values, **overrides})


def _run(config):
    return runner.execute_plan(runner.plan_run(config), progress=False)


def test_selection_expands_to_every_combination(toy, tmp_path):
    config = _config(tmp_path, scorers=["width", "weightsum"], samples=5, seeds=[0, 1],
                     weight_inits=["default", "kaiming"])
    plan = runner.plan_run(config)
    # 1 dataset x 2 scorers x 5 archs x 2 seeds x 2 weight inits x 1 bias init
    assert len(plan.trials) == len(plan.jobs) == 40
    assert plan.spaces[0].arch_ids == random.Random(0).sample(toy_plugins.ARCHS, 5)
    assert {job.trial.batch_size for job in plan.jobs} == {1, 4}
    assert {job.dataset_plugin for job in plan.jobs} == {"toyset"}


def test_jobs_run_arch_by_arch_so_a_cut_short_run_compares_scorers_on_the_same_archs(toy,
                                                                                      tmp_path):
    plan = runner.plan_run(_config(tmp_path, scorers=["width", "weightsum"], samples=3))
    order = [(job.trial.arch_id, job.trial.scorer) for job in plan.jobs]
    archs = plan.spaces[0].arch_ids
    assert order == [(arch, scorer) for arch in archs for scorer in ("width", "weightsum")]


def test_rerun_skips_finished_trials_and_reruns_forgotten_ones(toy, tmp_path):
    config = _config(tmp_path, seeds=[0, 1])
    first = _run(config)
    assert (first.ran, first.already_done, first.status_counts) == (16, 0, {"ok": 16})
    again = runner.plan_run(config)
    assert (len(again.jobs), again.already_done) == (0, 16)
    with TrialStore.for_run(tmp_path / "run") as store:
        store.delete_status(["ok"])
    assert len(runner.plan_run(config).jobs) == 16


def test_failures_are_rows_with_status_and_one_line_message(toy, tmp_path):
    _run(_config(tmp_path, scorers=["nan", "boom", "skipper", "width"], samples=2))
    trials = load_trials(tmp_path / "run")
    by_scorer = trials.groupby("scorer")
    assert {s: set(group.status) for s, group in by_scorer} == {
        "nan": {"nan"}, "boom": {"error"}, "skipper": {"skipped"}, "width": {"ok"}}
    messages = set(trials.set_index("scorer").loc["boom", "message"])
    assert messages == {"RuntimeError: boom second line of the message"}
    assert trials[trials.status != "ok"].score.isna().all()


def test_retry_failed_reruns_errors_only(toy, tmp_path):
    _run(_config(tmp_path, scorers=["boom", "nan"], samples=2))
    plan = runner.plan_run(_config(tmp_path, scorers=["boom", "nan"], samples=2,
                                   retry_failed=True))
    assert {job.trial.scorer for job in plan.jobs} == {"boom"}, "NaN is a result, not a glitch"


def test_scores_do_not_depend_on_order_or_on_the_rest_of_the_selection(toy, tmp_path):
    _run(_config(tmp_path, scorers=["weightsum"], seeds=[0, 1], out=str(tmp_path / "all")))
    arch_list = tmp_path / "archs.txt"
    arch_list.write_text("# one arch\nw3\n")
    _run(_config(tmp_path, scorers=["weightsum"], seeds=[1], arch_list=str(arch_list),
                 out=str(tmp_path / "one")))
    full = load_trials(tmp_path / "all").set_index(["arch_id", "seed"]).score
    alone = load_trials(tmp_path / "one").set_index(["arch_id", "seed"]).score
    assert alone[("w3", 1)] == full[("w3", 1)], "trial seed depends on (run seed, space, arch)"
    assert full[("w3", 0)] != full[("w3", 1)], "different run seeds give different draws"


def test_options_change_the_config_hash_and_are_stored(toy, tmp_path):
    options = {}
    runner.add_option(options, "weightsum.scale=2")
    plain = runner.plan_run(_config(tmp_path, scorers=["weightsum"]))
    scaled = runner.plan_run(_config(tmp_path, scorers=["weightsum"], options=options))
    assert plain.jobs[0].trial.scorer_config_hash != scaled.jobs[0].trial.scorer_config_hash
    assert scaled.jobs[0].config == {"batch_size": 4, "scale": 2, "delay_s": 0.0}
    runner.execute_plan(scaled, progress=False)
    with TrialStore.for_run(tmp_path / "run") as store:
        assert list(store.scorer_configs().values())[0]["scale"] == 2


def test_bad_options_are_config_errors(toy, tmp_path):
    with pytest.raises(ConfigError, match="width has no option 'scale'; its options: batch_size"):
        runner.plan_run(_config(tmp_path, options={"width": {"scale": 1}}))
    with pytest.raises(ConfigError, match="names scorer 'naswot'"):
        runner.plan_run(_config(tmp_path, options={"naswot": {"batch_size": 1}}))
    with pytest.raises(ConfigError, match="SCORER.KEY=VALUE"):
        runner.parse_option("batch_size=3")
    assert runner.parse_option("naswot.inputs.split=train") == ("naswot", ["inputs", "split"],
                                                                 "train")


def test_seed_ranges():
    assert runner.parse_seeds("0-2") == [0, 1, 2]
    assert runner.parse_seeds("0,5,7-8") == [0, 5, 7, 8]
    with pytest.raises(ConfigError, match="runs backwards"):
        runner.parse_seeds("3-1")


def test_run_json_holds_the_config_and_reads_back(toy, tmp_path):
    options = {"weightsum": {"scale": 3}}
    config = _config(tmp_path, scorers=["weightsum"], seeds=[0, 2], options=options, samples=3)
    _run(config)
    document = json.loads((tmp_path / "run" / "run.json").read_text())
    assert document["config"]["options"] == options and document["n_trials"] == 6
    assert document["spaces"]["toy"]["ground_truth_source"]["file"] == "toy.csv"
    assert runner.read_run_config(tmp_path / "run" / "run.json") == config


def test_default_run_folder_is_named_after_the_selection(tmp_path):
    one = runner.RunConfig(scorers=["a"], workers=1)
    assert one.run_dir() == runner.RunConfig(scorers=["a"], workers=4).run_dir()
    assert one.run_dir() != runner.RunConfig(scorers=["b"]).run_dir()


def test_ground_truth_of_the_sampled_archs_is_copied(toy, tmp_path):
    _run(_config(tmp_path, samples=3))
    with TrialStore.for_run(tmp_path / "run") as store:
        truth = store.ground_truth_frame()
    assert sorted(truth.arch_id) == sorted(random.Random(0).sample(toy_plugins.ARCHS, 3))


class _Unprepared(toy_plugins.ToySpace):
    """A toy space with no prepared data and, optionally, a bundled demo table."""

    def __init__(self, name, bundled):
        self.name, self.bundled = name, bundled

    def ground_truth(self, data_dir):
        raise DataNotPreparedError(f"run `harness data prepare {self.name} --source PATH`")

    def bundled_ground_truth(self):
        if not self.bundled:
            return None
        table = toy_plugins.toy_table()
        table.space = self.name
        return table


class _MoreSpaces:
    @hookimpl
    def harness_register_spaces(self, register):
        register(_Unprepared("nodata", bundled=False))
        register(_Unprepared("demo", bundled=True))


def test_spaces_all_skips_unprepared_spaces_with_their_prepare_command(toy, tmp_path):
    registry, _ = toy
    registry.register_plugin(_MoreSpaces(), "more")
    plan = runner.plan_run(_config(tmp_path, spaces=["all"]))
    assert [p.name for p in plan.spaces] == ["toy"], "the demo is only used when nothing is"
    assert plan.skipped_spaces == {
        "demo": "run `harness data prepare demo --source PATH`",
        "nodata": "run `harness data prepare nodata --source PATH`"}
    with pytest.raises(DataNotPreparedError, match="prepare nodata"):
        runner.plan_run(_config(tmp_path, spaces=["nodata"]))


def test_bundled_demo_is_used_when_nothing_is_prepared(toy, tmp_path):
    registry, data_dir = toy
    (data_dir / "toy" / "ground_truth.parquet").unlink()
    registry.register_plugin(_MoreSpaces(), "more")
    plan = runner.plan_run(_config(tmp_path, spaces=["all"]))
    assert [(p.name, p.bundled) for p in plan.spaces] == [("demo", True)]
    assert any("bundled demo" in note for note in plan.notes)


def test_unknown_dataset_is_a_config_error(toy, tmp_path):
    with pytest.raises(ConfigError, match="--datasets 'cifar10'"):
        runner.plan_run(_config(tmp_path, datasets=["cifar10"]))


class _Images:
    """Stands in for the ``images`` dataset: records what the runner asks it for."""

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
    config = _config(tmp_path, scorers=["weightsum", "width"], images=str(images), samples=2)
    first = runner.plan_run(config)
    weightsum = [job for job in first.jobs if job.trial.scorer == "weightsum"]
    assert {job.dataset_plugin for job in weightsum} == {"images"}
    assert weightsum[0].inputs == {"path": str(images.resolve()), "like": "toyset"}
    assert weightsum[0].config["input_source"]["images"] == str(images.resolve())
    runner.execute_plan(first, progress=False)
    assert _Images.calls == [(str(images.resolve()), "toyset")], "one batch shared by the archs"
    images.write_bytes(b"second")
    second = runner.plan_run(config)
    hashes = {(job.trial.scorer, job.trial.scorer_config_hash) for job in second.jobs}
    assert {scorer for scorer, _ in hashes} == {"weightsum"}, (
        "other image content is another trial; data-free scorers keep their stored results")


def test_arch_list_reads_one_arch_per_line_or_one_json_list(toy, tmp_path):
    lines, as_json = tmp_path / "archs.txt", tmp_path / "archs.json"
    lines.write_text("# comment\nw3\nw1\n")
    as_json.write_text('["w3",\n "w1"]')
    space = get_registry().get("space", "toy")
    assert runner.read_arch_list(lines, space) == ["w3", "w1"]
    assert runner.read_arch_list(as_json, space) == ["w3", "w1"], "a JSON list, one arch per item"
    bad = tmp_path / "bad.txt"
    bad.write_text("w3\nnot-an-arch\n")
    with pytest.raises(ConfigError, match="not-an-arch"):
        runner.read_arch_list(bad, space)
