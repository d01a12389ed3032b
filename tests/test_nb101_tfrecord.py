"""NB101 official-file reader: TFRecord framing, CRC-32C, ModelMetrics protobuf, corrupt files.

The fixtures are written in the official framing (``nb101_fixtures``), with payloads built from
the 30 real cells of ``shared/data/nb101/naslib_nb101_dummy30.json``.
"""

import os
import random
import struct

import nb101_fixtures as fixtures
import numpy as np
import pytest

from harness.errors import BenchmarkFileError
from harness.groundtruth.crc32c import crc32c, crc32c_many, mask
from harness.groundtruth.table import GroundTruthTable, prepared_table_path
from harness.plugins.spaces.nb101.cell import make_cell
from harness.plugins.spaces.nb101.official_table import KEYS, REPEAT_KEYS, NB101Accumulator
from harness.plugins.spaces.nb101.prepare import build_table, prepare
from harness.plugins.spaces.nb101.protobuf import (
    Evaluation,
    ModelMetrics,
    ProtobufError,
    decode_model_metrics,
    encode_model_metrics,
)


@pytest.fixture
def records(shared_data):
    return fixtures.load_records(shared_data)


def test_crc32c_check_value_and_vectorised_agreement():
    assert crc32c(b"123456789") == 0xE3069283, "the CRC-32C check value (RFC 3720)"
    chunks = [os.urandom(n) for n in (0, 1, 7, 8, 255, 401, 1000)]
    assert crc32c_many(chunks).tolist() == [crc32c(c) for c in chunks]


def test_protobuf_roundtrip_and_unknown_fields():
    metrics = ModelMetrics([Evaluation(108.0, 1396.1, 1.0, 0.92, 0.91)], 6315018, 1500.5)
    data = encode_model_metrics(metrics)
    assert decode_model_metrics(data) == metrics
    # an unknown varint field (9) and a checkpoint_path string inside the evaluation are skipped
    body = data[2:2 + data[1]] + b"\x32\x03abc"
    extended = b"\x0a" + bytes([len(body)]) + body + data[2 + data[1]:] + b"\x48\x05"
    assert decode_model_metrics(extended) == metrics
    negative = ModelMetrics([], -5, 0.0)
    assert decode_model_metrics(encode_model_metrics(negative)).trainable_parameters == -5


@pytest.mark.parametrize("data", [b"\x0a\x20\x09", b"\x19\x00\x00", b"\x80", b"\x0b"])
def test_protobuf_malformed(data):
    with pytest.raises(ProtobufError):
        decode_model_metrics(data)


def test_only108_file_roundtrip(tmp_path, records):
    payloads = fixtures.payloads(records)
    random.Random(0).shuffle(payloads)  # the reader must not rely on record order
    source = tmp_path / "nasbench_only108.tfrecord"
    fixtures.write(source, payloads)
    table = GroundTruthTable.load(prepare(source, tmp_path / "data", allow_partial="true"))
    assert table.default_metric == {"cifar10": "e108_mean_final_test_accuracy"}
    assert table.source["records"] == 90 and table.source["cells"] == 30
    assert table.source["crc_checked"] is True and table.source["complete"] is False
    frame = table.frame
    for record in records:
        row = frame.loc[record["module_hash"]]
        cell = make_cell(record["module_adjacency"], record["module_operations"])
        assert (row["adjacency"], row["operations"]) == (cell.adjacency_string,
                                                         cell.operations_string)
        assert row["params"] == record["trainable_parameters"]
        repeats = record["computed_stats"]["108"]
        for key in REPEAT_KEYS:
            stored = sorted(row[f"e108_r{r}_{key}"] for r in range(3))
            # float32 storage is exact: the benchmark's values are float32 numbers
            assert stored == sorted(r[key] for r in repeats), key
        for key in KEYS:  # the float64 mean, rounded once to float32
            assert row[f"e108_mean_{key}"] == np.float32(
                np.mean([np.float32(r[key]) for r in repeats], dtype=np.float64)), key
        assert row["max_final_test_accuracy"] == max(r["final_test_accuracy"] for r in repeats)


def test_full_file_has_every_budget(tmp_path, records):
    source = tmp_path / "nasbench_full.tfrecord"
    fixtures.write(source, fixtures.payloads(records[:4], budgets=(4, 12, 36, 108)))
    table = build_table(tmp_path, allow_partial=True)  # a directory: its nasbench_full.tfrecord
    assert table.source["budgets"] == [4, 12, 36, 108]
    assert table.source["records"] == 4 * 4 * 3
    assert {"e4_mean_final_test_accuracy", "e36_r2_final_validation_accuracy"} <= {
        m.name for m in table.metrics}


