"""GenNAS proxy-task search: random tasks and their mutation (per-block probability 0.2), and
``harness task-search`` end to end on real NB-101 cells from ../shared/data (tiny settings)."""

import json
import random

import pytest

from harness.cli import main
from harness.config import RunConfig
from harness.errors import ConfigError
from harness.plugins.scorers.gennas.scorer import GenericGenNASScorer
from harness.plugins.scorers.gennas.task import BASES, LEVELS, parse_task
from harness.plugins.scorers.gennas.task_mutation import (
    AMPLITUDES,
    CHANNEL_MULTIPLIERS,
    mutate_task,
    random_task,
)
from harness.registry import get_registry
from harness.search.task_search import (
    SearchableScorer,
    TaskSearchSpec,
    check_spec,
    default_searchable_scorer,
    run_task_search,
)


def _blocks(task):
    """The minimum mutable blocks of a task, by name (15 basis blocks and 5 others)."""
    blocks = {"batchsize": task.get("batchsize"), "noise": task["noise"]}
    blocks.update({f"last_channel_l{level}": task[f"last_channel_l{level}"] for level in LEVELS})
    blocks.update({f"{level}.{name}": task["feature"][level][name]
                   for level in LEVELS for name in BASES})
    return blocks


def test_random_tasks_follow_the_generator():
    tasks = [random_task(random.Random(seed)) for seed in range(200)]
    assert random_task(random.Random(7)) == tasks[7], "same seed, same task"
    for task in tasks:
        assert parse_task(task).to_dict() == task, "canonical, valid task JSON"
        assert task["batchsize"] == 16 and task["noise"]["noise_level"] in [i / 10 for i in
                                                                            range(10)]
        assert all(task[f"last_channel_l{level}"] in CHANNEL_MULTIPLIERS for level in LEVELS)
    present = [task["feature"][level][name] for task in tasks for level in LEVELS
               for name in BASES]
    share = sum(block is not None for block in present) / len(present)
    assert 0.45 < share < 0.55, f"each basis present with probability 1/2, got {share:.3f}"
    assert all(block["level"] in AMPLITUDES for block in present if block)
    waves = [block for task in tasks for level in LEVELS for name in ("sin1d", "sin2d")
             if (block := task["feature"][level][name])]
    assert all(len(w["range"]) == 10 and all(0 <= f < 0.5 for f in w["range"]) for w in waves)


def test_mutation_regenerates_each_block_with_probability_0_2():
    parent = random_task(random.Random(0))
    assert mutate_task(parent, random.Random(1), probability=0.0) == parent
    changed, total = 0, 0
    for seed in range(300):
        child = mutate_task(parent, random.Random(seed))
        assert parse_task(child).to_dict() == child
        for name, block in _blocks(child).items():
            if name not in ("batchsize",):
                total += 1
                changed += block != _blocks(parent)[name]
        assert child != parent, "a child equal to its parent is drawn again"
    # a regenerated block can come out equal (absent again: 1/2 for a basis), so about 13% of
    # the blocks differ (a little more: children equal to their parent are drawn again)
    assert 0.1 < changed / total < 0.2, f"{changed / total:.3f} of the blocks changed"
    assert parent == random_task(random.Random(0)), "the parent is left unchanged"


def test_generic_gennas_scorer_is_searchable():
    scorer = GenericGenNASScorer()
    assert isinstance(scorer, SearchableScorer)
    task = scorer.random_config(random.Random(3))
    resolved = scorer.resolve_config({**scorer.defaults, "task": task})
    assert resolved["task_hash"] == parse_task(task).hash


def test_the_scorer_and_its_reference_come_from_the_plugins(tmp_path):
    registry = get_registry()
    assert default_searchable_scorer(registry) == "gennas"
    config = RunConfig(spaces=["nb101"], scorers=["gennas"], arch_list="search.json",
                       out=str(tmp_path / "run"))
    scorer, spec = check_spec(TaskSearchSpec(config), registry)
    assert spec.reference == scorer.reference_scorer == "gennas-search-n"
    kept = check_spec(TaskSearchSpec(config, reference="synflow"), registry)[1]
    assert kept.reference == "synflow"


def test_a_scorer_without_a_searchable_configuration_names_those_that_have_one(tmp_path):
    config = RunConfig(spaces=["nb101"], scorers=["synflow"], arch_list="search.json",
                       out=str(tmp_path / "run"))
    with pytest.raises(ConfigError, match="scorers that have one: gennas"):
        check_spec(TaskSearchSpec(config), get_registry())


@pytest.fixture
def nb101_sets(tmp_path, shared_data):
    """A data dir whose NB-101 table holds the GenNAS search set's first 6 cells and 4 others,
    and the search set's arch list."""
    search = json.loads((shared_data / "nb101" / "gennas_nasbench1_search_20samples.json")
                        .read_text())[:6]
    others = json.loads((shared_data / "nb101" / "gennas_zero_nasbench1_2500.json")
                        .read_text())[:4]
    (tmp_path / "table.json").write_text(json.dumps(search + others))
    (tmp_path / "search.json").write_text(json.dumps(search))
    data_dir = tmp_path / "data"
    assert main(["data", "prepare", "nb101", "--source", str(tmp_path / "table.json"),
                 "--data-dir", str(data_dir)]) == 0
    return data_dir, tmp_path / "search.json"


def _spec(tmp_path, data_dir, search_set, folder="run"):
    config = RunConfig(spaces=["nb101"], scorers=["gennas"], arch_list=str(search_set),
                       options={"gennas": {"iterations": 1, "eval_interval": 1}}, workers=0,
                       data_dir=str(data_dir), out=str(tmp_path / folder))
    return TaskSearchSpec(config, population_size=2, sample_size=1, cycles=1, held_out=3)


@pytest.mark.slow  # GenNAS on 6 + 3 NB-101 cells, 3 tasks and the reference: ~1-2 minutes
def test_task_search_end_to_end_and_resume(tmp_path, nb101_sets, one_torch_thread):
    data_dir, search_set = nb101_sets
    outcome = run_task_search(_spec(tmp_path, data_dir, search_set))
    tasks = {json.dumps(row["task"], sort_keys=True) for row in outcome.trajectory}
    assert len(outcome.trajectory) == 3 and len(tasks) == 3, "a child differs from its parent"
    assert outcome.trial_counts["ok"] == 3 * 6 + 6 + 2 * 3, "tasks x search set, reference on " \
        "the search set, task and reference on 3 held-out cells: each trial once"
    best = json.loads((tmp_path / "run" / "task-search" / "best_task.json").read_text())
    assert best == outcome.best_task and parse_task(best).to_dict() == best
    assert outcome.check["held_out"]["n_archs"] == 3
    assert set(outcome.check["held_out"]) == {"found_task", "gennas-search-n", "n_archs"}
    again = run_task_search(_spec(tmp_path, data_dir, search_set))
    assert again.trial_counts == {} and again.best_task == outcome.best_task, \
        "the same command resumes from the store: nothing is scored twice"


def test_task_search_refuses_a_scorer_without_searchable_configs(tmp_path):
    config = RunConfig(spaces=["nb201"], scorers=["synflow"], arch_list="x.txt",
                       out=str(tmp_path / "run"))
    with pytest.raises(ConfigError, match="no searchable configuration"):
        run_task_search(TaskSearchSpec(config))
    with pytest.raises(ConfigError, match="sample_size"):
        run_task_search(TaskSearchSpec(config, population_size=2, sample_size=3))
