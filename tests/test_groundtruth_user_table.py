"""The user-table importer every space shares: ``--columns``, file reading, metric columns.

NB-201 and NB-101 name and check their own arch and metric columns; the mapping syntax, the
file formats, the missing-value markers and the accuracy scale are the same for both (and for
any new space), so a table or a ``--columns`` value is accepted or refused alike everywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.errors import BenchmarkFileError, ConfigError
from harness.groundtruth.table_checks import FRACTION, PERCENT
from harness.groundtruth.user_table import (
    is_table_file,
    parse_columns,
    read_metrics,
    read_table_file,
    require_columns,
)
from harness.plugins.spaces.nb101.cell import make_cell
from harness.plugins.spaces.nb101.prepare import build_table as nb101_table
from harness.plugins.spaces.nb201.arch import all_ops, ops_to_str
from harness.plugins.spaces.nb201.prepare import read_source as nb201_table

BAD_ITEM = "is not NAME=COLUMN or COLUMN"


def test_columns_forms_give_one_mapping():
    expected = {"hash": "module_hash", "accuracy": "accuracy"}
    assert parse_columns("hash=module_hash, accuracy") == expected
    assert parse_columns(["hash=module_hash", "accuracy"]) == expected, "the CLI's list form"
    assert parse_columns(" hash = module_hash ,, accuracy ,") == expected, "blanks are ignored"
    assert parse_columns({"hash": "module_hash", "accuracy": "accuracy"}) == expected
    assert parse_columns(None) == {}


@pytest.mark.parametrize("text", ["=x", "a=", " = ", "a=1,=b"])
def test_columns_item_with_an_empty_side_is_refused(text):
    with pytest.raises(ConfigError, match=BAD_ITEM):
        parse_columns(text)


def test_columns_name_given_twice_is_refused():
    with pytest.raises(ConfigError, match="--columns names 'acc' twice \\('a' and 'b'\\)"):
        parse_columns("acc=a,acc=b")
    with pytest.raises(ConfigError, match="names 'acc' twice"):
        parse_columns(["acc", "acc=b"])
    assert parse_columns("x=acc,y=acc") == {"x": "acc", "y": "acc"}, "one column, two names"


def test_csv_tsv_and_parquet_read_alike(tmp_path):
    frame = pd.DataFrame({"arch": ["a", "b", "c"], "acc": [91.5, np.nan, 90.25]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    for name in ("t.csv", "t.tsv", "t.parquet"):
        assert is_table_file(tmp_path / name.upper())
        read = read_table_file(tmp_path / name)
        assert list(read.columns) == ["arch", "acc"], name
        values = read_metrics(read, {"accuracy": "acc"}, tmp_path / name).values["accuracy"]
        np.testing.assert_array_equal(values, [91.5, np.nan, 90.25], err_msg=name)
    assert not is_table_file(tmp_path / "t.json")


def test_csv_cells_stay_text_so_only_the_known_markers_mean_missing(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("arch,acc\na,NA\nb,\nc,0.5\nd,#N/A\n")
    read = read_table_file(path)
    assert read["acc"].tolist() == ["NA", "", "0.5", "#N/A"], "pandas' own NA list is not used"
    with pytest.raises(BenchmarkFileError, match="data row 4: '#N/A' is not a number"):
        read_metrics(read, {"acc": "acc"}, path)


def test_unreadable_and_absent_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(BenchmarkFileError, match="empty.csv is not a readable table"):
        read_table_file(tmp_path / "empty.csv")
    with pytest.raises(BenchmarkFileError, match="gone.tsv does not exist"):
        read_table_file(tmp_path / "gone.tsv")


def test_missing_columns_are_listed_with_the_files_columns():
    frame = pd.DataFrame({"arch": ["a"], "acc": ["1"]})
    require_columns(frame, ["arch", "acc"], "t.csv")
    with pytest.raises(BenchmarkFileError) as caught:
        require_columns(frame, ["acc", "val", "val"], "t.csv")
    assert str(caught.value) == "t.csv has no column(s) ['val']; its columns are ['arch', 'acc']"


@pytest.mark.parametrize("cells, scale, allowed", [
    ((["91", "", "88.5"], ["90", "89", "nan"]), "percent", PERCENT),
    ((["0.91", "", "0.885"], ["0.9", "1", "nan"]), "fraction", FRACTION),
])
def test_accuracy_scale_is_detected_for_all_columns(cells, scale, allowed):
    frame = pd.DataFrame({"a": cells[0], "b": cells[1]})
    metrics = read_metrics(frame, {"valid": "a", "test": "b"}, "t.csv")
    assert metrics.scale == scale
    assert metrics.ranges() == {"valid": allowed, "test": allowed}
    assert metrics.meaning() == f"accuracy as {scale}"
    assert np.isnan(metrics.values["valid"][1]) and metrics.values["test"][1] == float(cells[1][1])


def test_metrics_that_are_not_accuracies_have_no_scale():
    frame = pd.DataFrame({"loss": ["250", "-3.5"]})
    metrics = read_metrics(frame, {"loss": "loss"}, "t.csv", accuracies=False)
    assert (metrics.scale, metrics.ranges(), metrics.meaning()) == (None, {}, "lower is better")
    with pytest.raises(BenchmarkFileError, match="accuracies must be percent"):
        read_metrics(frame, {"loss": "loss"}, "t.csv")


@pytest.mark.parametrize("cells, fragment", [
    ((["0.5", "0.6"], ["55", "60"]), "mix scales"),
    ((["0.5", "0.6"], ["", "NA"]), "metric column 'b' has no numbers"),
    ((["0.5", "high"], ["0.5", "0.6"]), "column 'a', data row 2: 'high' is not a number"),
])
def test_bad_metric_columns_are_refused(cells, fragment):
    frame = pd.DataFrame({"a": cells[0], "b": cells[1]})
    with pytest.raises(BenchmarkFileError, match=fragment):
        read_metrics(frame, {"x": "a", "y": "b"}, "t.csv")


def _nb201_file(tmp_path, values):
    path = tmp_path / "nb201.csv"
    archs = [ops_to_str(ops) for ops in list(all_ops())[:len(values)]]
    pd.DataFrame({"arch_str": archs, "acc": values}).to_csv(path, index=False)
    return path


def _nb101_file(tmp_path, values, suffix=".csv"):
    path = tmp_path / f"nb101{suffix}"
    cells = [make_cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", op, "output"])
             for op in ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")][:len(values)]
    frame = pd.DataFrame({"adjacency": [c.adjacency_string for c in cells],
                          "operations": [c.operations_string for c in cells], "acc": values})
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, sep="\t" if suffix == ".tsv" else ",", index=False)
    return path


@pytest.mark.parametrize("columns", ["acc=", "=acc", "cifar10/ori-test=acc,cifar10/ori-test=b"])
def test_both_spaces_refuse_a_bad_columns_value_with_one_message(tmp_path, columns):
    messages = []
    for read in (lambda: nb201_table(_nb201_file(tmp_path, [50.0]), columns=columns),
                 lambda: nb101_table(_nb101_file(tmp_path, [0.5]), columns=columns)):
        with pytest.raises(ConfigError) as caught:
            read()
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


def test_both_spaces_refuse_an_all_missing_accuracy_column(tmp_path):
    with pytest.raises(BenchmarkFileError, match="metric column 'acc' has no numbers"):
        nb201_table(_nb201_file(tmp_path, [np.nan, np.nan]), columns="cifar10/ori-test=acc")
    with pytest.raises(BenchmarkFileError, match="metric column 'acc' has no numbers"):
        nb101_table(_nb101_file(tmp_path, [np.nan, np.nan]), columns="acc")


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_nb101_reads_every_table_format(tmp_path, suffix):
    table = nb101_table(_nb101_file(tmp_path, [91.0, 90.5, 10.0], suffix))
    assert table.frame["acc"].tolist() == [91.0, 90.5, 10.0]
    assert table.source["accuracy_scale"] == "percent"
    assert "accuracy as percent" in table.metric("acc").description
