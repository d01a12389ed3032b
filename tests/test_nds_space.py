"""The NDS spaces: arch ids, builders and taps, mutation, family selection, a compare run."""

from __future__ import annotations

import json
import random

import pytest
import torch
from nds_fixtures import real_records, write_sweep

from harness.cli import main
from harness.errors import ConfigError, UnknownPluginError
from harness.plugins.spaces.nds.prepare import prepare
from harness.plugins.spaces.nds.space import NDSSpace
from harness.protocols import MutableSpace, Space, TappedSpace
from harness.selection import space_names
from harness.store import TrialStore

FILES = {"DARTS_in.json": "nds-darts", "ResNeXt-A_in.json": "nds-resnext-a",
         "Vanilla_reruns.json": "nds-vanilla"}


@pytest.fixture
def prepared(shared_data, tmp_path):
    """A data dir with the first records of three real sweeps prepared."""
    source = tmp_path / "source"
    for name in FILES:
        records = real_records(shared_data, name, 6)
        if name.endswith("reruns.json"):  # keep the {top, mid} layout
            records = {"top": records[:3], "mid": real_records(shared_data, name, 200)[100:103]}
        write_sweep(source, name, records)
    data_dir = tmp_path / "data"
    for space in set(FILES.values()):
        prepare(source, data_dir, space)
    return data_dir


def test_spaces_satisfy_their_protocols(fresh_registry):
    space = fresh_registry.get("space", "nds-darts")
    assert isinstance(space, Space) and isinstance(space, TappedSpace)
    assert isinstance(space, MutableSpace)
    assert space.datasets["imagenet"] == "cifar10"


def test_arch_ids_and_raw_net_json(prepared, shared_data):
    space = NDSSpace("nds-darts")
    table = space.ground_truth(prepared)
    first = str(table.frame.index[0])
    assert first.startswith("in-0-") and len(first.split("-")[-1]) == 8
    assert space.parse_arch(f" {first} ", data_dir=prepared) == first
    net = real_records(shared_data, "DARTS_in.json", 1)[0]["net"]
    assert space.parse_arch(net, data_dir=prepared) == first
    assert space.parse_arch(json.dumps(net, indent=2), data_dir=prepared) == first
    with pytest.raises(ConfigError, match="not an nds-darts arch id"):
        space.parse_arch("in-999-deadbeef", data_dir=prepared)
    with pytest.raises(ConfigError, match="not valid net JSON"):
        space.parse_arch("{width: 3", data_dir=prepared)
    with pytest.raises(ConfigError, match="no prepared nds-darts record"):
        space.parse_arch({**net, "width": 7}, data_dir=prepared)


def test_builders_match_params_and_give_gennas_taps(prepared, one_torch_thread):
    inputs = torch.randn(2, 3, 32, 32)
    for name in ("nds-darts", "nds-resnext-a"):
        space = NDSSpace(name)
        table = space.ground_truth(prepared)
        arch = str(table.frame.index[0])
        model = space.build_model(arch, num_classes=1000, data_dir=prepared)
        assert sum(p.numel() for p in model.parameters()) == table.frame.at[arch, "params"]
        gennas = space.build_model(arch, num_classes=10, variant="gennas", data_dir=prepared)
        taps = space.forward_taps(gennas, inputs)
        assert [tap.shape[-1] for tap in taps] == [32, 16, 8]
        assert gennas(inputs).shape == (2, 10)
        naswot = space.build_model(arch, num_classes=1, variant="naswot", data_dir=prepared)
        assert torch.isfinite(naswot(inputs)).all()
        with pytest.raises(ConfigError, match="network=gennas"):
            space.forward_taps(model, inputs)
    with pytest.raises(ConfigError, match="unknown nds-darts builder variant"):
        NDSSpace("nds-darts").build_model(arch, num_classes=1, variant="x", data_dir=prepared)


