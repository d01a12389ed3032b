"""NB201 / NATS-Bench readers: the real NATS files, and files written in the official layouts."""

import bz2
import os
import pickle

import numpy as np
import pandas as pd
import pytest
from nb201_fixtures import (
    INDICES,
    accuracy,
    meta_archs,
    write_bz2_pickle,
    write_nats_folder,
    write_nats_single,
    write_pth,
)

from harness.errors import BenchmarkFileError, ConfigError, DataNotPreparedError
from harness.groundtruth.table import GroundTruthTable, prepared_table_path
from harness.plugins.spaces.nb201 import files as nb201_files
from harness.plugins.spaces.nb201 import prepare as nb201_prepare
from harness.plugins.spaces.nb201.space import NB201Space

REAL = ("nb201", "nats_tss_v1_0_3ffb9_simple_samples")


@pytest.fixture(scope="module")
def archs():
    return meta_archs()


# -- real files ------------------------------------------------------------------------------
def test_real_nats_files_give_the_published_seed_means(shared_data):
    table = nb201_files.read_nats_folder(shared_data.joinpath(*REAL), allow_missing=True)
    frame = table.frame.set_index("index")
    assert list(frame.index) == [0, 11, 284]
    reference = pd.read_csv(shared_data / "nb201" / "nb201_all_15625.csv").set_index("index")
    columns = {"cifar10-valid/x-valid": "cifar10_valid_xvalid_mean",
               "cifar10-valid/ori-test": "cifar10_valid_oritest_mean",
               "cifar10/ori-test": "cifar10_test_mean_natstss",
               "cifar100/x-valid": "cifar100_xvalid_mean",
               "cifar100/x-test": "cifar100_xtest_mean_natstss",
               "imagenet16-120/x-valid": "imagenet16_120_xvalid_mean",
               "imagenet16-120/x-test": "imagenet16_120_xtest_mean_natstss",
               "params_m/cifar10": "params_mb_cifar10"}
    for ours, theirs in columns.items():
        np.testing.assert_allclose(frame[ours], reference.loc[frame.index, theirs], atol=1e-6,
                                   err_msg=f"{ours} vs the converted table's {theirs}")
    # Full-precision check against NATS get_more_info(hp=200, is_random=False) exports.
    vtao = pd.read_csv(shared_data / "nb201" / "vtao_nats_bench.csv")
    np.testing.assert_allclose(frame["cifar10/ori-test"],
                               vtao.loc[frame.index, "CIFAR10TestAccuracy200Epochs"], rtol=1e-12)
    # Per-seed values average to the mean; 12-epoch budget kept separately.
    seeds = frame[[f"cifar10-valid/x-valid/seed{s}" for s in (777, 888, 999)]].mean(axis=1)
    np.testing.assert_allclose(seeds, frame["cifar10-valid/x-valid"], rtol=1e-12)
    assert frame["cifar10-valid/x-valid/12ep/seed111"].notna().all()
    assert table.default_metric["cifar10-valid"] == "cifar10-valid/x-valid"
    assert table.source["kind"] == "nats-tss-simple" and table.source["missing_archs"] == 15622
    assert len(table.source["sha256"]) == 64


def test_incomplete_folder_is_an_error_unless_allowed(shared_data, tmp_path):
    with pytest.raises(BenchmarkFileError, match="15622 of 15625 per-arch files are missing"):
        NB201Space().prepare(shared_data.joinpath(*REAL), tmp_path)
    assert not prepared_table_path(tmp_path, "nb201").exists()


