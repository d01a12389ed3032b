"""`harness data build` through the command line, with the digits recipe's flags."""

from harness import cli
from harness.groundtruth.table import GroundTruthTable


def test_data_build_passes_width_cells_and_image_size_to_the_builder(tmp_path, capsys):
    out = tmp_path / "tiny.parquet"
    code = cli.main(["data", "build", "nb201", "--dataset", "digits", "--archs", "2",
                     "--seeds", "1", "--epochs", "1", "--width", "4", "--cells", "1",
                     "--image-size", "8", "--out", str(out), "--data-dir", str(tmp_path)])
    assert code == 0, capsys.readouterr()
    table = GroundTruthTable.load(out)
    assert len(table.frame) == 2, "two sampled archs"
    assert table.source["model_options"] == {"C": 4, "N": 1}, table.source["model_options"]
    assert table.source["image_shape"] == [3, 8, 8], "--image-size must reach the builder"


def test_data_build_refuses_a_dataset_without_whole_splits_in_one_line(tmp_path, capsys):
    """CIFAR-10 hands out raw arrays, not normalized whole splits: a clear refusal, no traceback
    (it used to be called with the digits signature and crash with a TypeError)."""
    code = cli.main(["data", "build", "nb201", "--dataset", "cifar10", "--archs", "1",
                     "--seeds", "1", "--epochs", "1", "--out", str(tmp_path / "t.parquet"),
                     "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "'cifar10' cannot be used by `harness data build`" in err and "whole_split" in err, err
    assert not (tmp_path / "t.parquet").exists()