def test_az_nas_form_taps_the_stem_and_every_cell_or_block(prepared, one_torch_thread):
    """AZ-NAS's form is the trained network with block taps: the same logits, one map per cell
    (DARTS) or block (ResNeXt) after the stem's, at any variant."""
    inputs = torch.randn(2, 3, 32, 32)
    for name in ("nds-darts", "nds-resnext-a"):
        space = NDSSpace(name)
        arch = str(space.ground_truth(prepared).frame.index[0])
        form = space.network_forms["az_nas"]
        tapped = space.build_model(arch, num_classes=10, data_dir=prepared, **form)
        plain = space.build_model(arch, num_classes=10, data_dir=prepared)
        plain.load_state_dict(tapped.state_dict())
        taps = space.forward_taps(tapped, inputs)
        blocks = (tapped.cells if name == "nds-darts"
                  else [block for stage in tapped.stages for block in stage])
        assert len(taps) == 1 + len(blocks)
        torch.testing.assert_close(tapped(inputs), plain(inputs), rtol=0, atol=0)
    with pytest.raises(ConfigError, match="unknown NDS taps"):
        space.build_model(arch, num_classes=1, taps="cells", data_dir=prepared)


def test_new_proxies_on_imagenet_records_score_or_skip_with_the_reason(prepared, tmp_path):
    """AZ-NAS scores the ImageNet records through its form; MeCo's single image reaches a 1x1
    map under a training-mode BatchNorm there, so its trials are skipped, saying why and how
    to score them, and with ``--option meco.network=gennas`` they score."""
    run = tmp_path / "run"
    code = main(["compare", "--spaces", "nds-darts", "--datasets", "imagenet", "--samples", "2",
                 "--scorers", "az_expressivity,meco", "--data-dir", str(prepared),
                 "--out", str(run), "--workers", "0"])
    assert code == 0
    with TrialStore.for_run(run) as store:
        trials = store.trials_frame()
    assert sorted(zip(trials["scorer"], trials["status"], strict=True)) == [
        ("az_expressivity", "ok"), ("az_expressivity", "ok"), ("meco", "skipped"),
        ("meco", "skipped")]
    message = trials.loc[trials["scorer"] == "meco", "message"].iloc[0]
    assert "one value per channel" in message and "--option meco.network=FORM" in message
    code = main(["compare", "--spaces", "nds-darts", "--datasets", "imagenet", "--samples", "2",
                 "--scorers", "meco", "--option", "meco.network=gennas", "--data-dir",
                 str(prepared), "--out", str(tmp_path / "gennas"), "--workers", "0"])
    assert code == 0
    with TrialStore.for_run(tmp_path / "gennas") as store:
        assert list(store.trials_frame()["status"]) == ["ok", "ok"]


def test_an_imagenet_anynet_record_reads_its_inputs_at_the_side_it_is_given(prepared,
                                                                           one_torch_thread):
    """NASWOT's form reads the ImageNet records at 224x224 (resized bilinearly, as an image of
    that side would be); a CIFAR-10 record, or no side, keeps the 32x32 input as it is."""
    inputs = torch.randn(2, 3, 32, 32)

    def stem_input(space: NDSSpace, arch: str, side: int | None) -> torch.Tensor:
        model = space.build_model(arch, num_classes=1, variant="naswot", data_dir=prepared,
                                  imagenet_input_side=side)
        seen = []
        model.stem.register_forward_hook(lambda module, args, out: seen.append(args[0]))
        model(inputs)
        return seen[0]

    resnext, vanilla = NDSSpace("nds-resnext-a"), NDSSpace("nds-vanilla")
    imagenet = str(resnext.ground_truth(prepared).frame.index[0])
    cifar = str(vanilla.ground_truth(prepared).frame.index[0])
    assert (resnext.record_dataset(imagenet), vanilla.record_dataset(cifar)) == ("imagenet",
                                                                                 "cifar10")
    resized = torch.nn.functional.interpolate(inputs, size=(224, 224), mode="bilinear",
                                              align_corners=False)
    assert torch.equal(stem_input(resnext, imagenet, 224), resized)
    assert torch.equal(stem_input(resnext, imagenet, None), inputs)
    assert torch.equal(stem_input(vanilla, cifar, 224), inputs), "a CIFAR-10 record: as is"