def test_prepare_then_ground_truth_and_indices(shared_data, tmp_path):
    space = NB201Space()
    with pytest.raises(DataNotPreparedError, match="harness data prepare nb201"):
        space.ground_truth(tmp_path)
    path = space.prepare(shared_data.joinpath(*REAL), tmp_path, allow_missing=True)
    assert path == prepared_table_path(tmp_path, "nb201")
    table = space.ground_truth(tmp_path)
    assert table.space == "nb201" and len(table.frame) == 3
    first = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|" \
            "skip_connect~2|"
    assert space.parse_arch(0, data_dir=tmp_path) == first
    assert space.parse_arch("index:0", data_dir=tmp_path) == first
    assert space.benchmark_index(first, data_dir=tmp_path) == 0
    with pytest.raises(DataNotPreparedError, match="no row for index 5"):
        space.parse_arch("5", data_dir=tmp_path)


# -- written fixtures, one per official layout ---------------------------------------------------
def _check_fixture_table(table: GroundTruthTable, archs: list[str], kind: str) -> None:
    frame = table.frame
    assert list(frame["index"]) == list(INDICES)
    assert list(frame.index) == [archs[i] for i in INDICES]
    for i in INDICES:
        row = frame[frame["index"] == i].iloc[0]
        exact = {
            "cifar10-valid/x-valid": np.mean([accuracy(i, "cifar10-valid", "x-valid", s, 200)
                                              for s in (777, 888, 999)]),
            "cifar10/ori-test": np.mean([accuracy(i, "cifar10", "ori-test", s, 200)
                                         for s in (777, 888)]),
            "cifar100/x-test": accuracy(i, "cifar100", "x-test", 777, 200),
            "imagenet16-120/ori-test/seed999": accuracy(i, "ImageNet16-120", "ori-test", 999, 200),
            "cifar10-valid/x-valid/12ep": np.mean([accuracy(i, "cifar10-valid", "x-valid", s, 12)
                                                   for s in (111, 777)]),
            "cifar100/x-valid/12ep/seed111": accuracy(i, "cifar100", "x-valid", 111, 12),
            "params_m/cifar100": 0.1 + i / 1e6,
            "flops_m/imagenet16-120": 10.0 + i,
        }
        for column, value in exact.items():
            assert row[column] == value, (kind, i, column)
    assert "cifar100/x-valid/seed888" not in frame.columns, "cifar100 had only seed 777"
    assert table.source["kind"] == kind
    assert {m.dataset for m in table.metrics} == {"cifar10-valid", "cifar10", "cifar100",
                                                  "imagenet16-120"}


def test_legacy_pth_written_by_torch_save(tmp_path, archs):
    path = write_pth(tmp_path / "NAS-Bench-201-v1_0-e61699.pth", archs, legacy=True)
    assert path.read_bytes()[:2] == b"\x80\x02", "legacy stream starts with a protocol-2 pickle"
    table = nb201_prepare.read_source(path)
    _check_fixture_table(table, archs, "nb201-pth")
    assert table.source["version"] == "v1_0" and table.source["file"] == path.name


def test_zip_pth(tmp_path, archs):
    path = write_pth(tmp_path / "NAS-Bench-201-v1_1-096897.pth", archs, legacy=False)
    _check_fixture_table(nb201_prepare.read_source(path), archs, "nb201-pth")


