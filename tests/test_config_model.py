"""The run configuration as a pydantic model: types and ranges checked, hashes unchanged.

A run folder's name and its ``run.json`` come from ``RunConfig``; the model that replaced the
dataclass must name existing runs' folders exactly as before (or they would not resume).
"""

import json

import pytest

from harness.config import RunConfig
from harness.errors import ConfigError
from harness.runfolder import read_run_config

# Hashes the dataclass version of RunConfig gave (commit 9fb8050), for a default and a busy
# selection: a changed hash would start every existing run from scratch in a new folder.
PINNED_HASHES = [
    ({}, "790cdba4f0e5"),
    ({"spaces": ["nb201"], "samples": None, "seeds": [0, 1, 2], "datasets": ["cifar10"],
      "options": {"naswot": {"batch_size": 64, "inputs": {"split": "train"}}},
      "images": "x.png", "data_dir": "/d", "arch_list": "a.txt", "weight_inits": ["kaiming"],
      "trial_timeout_s": 3, "out": "o"}, "8292a07cb8f0"),
]


@pytest.mark.parametrize(("values", "expected"), PINNED_HASHES)
def test_selection_hash_is_the_one_the_dataclass_gave(values, expected):
    assert RunConfig(**values).selection_hash() == expected


@pytest.mark.parametrize(("values", "message"), [
    ({"workers": -1}, "--workers -1: give 0"),
    ({"samples": 0}, "--samples 0: give a number of archs"),
    ({"samples": "3"}, "--samples '3'"),
    ({"trial_timeout_s": float("nan")}, "--trial-timeout nan: give a positive number"),
    ({"trial_timeout_s": -2.0}, "--trial-timeout -2.0"),
    ({"seeds": []}, "--seeds: needs at least 1"),
    ({"workers": True}, "--workers True"),
    ({"spaces": "nb201"}, "--spaces 'nb201': expects a JSON list"),
    ({"options": {"naswot": 3}}, "--option: expects a JSON object"),
    ({"bogus": 1}, "unknown run configuration key 'bogus'"),
])
def test_a_refused_value_is_one_config_error_naming_the_flag(values, message):
    with pytest.raises(ConfigError) as caught:
        RunConfig(**values)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value), "pydantic's report must not reach the user"


def test_setting_a_field_is_checked_too():
    config = RunConfig()
    with pytest.raises(ConfigError, match="--workers -2"):
        config.workers = -2
    assert config.workers == 1, "a refused value leaves the field as it was"


def test_run_json_round_trips_and_an_old_one_without_new_fields_loads(tmp_path):
    config = RunConfig(spaces=["toy"], samples=None, seeds=[0, 1], trial_timeout_s=2)
    document = {"config": config.to_dict()}
    (tmp_path / "run.json").write_text(json.dumps(document))
    assert read_run_config(tmp_path) == config
    old = {k: v for k, v in config.to_dict().items() if k not in ("retry_failed", "data_dir")}
    (tmp_path / "run.json").write_text(json.dumps({"config": old}))
    assert read_run_config(tmp_path).selection_hash() == config.selection_hash()


def test_a_run_json_with_a_bad_value_is_one_line(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"config": {"workers": -3}}))
    with pytest.raises(ConfigError, match="--workers -3"):
        read_run_config(tmp_path)
