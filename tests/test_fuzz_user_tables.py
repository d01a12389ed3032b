"""User tables (both spaces) refuse bad values through ``harness data prepare``.

Accuracies must be numbers or explicit NaN, all in one scale (percent in [0, 100] or fractions
in [0, 1], recorded in the table's source); ``inf``, 1e300, -55, text, a header-only or empty
file are refused: one line, exit 2, nothing written. A CSV has no record count or checksum, so
a file cut at a row boundary is a smaller valid table; a cut inside a row must be refused or
give a validated table, never a traceback.
"""

from __future__ import annotations

import pandas as pd
import pytest
from fuzz_helpers import assert_refused, positions, prepare, refused_or_accepted

from harness.groundtruth.table import GroundTruthTable, prepared_table_path
from harness.plugins.spaces.nb101.cell import make_cell
from harness.plugins.spaces.nb201.arch import all_ops, ops_to_str

NB201_ARCHS = [ops_to_str(ops) for ops in list(all_ops())[:4]]


def _nb201_csv(path, valid=("55.5", "60", "nan", "71.25"), test=("50", "52.5", "", "70")):
    pd.DataFrame({"arch_str": NB201_ARCHS, "cifar10-valid/x-valid": list(valid),
                  "cifar100/x-test": list(test), "params_m/cifar10": ["0.5", "1", "1.5", "2"]}
                 ).to_csv(path, index=False)
    return path


@pytest.fixture
def nb101_rows(shared_data):
    import json

    records = json.loads((shared_data / "nb101" / "naslib_nb101_dummy30.json").read_text())[:4]
    cells = [make_cell(r["module_adjacency"], r["module_operations"]) for r in records]
    return pd.DataFrame({"module_hash": [r["module_hash"] for r in records],
                         "adjacency": [c.adjacency_string for c in cells],
                         "operations": [c.operations_string for c in cells],
                         "val_acc": ["0.91", "0.9", "NaN", "0.85"]})


def test_nb201_scales_are_detected_and_recorded(tmp_path, capsys):
    source = _nb201_csv(tmp_path / "t.csv")
    code, err = prepare(capsys, "nb201", source, tmp_path / "data")
    assert code == 0, err
    table = GroundTruthTable.load(prepared_table_path(tmp_path / "data", "nb201"))
    assert table.source["accuracy_scale"] == "percent"
    assert "accuracy as percent" in table.metric("cifar100/x-test").description
    assert table.frame["cifar10-valid/x-valid"].isna().tolist() == [False, False, True, False]
    fractions = _nb201_csv(tmp_path / "f.csv", ("0.5", "0.6", "0.7", "0.8"),
                           ("0.4", "0.5", "0.6", "0.7"))
    code, err = prepare(capsys, "nb201", fractions, tmp_path / "data2")
    assert code == 0, err
    assert GroundTruthTable.load(prepared_table_path(tmp_path / "data2", "nb201")).source[
        "accuracy_scale"] == "fraction"


NB201_BAD = {
    "negative": ({"valid": ("-55", "60", "61", "62")}, "-55.0; accuracies must be percent"),
    "inf": ({"valid": ("inf", "60", "61", "62")}, "inf; accuracies must be"),
    "1e300": ({"valid": ("1e300", "60", "61", "62")}, "1e\\+300; accuracies must be"),
    "above 100": ({"test": ("101", "60", "61", "62")}, "101.0; accuracies must be"),
    "text": ({"valid": ("55", "high", "61", "62")}, "'high' is not a number"),
    "mixed scales": ({"valid": ("0.5", "0.6", "0.7", "0.8")}, "mix scales"),
}


@pytest.mark.parametrize("case", sorted(NB201_BAD))
def test_nb201_bad_values_are_refused(case, tmp_path, capsys):
    change, match = NB201_BAD[case]
    source = _nb201_csv(tmp_path / "t.csv", **change)
    assert_refused(capsys, "nb201", source, tmp_path / "data", match=match)


