"""NB101 readers refuse damaged and hostile files through ``harness data prepare``.

TFRecord: truncation at every record boundary and inside records, byte flips under invalid
and recomputed (valid) CRCs, and well-framed records with invalid payloads. API pickle / JSON:
truncation, byte flips and crafted dicts. Each refusal is one line, exit 2, nothing written
(``fuzz_helpers``). The fixture file is named as the official only108 file, with the official
counts patched down to its 3 cells, so the count check is exercised too.
"""

from __future__ import annotations

import base64
import json
import math
import pickle

import nb101_fixtures as fixtures
import numpy as np
import pytest
from fuzz_helpers import (
    assert_refused,
    flipped,
    positions,
    prepare,
    refused_or_accepted,
)

from harness.groundtruth.tfrecord import encode_records
from harness.plugins.spaces.nb101 import nasbench_tfrecord as nb101_tfrecord
from harness.plugins.spaces.nb101.protobuf import encode_model_metrics

NAME = "nasbench_only108.tfrecord"
CELLS = 3


@pytest.fixture
def records(shared_data):
    return fixtures.load_records(shared_data)[:CELLS]


@pytest.fixture
def official(monkeypatch, records, tmp_path, capsys):
    """Payloads of a 3-cell "official" file (counts patched); the intact file prepares."""
    monkeypatch.setattr(nb101_tfrecord, "CELLS", CELLS)
    monkeypatch.setattr(nb101_tfrecord, "OFFICIAL_RECORDS", {NAME: CELLS * 3})
    payloads = fixtures.payloads(records)
    fixtures.write(tmp_path / NAME, payloads)
    code, err = prepare(capsys, "nb101", tmp_path / NAME, tmp_path / "intact")
    assert code == 0, err
    return payloads


def _write(tmp_path, data: bytes):
    (tmp_path / NAME).write_bytes(data)
    return tmp_path / NAME


def test_truncated_at_every_record_boundary(official, tmp_path, capsys):
    data = encode_records(official)
    offsets = fixtures.write(tmp_path / NAME, official)
    for kept in range(len(offsets)):
        source = _write(tmp_path, data[:offsets[kept]])
        line = assert_refused(capsys, "nb101", source, tmp_path / "data", match="missing")
        if kept % 3:
            assert "fewer than 3 records at 108 epochs" in line
        else:  # whole cells kept: only the official count sees it
            assert f"holds {kept} records of {kept // 3} cells" in line


def test_truncated_inside_records(official, tmp_path, capsys):
    data = encode_records(official)
    boundaries = set(fixtures.write(tmp_path / NAME, official))
    for cut in positions(len(data), 30):
        if cut not in boundaries:
            assert_refused(capsys, "nb101", _write(tmp_path, data[:cut]), tmp_path / "data",
                           match="truncated record|CRC mismatch")


def test_flipped_bytes_with_invalid_crc(official, tmp_path, capsys):
    data = encode_records(official)
    for position in positions(len(data), 30, salt=1):
        assert_refused(capsys, "nb101", _write(tmp_path, flipped(data, position)),
                       tmp_path / "data", match="CRC mismatch")


def test_flipped_payload_bytes_with_valid_crc(official, tmp_path, capsys):
    """A flip under a recomputed CRC is caught by the payload checks, except inside the metrics
    blob, where a changed number that is still in range cannot be told from a real one."""
    refused = 0
    for number, position in enumerate(positions(len(official[4]), 30, salt=2)):
        payloads = list(official)
        payloads[4] = flipped(official[4], position)
        blob_start = official[4].rindex(b'"', 0, len(official[4]) - 2)
        source = _write(tmp_path, encode_records(payloads))
        if position <= blob_start:
            assert_refused(capsys, "nb101", source, tmp_path / "data")
            refused += 1
        else:
            refused += refused_or_accepted(capsys, "nb101", source, tmp_path / f"d{number}")
    assert refused >= 20


