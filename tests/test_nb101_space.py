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


def _batchnorm_momenta(model):
    return {m.momentum for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)}


def test_gennas_form_uses_pytorch_batchnorm_momentum_and_the_benchmark_tensorflows(prepared):
    """GenNAS's code builds NB-101 with PyTorch's BN momentum 0.1; the benchmark trained with
    TensorFlow's decay 0.997 (momentum 0.003), which every other form keeps."""
    from scorer_helpers import network_options

    from harness.plugins.scorers.gennas.plugin import named_task
    from harness.plugins.scorers.gennas.scorer import GenNASScorer
    from harness.plugins.scorers.naswot import Naswot

    space, table = prepared
    arch = table.frame.index[0]
    options = network_options(GenNASScorer("gennas-search-n", named_task("gennas-search-n")),
                              space)
    assert options == {"stem_channels": 16, "bn_momentum": 0.1}
    assert _batchnorm_momenta(space.build_model(arch, num_classes=10, **options)) == {0.1}
    naswot = space.build_model(arch, num_classes=10, **network_options(Naswot(), space))
    benchmark = space.build_model(arch, num_classes=10)
    assert _batchnorm_momenta(naswot) == _batchnorm_momenta(benchmark) == {1 - 0.997}


@pytest.mark.slow
def test_gennas_eval_losses_stay_at_the_training_losses_scale_on_its_nb101_form(
        prepared, one_torch_thread):
    """After GenNAS's 100 steps the eval-mode loss reads the running statistics: with the
    benchmark's momentum they have barely moved and the loss blows up (here 1e3-1e9 on a stem
    of 4); with GenNAS's 0.1 it stays near the training loss (about 4)."""
    import harness

    space, table = prepared
    arch = table.frame.index[0]
    inputs = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    losses = {}
    for momentum in (0.1, 0.003):
        torch.manual_seed(0)  # the same weights whatever ran before (seeds 0-5 all hold)
        model = space.build_model(arch, num_classes=10, stem_channels=4, bn_momentum=momentum)
        losses[momentum] = -harness.score(model, "gennas-search-n", inputs=inputs,
                                          targets=torch.zeros(16, dtype=torch.long))
    assert losses[0.1] < 20 < 1000 < losses[0.003]
