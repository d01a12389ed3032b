"""Planning a run: the selection expanded into trials and jobs, options, spaces, datasets, archs.

Resume and ``--retry-failed``, which need a stored run, are tested in test_execute.py.
"""

import random

import pytest
import toy_plugins
from toy_plugins import toy_config

from harness import hookimpl
from harness.config import parse_option
from harness.errors import ConfigError, DataNotPreparedError
from harness.plan import plan_run
from harness.registry import get_registry
from harness.selection import read_arch_list


def test_selection_expands_to_every_combination(toy, tmp_path):
    config = toy_config(tmp_path, scorers=["width", "weightsum"], samples=5, seeds=[0, 1],
                        weight_inits=["default", "kaiming"])
    plan = plan_run(config)
    # 1 dataset x 2 scorers x 5 archs x 2 seeds x 2 weight inits x 1 bias init
    assert len(plan.trials) == len(plan.jobs) == 40
    assert plan.spaces[0].arch_ids == random.Random(0).sample(toy_plugins.ARCHS, 5)
    assert {job.trial.batch_size for job in plan.jobs} == {1, 4}
    assert {job.dataset_plugin for job in plan.jobs} == {"toyset"}


def test_jobs_run_arch_by_arch_so_a_cut_short_run_compares_scorers_on_the_same_archs(toy,
                                                                                      tmp_path):
    plan = plan_run(toy_config(tmp_path, scorers=["width", "weightsum"], samples=3))
    order = [(job.trial.arch_id, job.trial.scorer) for job in plan.jobs]
    archs = plan.spaces[0].arch_ids
    assert order == [(arch, scorer) for arch in archs for scorer in ("width", "weightsum")]


def test_bad_options_are_config_errors(toy, tmp_path):
    with pytest.raises(ConfigError, match="width has no option 'scale'; its options: batch_size"):
        plan_run(toy_config(tmp_path, options={"width": {"scale": 1}}))
    with pytest.raises(ConfigError, match="names scorer 'naswot'"):
        plan_run(toy_config(tmp_path, options={"naswot": {"batch_size": 1}}))
    with pytest.raises(ConfigError, match="SCORER.KEY=VALUE"):
        parse_option("batch_size=3")
    assert parse_option("naswot.inputs.split=train") == ("naswot", ["inputs", "split"],
                                                         "train")


class _Unprepared(toy_plugins.ToySpace):
    """A toy space with no prepared data and, optionally, a bundled table."""

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
    plan = plan_run(toy_config(tmp_path, spaces=["all"]))
    assert [p.name for p in plan.spaces] == ["toy"], "the demo is only used when nothing is"
    assert plan.skipped_spaces == {
        "demo": "run `harness data prepare demo --source PATH`",
        "nodata": "run `harness data prepare nodata --source PATH`"}
    with pytest.raises(DataNotPreparedError, match="prepare nodata"):
        plan_run(toy_config(tmp_path, spaces=["nodata"]))


def test_bundled_ground_truth_is_used_when_nothing_is_prepared(toy, tmp_path):
    registry, data_dir = toy
    (data_dir / "toy" / "ground_truth.parquet").unlink()
    registry.register_plugin(_MoreSpaces(), "more")
    plan = plan_run(toy_config(tmp_path, spaces=["all"]))
    assert [(p.name, p.bundled) for p in plan.spaces] == [("demo", True)]
    assert any("ground truth bundled with the package" in note for note in plan.notes)


def test_unknown_dataset_is_a_config_error(toy, tmp_path):
    with pytest.raises(ConfigError, match="--datasets 'cifar10'"):
        plan_run(toy_config(tmp_path, datasets=["cifar10"]))


def test_arch_list_reads_one_arch_per_line_or_one_json_list(toy, tmp_path):
    lines, as_json = tmp_path / "archs.txt", tmp_path / "archs.json"
    lines.write_text("# comment\nw3\nw1\n")
    as_json.write_text('["w3",\n "w1"]')
    space = get_registry().get("space", "toy")
    assert read_arch_list(lines, space) == ["w3", "w1"]
    assert read_arch_list(as_json, space) == ["w3", "w1"], "a JSON list, one arch per item"
    bad = tmp_path / "bad.txt"
    bad.write_text("w3\nnot-an-arch\n")
    with pytest.raises(ConfigError, match="not-an-arch"):
        read_arch_list(bad, space)
