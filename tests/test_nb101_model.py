"""The NB101 network: benchmark parameter counts, vertex widths, taps, the BN-free variant."""

import json

import pytest
import torch

from harness.errors import ConfigError
from harness.plugins.spaces.nb101.cell import make_cell
from harness.plugins.spaces.nb101.model import NB101Network, vertex_channels

C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"


def _trainable(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_parameter_counts_match_the_benchmark(shared_data):
    records = json.loads((shared_data / "nb101" / "naslib_nb101_dummy30.json").read_text())
    counted, expected = [], []
    with torch.device("meta"):  # shapes only: no memory, no init cost
        for record in records:
            cell = make_cell(record["module_adjacency"], record["module_operations"])
            counted.append(_trainable(NB101Network(cell, stem_channels=128)))
            expected.append(record["trainable_parameters"])
    assert counted == expected, "stem-128 network must have the benchmark's trainable_parameters"


def test_vertex_channels_split_and_propagate():
    # vertices 1, 2, 4 feed the output: 13 = 5 + 4 + 4 (the first gets the remainder);
    # vertex 3 feeds only vertex 4 and takes its width
    matrix = ((0, 1, 1, 1, 0, 0),
              (0, 0, 0, 0, 0, 1),
              (0, 0, 0, 0, 0, 1),
              (0, 0, 0, 0, 1, 0),
              (0, 0, 0, 0, 0, 1),
              (0, 0, 0, 0, 0, 0))
    assert vertex_channels(8, 13, matrix) == [8, 5, 4, 4, 4, 13]


def test_taps_and_logits_shapes_at_stem_16():
    cell = make_cell([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
                     ["input", C3, MP, "output"])
    model = NB101Network(cell, num_classes=7, stem_channels=16)
    x = torch.randn(2, 3, 32, 32)
    assert [tuple(t.shape) for t in model.forward_taps(x)] == [
        (2, 16, 32, 32), (2, 32, 16, 16), (2, 64, 8, 8)]
    assert tuple(model(x).shape) == (2, 7)


def test_az_nas_block_taps_are_the_stem_and_every_cell():
    cell = make_cell([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
                     ["input", C3, MP, "output"])
    tapped = NB101Network(cell, num_classes=7, stem_channels=16, taps="blocks")
    plain = NB101Network(cell, num_classes=7, stem_channels=16)
    plain.load_state_dict(tapped.state_dict())
    x = torch.randn(2, 3, 32, 32)
    assert [tuple(t.shape[1:]) for t in tapped.forward_taps(x)] == [
        (16, 32, 32), *[(16, 32, 32)] * 3, *[(32, 16, 16)] * 3, *[(64, 8, 8)] * 3]
    torch.testing.assert_close(tapped(x), plain(x), rtol=0, atol=0)
    with pytest.raises(ConfigError, match="unknown nb101 taps"):
        NB101Network(cell, taps="cells")


@pytest.mark.parametrize("matrix, ops", [
    ([[0, 1], [0, 0]], ["input", "output"]),  # output = projection of the input only
    ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", C1, "output"]),  # concat + input projection
])
def test_degenerate_cells_run(matrix, ops):
    model = NB101Network(make_cell(matrix, ops), stem_channels=4)
    assert tuple(model(torch.randn(1, 3, 8, 8)).shape) == (1, 10)


def test_batchnorm_free_variant_has_no_bn():
    cell = make_cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", C3, "output"])
    model = NB101Network(cell, stem_channels=4, batchnorm=False)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    with_bn = NB101Network(cell, stem_channels=4)
    n_bn = sum(m.weight.numel() + m.bias.numel() for m in with_bn.modules()
               if isinstance(m, torch.nn.BatchNorm2d))
    assert _trainable(with_bn) - _trainable(model) == n_bn