def test_nats_single_file(tmp_path, archs):
    path = write_nats_single(tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2", archs)
    _check_fixture_table(nb201_prepare.read_source(path), archs, "nats-tss-single")


def test_nats_folder_with_padded_and_unpadded_names(tmp_path, archs):
    folder = write_nats_folder(tmp_path / "NATS-tss-v1_0-3ffb9-simple", archs)
    (folder / "000003.pickle.pbz2").rename(folder / "3.pickle.pbz2")
    table = nb201_prepare.read_source(folder, allow_missing=True)
    _check_fixture_table(table, archs, "nats-tss-simple")


# -- corrupt files: an error naming the file, and no table left behind -------------------------
def _assert_no_partial_table(data_dir, before: bytes | None) -> None:
    path = prepared_table_path(data_dir, "nb201")
    if before is None:
        assert not path.exists()
    else:
        assert path.read_bytes() == before, "a failed prepare must not touch the old table"
    assert not [p for p in path.parent.glob("*.tmp")] if path.parent.exists() else True


def test_truncated_legacy_pth(tmp_path, archs):
    path = write_pth(tmp_path / "NAS-Bench-201-v1_1-096897.pth", archs)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(BenchmarkFileError, match="truncated or corrupt: expected a legacy torch"):
        NB201Space().prepare(path, tmp_path / "data")
    _assert_no_partial_table(tmp_path / "data", None)


def test_truncated_single_bz2_keeps_the_old_table(tmp_path, archs):
    data_dir = tmp_path / "data"
    good = write_nats_single(tmp_path / "good.pickle.pbz2", archs)
    NB201Space().prepare(good, data_dir)
    before = prepared_table_path(data_dir, "nb201").read_bytes()
    bad = tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
    bad.write_bytes(good.read_bytes()[:-100])
    with pytest.raises(BenchmarkFileError, match=str(bad)):
        NB201Space().prepare(bad, data_dir)
    _assert_no_partial_table(data_dir, before)


def test_corrupt_file_inside_folder_is_named(tmp_path, archs):
    folder = write_nats_folder(tmp_path / "simple", archs)
    broken = folder / "000042.pickle.pbz2"
    broken.write_bytes(b"BZh9 not really bzip2")
    with pytest.raises(BenchmarkFileError) as caught:
        NB201Space().prepare(folder, tmp_path / "data", allow_missing=True)
    message = str(caught.value)
    assert "000042.pickle.pbz2" in message and "bz2-compressed pickle" in message
    _assert_no_partial_table(tmp_path / "data", None)


def test_wrong_layouts_say_what_was_expected(tmp_path, archs):
    not_meta = write_bz2_pickle(tmp_path / "x.pickle.pbz2", [1, 2, 3])
    with pytest.raises(BenchmarkFileError, match="expected a dict with 'meta_archs' and "
                                                 "'arch2infos'.*found a list"):
        nb201_prepare.read_source(not_meta)
    folder = write_nats_folder(tmp_path / "simple", archs, indices=(3,))
    write_bz2_pickle(folder / "000005.pickle.pbz2", {"12": {"arch_str": archs[5]}})
    with pytest.raises(BenchmarkFileError, match="000005.pickle.pbz2: arch 5, budget 12: expected "
                                                 "an ArchResults state dict"):
        nb201_prepare.read_source(folder, allow_missing=True)
    mismatch = write_nats_folder(tmp_path / "mismatch", archs, indices=())
    write_bz2_pickle(mismatch / "000007.pickle.pbz2",
                     {"200": {"arch_str": archs[8], "all_results": {}}})
    with pytest.raises(BenchmarkFileError, match="meta_archs lists"):
        nb201_prepare.read_source(mismatch, allow_missing=True)
    short_meta = write_bz2_pickle(tmp_path / "short.pickle.pbz2",
                                  {"meta_archs": archs[:10], "arch2infos": {}})
    with pytest.raises(BenchmarkFileError, match="lists 10 archs, expected 15625"):
        nb201_prepare.read_source(short_meta)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(os.urandom(64))
    with pytest.raises(BenchmarkFileError, match="garbage.pth"):
        nb201_prepare.read_source(garbage)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_pickles_cannot_run_code(tmp_path):
    path = tmp_path / "evil.pickle.pbz2"
    with bz2.open(path, "wb") as handle:
        pickle.dump({"meta_archs": _Exploit()}, handle)
    with pytest.raises(BenchmarkFileError, match="refusing to unpickle"):
        nb201_prepare.read_source(path)


def test_reader_options_only_apply_to_tables(tmp_path, archs):
    path = write_nats_single(tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2", archs)
    with pytest.raises(ConfigError, match="columns do not apply to NATS-tss-v1_0-3ffb9"):
        nb201_prepare.read_source(path, columns="a=b")
    assert len(nb201_prepare.read_source(path, columns=None).frame) == 3, "None means not given"


# -- user tables ------------------------------------------------------------------------------
ALL_CSV_COLUMNS = ("cifar10-valid/x-valid=cifar10_valid_xvalid_mean,"
                   "cifar10/ori-test=cifar10_test_mean_nb201v1_1,"
                   "cifar100/x-valid=cifar100_xvalid_mean,params_m/cifar10=params_mb_cifar10")


def test_import_the_15625_row_csv_and_resolve_every_index(shared_data, tmp_path):
    csv = shared_data / "nb201" / "nb201_all_15625.csv"
    space = NB201Space()
    space.prepare(csv, tmp_path, columns=ALL_CSV_COLUMNS.split(","))  # the CLI's list form
    table = space.ground_truth(tmp_path)
    assert len(table.frame) == 15625
    assert table.default_metric == {"cifar10-valid": "cifar10-valid/x-valid",
                                    "cifar10": "cifar10/ori-test",
                                    "cifar100": "cifar100/x-valid"}
    assert "params_m/cifar10" not in {m.name for m in table.metrics}
    assert table.source["columns"]["cifar10/ori-test"] == "cifar10_test_mean_nb201v1_1"
    raw = pd.read_csv(csv)
    for index, arch_str in zip(raw["index"], raw["arch_str"], strict=True):
        assert space.parse_arch(int(index), data_dir=tmp_path) == arch_str
        assert space.benchmark_index(arch_str, data_dir=tmp_path) == index
    best = table.frame["cifar10-valid/x-valid"].idxmax()
    assert space.parse_arch(best) == best
    assert round(table.frame["cifar10-valid/x-valid"].max(), 2) == 91.61  # the published best


def test_table_with_metric_named_columns_needs_no_mapping(tmp_path):
    path = tmp_path / "mine.csv"
    pd.DataFrame({"arch": ["|none~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|"],
                  "cifar100/x-test": [1.5], "note": ["kept out"]}).to_csv(path, index=False)
    table = nb201_prepare.read_source(path)
    assert list(table.frame.columns) == ["cifar100/x-test"]
    assert table.frame.iloc[0, 0] == 1.5
    path.write_text("arch,mine,other\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,2.5,3\n")
    kept = nb201_prepare.read_source(path, columns=["cifar10/ori-test=mine"])
    assert list(kept.frame.columns) == ["cifar10/ori-test"], "exactly the mapped columns"


@pytest.mark.parametrize("frame, columns, error, fragment", [
    ({"arch_str": ["|bad|"], "cifar10/ori-test": [1.0]}, None, BenchmarkFileError,
     "column 'arch_str'"),
    ({"acc": [1.0]}, None, BenchmarkFileError, "no arch column"),
    ({"arch_str": ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"], "acc": [1.0]}, None,
     BenchmarkFileError, "no metric columns"),
    ({"arch_str": ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"], "acc": [1.0]},
     "cifar10/ori-test=missing", BenchmarkFileError, "no column(s) ['missing']"),
    ({"arch_str": ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"], "acc": [1.0]},
     "accuracy=acc", ConfigError, "is not arch, index"),
    ({"arch_str": ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"], "acc": ["high"]},
     "cifar10/ori-test=acc", BenchmarkFileError, "'high' is not a number"),
    ({"arch_str": ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"] * 2, "acc": [1.0, 2.0]},
     "cifar10/ori-test=acc", BenchmarkFileError, "appears in more than one row"),
    ({"arch_str": ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"], "index": [-1],
      "cifar10/ori-test": [1.0]}, None, BenchmarkFileError, "distinct integers"),
])
def test_bad_user_tables(tmp_path, frame, columns, error, fragment):
    path = tmp_path / "t.csv"
    pd.DataFrame(frame).to_csv(path, index=False)
    with pytest.raises(error) as caught:
        nb201_prepare.read_source(path, **({"columns": columns} if columns else {}))
    assert fragment in str(caught.value)
