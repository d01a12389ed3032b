"""The nb101 space plugin: registration, ground truth, arch ids, builder options, mutation."""

import json
import random

import pytest
import torch

from harness.errors import ConfigError, DataNotPreparedError
from harness.plugins.spaces.nb101.model import NB101Network
from harness.plugins.spaces.nb101.space import NB101Space
from harness.protocols import Space


@pytest.fixture
def prepared(tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "elsewhere"))
    space = NB101Space()
    space.prepare(shared_data / "nb101" / "naslib_nb101_dummy30.json", tmp_path)
    return space, space.ground_truth(tmp_path)


def test_registered_through_the_entry_point(fresh_registry):
    space = fresh_registry.get("space", "nb101")
    assert isinstance(space, Space) and space.datasets == {"cifar10": "cifar10"}


def test_missing_table_names_the_prepare_command(tmp_path):
    with pytest.raises(DataNotPreparedError, match="harness data prepare nb101"):
        NB101Space().ground_truth(tmp_path)


def test_hash_ids_and_encodings(prepared, shared_data):
    space, table = prepared
    record = json.loads((shared_data / "nb101" / "naslib_nb101_dummy30.json").read_text())[3]
    assert space.parse_arch(record["module_hash"]) == record["module_hash"]
    text = json.dumps({"matrix": record["module_adjacency"], "ops": record["module_operations"]})
    assert space.parse_arch(text) == record["module_hash"]
    with pytest.raises(ConfigError, match="not in the prepared table"):
        space.parse_arch("0" * 32)


def test_a_fresh_space_finds_cells_through_the_data_dir(prepared, tmp_path, monkeypatch):
    _, table = prepared
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path))  # e.g. a worker process
    arch = table.frame.index[0]
    assert NB101Space().cell(arch).module_hash() == arch


def test_a_trial_tells_workers_where_cells_are(prepared, tmp_path):
    _, table = prepared
    fresh = NB101Space()  # a worker process: HARNESS_DATA_DIR points elsewhere
    assert fresh.builds_from_data_dir  # so a trial passes its run's data dir to the builder
    model = fresh.build_model(table.frame.index[1], num_classes=10, stem_channels=4,
                              data_dir=tmp_path)
    assert isinstance(model, NB101Network)


def test_build_model_options_and_taps(prepared):
    space, table = prepared
    arch = table.frame.index[0]
    model = space.build_model(arch, num_classes=1, stem_channels=16, batchnorm=False)
    assert isinstance(model, NB101Network)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    taps = space.forward_taps(model, torch.randn(2, 3, 32, 32))
    assert [t.shape[1:] for t in taps] == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]
    with pytest.raises(TypeError):
        space.build_model(arch, num_classes=10, C=16)
    with pytest.raises(ConfigError, match="nb101 space"):
        space.forward_taps(torch.nn.Linear(2, 2), torch.randn(1, 2))
    assert space.builder_options(16, None) == {"stem_channels": 16}


def test_mutants_are_buildable(prepared):
    space, table = prepared
    rng = random.Random(0)
    arch = table.frame.index[0]
    for _ in range(5):
        arch = space.mutate(arch, rng)
        assert space.parse_arch(arch) == arch
    assert isinstance(space.build_model(arch, num_classes=10, stem_channels=4), NB101Network)


def test_arch_list_of_gennas_500(shared_data):
    space = NB101Space()
    ids = space.read_arch_list(shared_data / "nb101" / "gennas_nasbench1_500_fb.json")
    assert len(ids) == 500 and len(set(ids)) == 500, "the 500 GenNAS cells are distinct"
