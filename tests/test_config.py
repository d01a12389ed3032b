"""The run configuration: seed ranges and the run folder named after the selection."""

import pytest

from harness.config import RunConfig, parse_seeds
from harness.errors import ConfigError


def test_seed_ranges():
    assert parse_seeds("0-2") == [0, 1, 2]
    assert parse_seeds("0,5,7-8") == [0, 5, 7, 8]
    with pytest.raises(ConfigError, match="runs backwards"):
        parse_seeds("3-1")


def test_default_run_folder_is_named_after_the_selection(tmp_path):
    one = RunConfig(scorers=["a"], workers=1)
    assert one.run_dir() == RunConfig(scorers=["a"], workers=4).run_dir()
    assert one.run_dir() != RunConfig(scorers=["b"]).run_dir()