def _fields(records, cell, repeat=0, **changes):
    record = records[cell]
    payload = json.loads(fixtures.payloads([record])[repeat])
    names = ("hash", "epochs", "adjacency", "operations", "blob")
    values = dict(zip(names, payload, strict=True))
    metric_changes = changes.pop("metrics", None)
    if metric_changes is not None:
        run = {**record["computed_stats"]["108"][repeat], **metric_changes}
        metrics = fixtures.metrics(record, run)._replace(
            trainable_parameters=changes.pop("params", record["trainable_parameters"]))
        values["blob"] = base64.b64encode(encode_model_metrics(metrics)).decode()
    values.update(changes)
    return [values[name] for name in names]


def _json(value) -> bytes:
    return json.dumps(value).encode()


CRAFTED = {
    "hash is a list": (0, lambda r: _json(_fields(r, 0, hash=[1, 2])), "hash \\[1, 2\\] is not"),
    "hash in upper case": (0, lambda r: _json(_fields(r, 0, hash=r[0]["module_hash"].upper())),
                           "32 lower-case hex"),
    "real hash, another cell's matrix": (
        0, lambda r: _json(_fields(r, 1, hash=r[0]["module_hash"])), "hashes to"),
    "known hash, another cell": (4, lambda r: _json(_fields(r, 0, hash=r[1]["module_hash"])),
                                 "another cell than in its first record"),
    "adjacency not square": (0, lambda r: _json(_fields(r, 0, adjacency="01010")),
                             "not a square 0/1 matrix"),
    "adjacency below the diagonal": (0, lambda r: _json(_fields(r, 0, adjacency="0010")),
                                     "upper-triangular"),
    "unknown operation": (0, lambda r: _json(_fields(r, 0, operations="input,conv9x9,output",
                                                     adjacency="011001000")),
                          "unknown NB101 operation"),
    "adjacency is a list": (0, lambda r: _json(_fields(r, 0, adjacency=[0, 1])), "strings"),
    "budget 7": (0, lambda r: _json(_fields(r, 0, epochs=7)), "budget 7 is not"),
    "budget as text": (0, lambda r: _json(_fields(r, 0, epochs="108")), "budget '108'"),
    "budget as float": (0, lambda r: _json(_fields(r, 0, epochs=108.0)), "budget 108.0"),
    "accuracy 1.5": (0, lambda r: _json(_fields(r, 0, metrics={"final_test_accuracy": 1.5})),
                     "final_test_accuracy 1.5 is not an accuracy"),
    "accuracy -0.1": (0, lambda r: _json(_fields(r, 0, metrics={"halfway_train_accuracy": -.1})),
                      "halfway_train_accuracy -0.1 is not an accuracy"),
    "accuracy inf": (0, lambda r: _json(_fields(r, 0, metrics={"final_validation_accuracy":
                                                               math.inf})),
                     "final_validation_accuracy inf is not"),
    "negative time": (0, lambda r: _json(_fields(r, 0, metrics={"final_training_time": -1.0})),
                      "final_training_time -1.0 is not a non-negative"),
    "negative params": (0, lambda r: _json(_fields(r, 0, metrics={}, params=-5)),
                        "trainable_parameters is -5"),
    "not JSON": (0, lambda r: b"\x00not json", "not a NAS-Bench-101 record"),
    "JSON object": (0, lambda r: _json({"hash": r[0]["module_hash"]}), "not a NAS-Bench-101"),
    "four fields": (0, lambda r: _json(_fields(r, 0)[:4]), "not a NAS-Bench-101"),
    "blob not base64": (0, lambda r: _json(_fields(r, 0, blob="%%%")), "not a NAS-Bench-101"),
    "blob not a protobuf": (0, lambda r: _json(_fields(r, 0, blob="gA==")),
                            "not a NAS-Bench-101"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_well_framed_records_with_invalid_payloads(case, official, records, tmp_path, capsys):
    index, make, match = CRAFTED[case]
    payloads = list(official)
    payloads[index] = make(records)
    source = _write(tmp_path, encode_records(payloads))
    line = assert_refused(capsys, "nb101", source, tmp_path / "data", match=match)
    assert f"record {index + 1} (at byte " in line


def test_a_fourth_repeat_is_refused(official, tmp_path, capsys):
    source = _write(tmp_path, encode_records([*official, official[0]]))
    assert_refused(capsys, "nb101", source, tmp_path / "data",
                   match=r"record 10 \(at byte \d+\): more than 3 records")


# -- the API layouts (pickle, JSON) ----------------------------------------------------------
@pytest.fixture
def api_dict(shared_data):
    with open(shared_data / "nb101" / "naslib_nb101_dummy.pkl", "rb") as handle:
        return pickle.load(handle)  # a trusted file: the real NASLib excerpt


def test_api_pickle_truncated_and_flipped(shared_data, tmp_path, capsys):
    data = (shared_data / "nb101" / "naslib_nb101_dummy.pkl").read_bytes()
    source = tmp_path / "api.pkl"
    for cut in [*positions(len(data), 25, salt=3), *range(len(data) - 8, len(data))]:
        source.write_bytes(data[:cut])
        assert_refused(capsys, "nb101", source, tmp_path / "data", match="api.pkl")
    refused = 0
    for number, position in enumerate(positions(len(data), 25, salt=4)):
        source.write_bytes(flipped(data, position))  # a pickle has no checksum
        refused += refused_or_accepted(capsys, "nb101", source, tmp_path / f"d{number}")
    assert refused >= 5


def _first(data):
    module_hash = next(iter(data))
    return module_hash, data[module_hash][0], data[module_hash][1]


def _set_accuracy(value):
    def change(data):
        _, _, computed = _first(data)
        computed[108][0]["final_test_accuracy"] = value
    return change


def _swap_cells(data):
    first, second = list(data)[:2]
    data[first], data[second] = data[second], data[first]


API_CRAFTED = {
    "hash is a tuple": (lambda d: d.update({("a", "b"): d.pop(next(iter(d)))}), "is not 32"),
    "hash of another cell": (_swap_cells, "hashes to"),
    "matrix not a cell": (lambda d: _first(d)[1].update(module_adjacency=np.ones((3, 3))),
                          "upper-triangular"),
    "accuracy -55": (_set_accuracy(-55.0),
                     "final_test_accuracy -55.0 is not an accuracy as a fraction"),
    "accuracy inf": (_set_accuracy(math.inf), "inf is not"),
    "accuracy 1e300": (_set_accuracy(1e300), "is not an accuracy"),
    "repeat lacks a key": (lambda d: _first(d)[2][108][0].pop("final_test_accuracy"),
                           "repeat lacks"),
    "computed_stats not a dict": (lambda d: d.update({next(iter(d)): (_first(d)[1], [1])}),
                                  "computed_stats"),
    "budget 7": (lambda d: _first(d)[2].update({7: _first(d)[2][108]}), "budget 7"),
    "empty": (lambda d: d.clear(), "no NAS-Bench-101 training records"),
}


@pytest.mark.parametrize("case", sorted(API_CRAFTED))
def test_api_pickle_with_invalid_content(case, api_dict, tmp_path, capsys):
    change, match = API_CRAFTED[case]
    change(api_dict)
    source = tmp_path / "api.pkl"
    source.write_bytes(pickle.dumps(api_dict))
    assert_refused(capsys, "nb101", source, tmp_path / "data", match=match)


def test_api_json_checked_like_the_pickle(shared_data, tmp_path, capsys):
    records = json.loads((shared_data / "nb101" / "naslib_nb101_dummy30.json").read_text())
    source = tmp_path / "api.json"
    records[3]["computed_stats"]["108"][1]["final_validation_accuracy"] = 1.25
    source.write_text(json.dumps(records))
    assert_refused(capsys, "nb101", source, tmp_path / "data", match="1.25 is not an accuracy")
    records[3]["computed_stats"]["108"][1]["final_validation_accuracy"] = 0.5
    records[5]["module_hash"] = [records[5]["module_hash"]]
    source.write_text(json.dumps(records))
    assert_refused(capsys, "nb101", source, tmp_path / "data", match="is not 32")
    source.write_text(json.dumps(records)[:-7])
    assert_refused(capsys, "nb101", source, tmp_path / "data", match="not valid JSON")