def test_nb201_other_formats_and_sizes(tmp_path, capsys):
    frame = pd.read_csv(_nb201_csv(tmp_path / "t.csv"))
    frame.loc[1, "params_m/cifar10"] = -1.0
    frame.to_parquet(tmp_path / "t.parquet")
    assert_refused(capsys, "nb201", tmp_path / "t.parquet", tmp_path / "data",
                   match="params_m/cifar10.*-1.0 is not a non-negative number")
    frame.loc[1, "params_m/cifar10"] = 1.0
    frame.loc[2, "cifar100/x-test"] = float("inf")
    frame.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    assert_refused(capsys, "nb201", tmp_path / "t.tsv", tmp_path / "data", match="inf")


def test_nb201_header_only_and_empty_files(tmp_path, capsys):
    source = _nb201_csv(tmp_path / "t.csv")
    header = source.read_text().splitlines()[0]
    source.write_text(header + "\n")
    assert_refused(capsys, "nb201", source, tmp_path / "data", match="no rows")
    source.write_text("")
    assert_refused(capsys, "nb201", source, tmp_path / "data", match="not a readable table")


def test_nb201_cuts_inside_rows(tmp_path, capsys):
    data = _nb201_csv(tmp_path / "t.csv").read_bytes()
    source = tmp_path / "cut.csv"
    for number, cut in enumerate(positions(len(data), 25, salt=20)):
        source.write_bytes(data[:cut])
        refused_or_accepted(capsys, "nb201", source, tmp_path / f"d{number}")


NB101_BAD = {
    "negative": (["-55", "0.9", "0.8", "0.7"], "-55.0; accuracies must be"),
    "inf": (["inf", "0.9", "0.8", "0.7"], "inf; accuracies must be"),
    "1e300": (["1e300", "0.9", "0.8", "0.7"], "accuracies must be"),
    "text": (["0.9", "0.9", "n.a.", "0.7"], "'n.a.' is not a number"),
    "all missing": (["", "nan", "NA", ""], "has no numbers"),
}


@pytest.mark.parametrize("case", sorted(NB101_BAD))
def test_nb101_bad_values_are_refused(case, nb101_rows, tmp_path, capsys):
    values, match = NB101_BAD[case]
    nb101_rows["val_acc"] = values
    nb101_rows.to_csv(tmp_path / "t.csv", index=False)
    assert_refused(capsys, "nb101", tmp_path / "t.csv", tmp_path / "data", match=match)


def test_nb101_mixed_scales_header_only_and_bad_hash(nb101_rows, tmp_path, capsys):
    nb101_rows["test_acc"] = ["91", "90", "88", "85"]
    nb101_rows.to_csv(tmp_path / "t.csv", index=False)
    assert_refused(capsys, "nb101", tmp_path / "t.csv", tmp_path / "data", match="mix scales")
    nb101_rows.iloc[:0].to_csv(tmp_path / "t.csv", index=False)
    assert_refused(capsys, "nb101", tmp_path / "t.csv", tmp_path / "data", match="no rows")
    nb101_rows = nb101_rows.drop(columns=["adjacency", "operations", "test_acc"])
    nb101_rows.loc[2, "module_hash"] = "xyz"
    nb101_rows.to_csv(tmp_path / "t.csv", index=False)
    assert_refused(capsys, "nb101", tmp_path / "t.csv", tmp_path / "data",
                   match="data row 3: hash 'xyz' is not 32 hex digits")


def test_nb101_percent_table_is_recorded(nb101_rows, tmp_path, capsys):
    nb101_rows["val_acc"] = ["91", "90", "", "85"]
    nb101_rows.to_csv(tmp_path / "t.csv", index=False)
    code, err = prepare(capsys, "nb101", tmp_path / "t.csv", tmp_path / "data")
    assert code == 0, err
    table = GroundTruthTable.load(prepared_table_path(tmp_path / "data", "nb101"))
    assert table.source["accuracy_scale"] == "percent"
    assert table.frame["val_acc"].isna().sum() == 1
    data = (tmp_path / "t.csv").read_bytes()
    for number, cut in enumerate(positions(len(data), 20, salt=21)):
        (tmp_path / "t.csv").write_bytes(data[:cut])
        refused_or_accepted(capsys, "nb101", tmp_path / "t.csv", tmp_path / f"d{number}")
