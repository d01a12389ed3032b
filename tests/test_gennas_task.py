"""GenNAS task schema: the shipped tasks parse and round-trip; bad tasks name the bad field."""

import copy
import json
from importlib.resources import files

import pytest

from harness.errors import ConfigError
from harness.plugins.scorers.gennas.plugin import TASK_NAMES, named_task
from harness.plugins.scorers.gennas.task import load_task, parse_task


def _task_text(name: str) -> str:
    return files("harness.plugins.scorers.gennas").joinpath("tasks", f"{name}.json").read_text()


@pytest.mark.parametrize("name", TASK_NAMES)
def test_shipped_task_round_trips_to_identical_json(name):
    text = _task_text(name)
    task = parse_task(json.loads(text))
    assert task.to_json() + "\n" == text, (
        "canonical form must reproduce the shipped file byte for byte")
    assert parse_task(task.to_dict()) == task


def test_search_n_matches_spec_shapes():
    task = named_task("gennas-search-n")
    assert task.channels == (64, 48, 16), "int(m * 64) for m = 1.0, 0.75, 0.25 (GenNAS CONF_NB101)"
    assert task.noise.type == "uniform" and task.noise.noise_level == 0.1
    assert task.features[0].sin2d.level == 1.0999999999999999, "float artefacts kept exactly"
    dot_gaussian = task.features[2].dot_gaussian
    assert dot_gaussian.partial == 0.4375 and not dot_gaussian.local
    assert task.loss_weights == (0.25, 0.5, 1.0) and task.scored_weights == (0.25, 0.5, 1.0)


def test_channel_counts_of_all_shipped_tasks():
    assert [named_task(n).channels for n in TASK_NAMES] == [
        (64, 64, 64), (64, 48, 16), (80, 32, 80), (16, 16, 32), (64, 64, 64)]


def test_single_is_marked_unconfirmed():
    assert "NOT CONFIRMED" in named_task("gennas-single").description


def test_hashes_differ_between_tasks_and_ignore_description():
    hashes = {named_task(n).hash for n in TASK_NAMES}
    assert len(hashes) == len(TASK_NAMES)
    obj = json.loads(_task_text("gennas-combo"))
    obj["description"] = "another text"
    assert parse_task(obj).hash == named_task("gennas-combo").hash, "description: no signal content"
    obj["noise"]["noise_level"] = 0.1
    assert parse_task(obj).hash != named_task("gennas-combo").hash


def test_absent_basis_keys_mean_null_and_canonical_form_adds_them():
    obj = json.loads(_task_text("gennas-search-d"))
    del obj["feature"]["0"]["sin1d"]
    task = parse_task(obj)
    assert task == named_task("gennas-search-d"), "an absent basis parses like an explicit null"
    assert task.to_dict()["feature"]["0"]["sin1d"] is None


def test_optional_weights_round_trip():
    obj = json.loads(_task_text("gennas-search-r"))
    obj["train_weights"] = [0.0, 0.5, 1.0]
    obj["eval_weights"] = [1.0, 1.0, 1.0]
    task = parse_task(obj)
    assert task.loss_weights == (0.0, 0.5, 1.0) and task.scored_weights == (1.0, 1.0, 1.0)
    assert json.loads(task.to_json()) == obj


def _mutated(path, value, *, delete=False):
    obj = json.loads(_task_text("gennas-combo"))
    node = obj
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return obj


@pytest.mark.parametrize("path, value, message", [
    (("noise", "type"), "laplace", "noise.type: must be one of uniform, gaussian"),
    (("noise", "noise_level"), -0.1, "noise.noise_level: must be in [0.0"),
    (("last_channel_l1",), "1.0", "last_channel_l1: must be a finite number"),
    (("feature", "0", "sin1d", "range"), [0.1] * 9, "feature.0.sin1d.range: must be a list of 10"),
    (("feature", "0", "sin2d", "range"), [0.5] * 10,
     "feature.0.sin2d.range[0]: must be in [0.0, 0.5)"),
    (("feature", "0", "dot", "partial"), 1.5, "feature.0.dot.partial: must be in [0.0, 1.0]"),
    (("feature", "2", "dot", "local"), 1, "feature.2.dot.local: must be true or false"),
    (("feature", "1", "resize"), {"level": 1.0, "local": True},
     "feature.1.resize: unknown key(s) 'local'"),
    (("feature", "1", "blur"), None,
     "feature.1: unknown key(s) 'blur'; allowed: sin1d, sin2d, dot"),
    (("feature", "3"), {}, "feature: unknown key(s) '3'"),
    (("colour",), "red", "task: unknown key(s) 'colour'; allowed: description, batchsize"),
    (("batchsize",), 0, "batchsize: must be a positive integer"),
    (("eval_weights",), [1, 1], "eval_weights: must be a list of 3"),
])
def test_bad_task_names_the_field_and_the_allowed_values(path, value, message):
    with pytest.raises(ConfigError) as error:
        parse_task(_mutated(path, value))
    assert message in str(error.value)


def test_missing_required_key_is_named():
    with pytest.raises(ConfigError, match="task: missing key\\(s\\) 'noise'"):
        parse_task(_mutated(("noise",), None, delete=True))
    with pytest.raises(ConfigError, match="feature: missing key\\(s\\) '2'"):
        parse_task(_mutated(("feature", "2"), None, delete=True))
    with pytest.raises(ConfigError, match="feature.0.dot: missing key\\(s\\) 'partial'"):
        parse_task(_mutated(("feature", "0", "dot", "partial"), None, delete=True))


def test_load_task_names_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json is not valid JSON"):
        load_task(bad)
    wrong = tmp_path / "wrong.json"
    obj = copy.deepcopy(_mutated(("noise", "type"), "pink"))
    wrong.write_text(json.dumps(obj))
    with pytest.raises(ConfigError, match="wrong.json: GenNAS task: noise.type"):
        load_task(wrong)
    with pytest.raises(ConfigError, match="cannot be read"):
        load_task(tmp_path / "absent.json")