def test_pycls_init_draws_each_layer_as_pycls_anynet_does(prepared, one_torch_thread):
    """``init="pycls"``: convolutions N(0, 2 / (k * k * C_out)) whatever their groups, BN 1 and
    0, the classifier N(0, 0.01^2) and 0; the default keeps torch's draw (older trials' keys);
    a cell space refuses it, naming the space."""
    resnext = NDSSpace("nds-resnext-a")
    arch = str(resnext.ground_truth(prepared).frame.index[0])
    torch.manual_seed(0)
    model = resnext.build_model(arch, num_classes=1000, variant="gennas", data_dir=prepared,
                                init="pycls")
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert any(conv.groups > 1 for conv in convs)
    for conv in convs:
        expected = (2.0 / (conv.kernel_size[0] * conv.kernel_size[1] * conv.out_channels)) ** 0.5
        if conv.weight.numel() >= 4096:  # enough draws for a 5 % check of the spread
            assert conv.weight.std().item() == pytest.approx(expected, rel=0.05)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(torch.all(m.weight == 1) and torch.all(m.bias == 0) for m in norms)
    assert model.head.weight.std().item() == pytest.approx(0.01, rel=0.05)
    assert torch.all(model.head.bias == 0)
    torch.manual_seed(0)
    default = resnext.build_model(arch, num_classes=1000, variant="gennas", data_dir=prepared)
    assert default.head.weight.std().item() > 0.02, "torch's Linear draw, not pycls's"
    darts = NDSSpace("nds-darts")
    with pytest.raises(ConfigError, match="nds-darts is a cell space"):
        darts.build_model(str(darts.ground_truth(prepared).frame.index[0]), num_classes=1,
                          data_dir=prepared, init="pycls")
    with pytest.raises(ConfigError, match="unknown nds-resnext-a init 'he'"):
        resnext.build_model(arch, num_classes=1, data_dir=prepared, init="he")


def test_mutation_stays_in_the_sweep(prepared):
    space = NDSSpace("nds-vanilla")
    frame = space.ground_truth(prepared).frame
    rerun = str(frame.index[0])
    neighbour = space.mutate(rerun, random.Random(0))
    assert frame.at[neighbour, "sweep"] == "Vanilla_reruns.json"
    assert frame.at[neighbour, "net"] != frame.at[rerun, "net"]
    darts = NDSSpace("nds-darts")
    arch = str(darts.ground_truth(prepared).frame.index[2])
    assert darts.mutate(arch, random.Random(1)) == darts.mutate(arch, random.Random(1))


def test_family_and_glob_selection(fresh_registry):
    family = space_names(["nds"], fresh_registry)
    assert len(family) == 12 and all(name.startswith("nds-") for name in family)
    assert space_names(["nds-resnext-*", "nds-darts"], fresh_registry) == [
        "nds-resnext-a", "nds-resnext-b", "nds-darts"]
    assert space_names(["nb201"], fresh_registry) == ["nb201"]
    with pytest.raises(UnknownPluginError, match="nds-dart"):
        space_names(["nds-dart"], fresh_registry)


@pytest.mark.slow
def test_compare_params_on_the_family(prepared, tmp_path, capsys):
    code = main(["compare", "--spaces", "nds", "--datasets", "imagenet", "--scorers",
                 "params", "--data-dir", str(prepared), "--out", str(tmp_path / "run"),
                 "--workers", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "nds-darts" in out and "nds-resnext-a" in out


def test_paper_report_knows_the_nds_cells():
    from harness.reports.reference import paper_metrics, references

    cells = {(ref.space, ref.dataset, ref.scorer, ref.statistic): ref for ref in references()}
    darts = cells[("nds-darts", "imagenet", "naswot", "abs_kendall")]
    assert darts.value == 0.49 and darts.n_archs == 121 and darts.columns == ["imagenet/top1"]
    assert cells[("nds-resnext-b", "imagenet", "gennas-search-r", "retrieval@10")].value == 0.64
    assert paper_metrics("nds-darts", "imagenet",
                         {"imagenet/top1", "imagenet/best-top1"}) == ["imagenet/top1"]
