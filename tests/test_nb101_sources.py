"""NB101 sources other than the tfrecords: the API pickle and JSON layouts, user tables."""

import pickle

import numpy as np
import pandas as pd
import pytest

from harness.errors import BenchmarkFileError, ConfigError
from harness.plugins.spaces.nb101.prepare import build_table


def test_pickle_and_json_layouts_agree(shared_data):
    from_pickle = build_table(shared_data / "nb101" / "naslib_nb101_dummy.pkl")
    from_json = build_table(shared_data / "nb101" / "naslib_nb101_dummy30.json")
    pd.testing.assert_frame_equal(from_pickle.frame, from_json.frame)
    assert from_pickle.source["format"] == "nasbench101-api-pickle"
    assert len(from_pickle.frame) == 30 and from_pickle.source["records"] == 90


def test_pickle_with_foreign_globals_is_refused(tmp_path):
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"x": (pd.Timestamp(0), {})}))
    with pytest.raises(BenchmarkFileError, match="not allowed"):
        build_table(path)


def test_pickle_with_a_wrong_hash(tmp_path):
    fixed = {"module_adjacency": np.array([[0, 1], [0, 0]]),
             "module_operations": ["input", "output"], "trainable_parameters": 1}
    path = tmp_path / "wrong.pkl"
    path.write_bytes(pickle.dumps({"0" * 32: (fixed, {})}))
    with pytest.raises(BenchmarkFileError, match="hashes to"):
        build_table(path)


def test_gennas_csv_import_is_labelled_undocumented(shared_data):
    table = build_table(shared_data / "nb101" / "gennas_zero_nasbench1_2500.csv")
    assert len(table.frame) == 2500
    assert table.default_metric == {"cifar10": "accuracy"}
    assert "undocumented" in table.metric("accuracy").description
    assert table.frame["accuracy"].between(0.1, 0.95).all()


def test_csv_explicit_columns_and_hash_check(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"h": ["f" * 32], "bits": ["0100"], "ops": ["input,output"],
                  "top1": [0.5]}).to_csv(path, index=False)
    with pytest.raises(BenchmarkFileError, match="does not match its cell"):
        build_table(path, columns="hash=h,adjacency=bits,operations=ops,top1=top1")
    table = build_table(path, columns={"adjacency": "bits", "operations": "ops", "acc": "top1"},
                        description="test accuracy, one repeat")
    assert table.metric("acc").description == "test accuracy, one repeat"
    assert table.frame.index[0] != "f" * 32


def test_csv_duplicates(shared_data):
    source = shared_data / "zc" / "naslib_zc_nasbench101.csv"
    columns = "adjacency=raw_adjacency_rowmajor,operations=raw_operations,val=val_accuracy"
    with pytest.raises(BenchmarkFileError, match="duplicates=first or duplicates=mean"):
        build_table(source, columns=columns)
    table = build_table(source, columns=columns, duplicates="mean")
    assert len(table.frame) == 292, "500 raw matrices prune to 292 distinct cells"
    raw = pd.read_csv(source)
    first_hash = raw["module_hash"][0]
    expected = raw.loc[raw["module_hash"] == first_hash, "val_accuracy"].mean()
    assert table.frame.loc[first_hash, "val"] == pytest.approx(expected)


def test_gennas_json_user_table(shared_data):
    table = build_table(shared_data / "nb101" / "gennas_nasbench1_search_20samples.json")
    assert len(table.frame) == 20 and "undocumented" in table.metric("accuracy").description


def test_unknown_option_and_suffix(tmp_path, shared_data):
    with pytest.raises(ConfigError, match="unknown nb101 prepare option"):
        build_table(shared_data / "nb101" / "naslib_nb101_dummy30.json", colums="x")
    with pytest.raises(ConfigError, match="apply to user tables"):
        build_table(shared_data / "nb101" / "naslib_nb101_dummy.pkl", columns="accuracy")
    (tmp_path / "t.txt").write_text("x")
    with pytest.raises(BenchmarkFileError, match="unknown NB101 source type"):
        build_table(tmp_path / "t.txt")