def _expect_failure_leaves_table(tmp_path, source, match):
    data_dir = tmp_path / "data"
    table_path = prepared_table_path(data_dir, "nb101")
    table_path.parent.mkdir(parents=True)
    table_path.write_bytes(b"previous table")
    with pytest.raises(BenchmarkFileError, match=match):
        prepare(source, data_dir)
    assert table_path.read_bytes() == b"previous table", "a failed prepare must write nothing"
    assert list(table_path.parent.iterdir()) == [table_path], "no temporary file left behind"


def test_truncated_payload_names_the_offset(tmp_path, records):
    source = tmp_path / "nasbench_only108.tfrecord"
    offsets = fixtures.write(source, fixtures.payloads(records[:5]))
    source.write_bytes(source.read_bytes()[:offsets[7] + 40])
    _expect_failure_leaves_table(tmp_path, source, rf"truncated record at byte {offsets[7]}\b")


def test_truncated_header_names_the_offset(tmp_path, records):
    source = tmp_path / "x.tfrecord"
    offsets = fixtures.write(source, fixtures.payloads(records[:2]))
    source.write_bytes(source.read_bytes()[:offsets[5] + 5])
    _expect_failure_leaves_table(tmp_path, source, rf"truncated record at byte {offsets[5]}\b")


def test_corrupt_payload_crc(tmp_path, records):
    source = tmp_path / "x.tfrecord"
    offsets = fixtures.write(source, fixtures.payloads(records[:5]))
    data = bytearray(source.read_bytes())
    data[offsets[11] + 12 + 3] ^= 0x01  # one bit inside record 11's payload
    source.write_bytes(bytes(data))
    _expect_failure_leaves_table(
        tmp_path, source, rf"CRC mismatch in the payload of the record at byte {offsets[11]}\b")


def test_corrupt_length_field(tmp_path, records):
    source = tmp_path / "x.tfrecord"
    offsets = fixtures.write(source, fixtures.payloads(records[:3]))
    data = bytearray(source.read_bytes())
    length = struct.unpack_from("<Q", data, offsets[4])[0]
    struct.pack_into("<Q", data, offsets[4], length + 1_000_000)  # runs past the end of file
    source.write_bytes(bytes(data))
    _expect_failure_leaves_table(tmp_path, source,
                                 rf"CRC mismatch in the length field of the record at byte "
                                 rf"{offsets[4]}\b")


def test_unchecked_read_still_validates_the_payload(tmp_path):
    source = tmp_path / "x.tfrecord"
    fixtures.write(source, [b'["abc", 108]'])
    with pytest.raises(BenchmarkFileError, match=r"record 1 \(at byte 0\): not a NAS-Bench-101"):
        build_table(source, verify_crc="false")


def test_masked_crc_of_written_records(tmp_path):
    source = tmp_path / "x.tfrecord"
    fixtures.write(source, [b"payload"])
    data = source.read_bytes()
    assert struct.unpack_from("<I", data, 8)[0] == mask(crc32c(data[:8]))
    assert struct.unpack_from("<I", data, len(data) - 4)[0] == mask(crc32c(b"payload"))


def test_accumulator_grows_and_keeps_budgets_apart():
    accumulator = NB101Accumulator(capacity=2)
    for index in range(5):  # past the initial capacity twice
        accumulator.add_cell(f"{index:032x}", "0100", "input,output", index)
    accumulator.add_repeat(4, 36, (1.0,) * 8, "here")
    accumulator.add_repeat(0, 108, (0.5,) * 8, "here")
    table = accumulator.table({"file": "f"})
    assert table.source["budgets"] == [36, 108]
    frame = table.frame
    assert frame["e36_mean_final_test_accuracy"].isna().tolist() == [True] * 4 + [False]
    assert frame["max_final_test_accuracy"].tolist()[::4] == [0.5, 1.0]
    assert frame["params"].tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(BenchmarkFileError, match="budget 7 epochs"):
        accumulator.add_repeat(0, 7, (0.0,) * 8, "here")
    for _ in range(2):
        accumulator.add_repeat(0, 108, (0.5,) * 8, "here")
    with pytest.raises(BenchmarkFileError, match="more than 3 records"):
        accumulator.add_repeat(0, 108, (0.5,) * 8, "here")
