"""NDS sweep readers refuse damaged and hostile files through ``harness data prepare nds``.

Sources: a folder of two real sweep excerpts (a cell space and an AnyNet space, 3 records each,
cut from ../shared/data/nds) and the same files as a ``data.zip``. Cuts of a sweep or of the zip
must be refused; flips in a sweep file (JSON has no checksum) must be refused or give a
validated table; flips in the zip's compressed data fail its CRC or its inflate stream and must
be refused; crafted records (a non-finite or out-of-range number, a bool for a number, a ``net``
no builder can build, targets NaN everywhere, an empty sweep, two copies of one sweep) must be
refused. A refusal is one line, exit 2, nothing under the data dir (``fuzz_helpers``).
"""

from __future__ import annotations

import json
import math
import zipfile

import pytest
from fuzz_helpers import assert_refused, flipped, positions, prepare, refused_or_accepted
from nds_fixtures import real_records, write_sweep

CELL_FILE, ANYNET_FILE = "DARTS_in.json", "ResNeXt-A_in.json"
RECORDS = 3


@pytest.fixture
def sweeps(shared_data):
    return {name: real_records(shared_data, name, RECORDS) for name in (CELL_FILE, ANYNET_FILE)}


def _folder(tmp_path, sweeps):
    folder = tmp_path / "nds"
    for name, records in sweeps.items():
        write_sweep(folder, name, records)
    return folder


def _zip(tmp_path, sweeps):
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        for name, records in sweeps.items():
            handle.writestr(f"data/{name}", json.dumps(records))
    return archive


def test_intact_sources_prepare(sweeps, tmp_path, capsys):
    for source in (_folder(tmp_path, sweeps), _zip(tmp_path, sweeps)):
        code, err = prepare(capsys, "nds", source, tmp_path / f"intact-{source.name}")
        assert code == 0, err


def test_cut_sweep_files(sweeps, tmp_path, capsys):
    for name in (CELL_FILE, ANYNET_FILE):
        folder = _folder(tmp_path, sweeps)
        data = (folder / name).read_bytes()
        for cut in [*positions(len(data), 12, salt=31), len(data) - 1]:
            (folder / name).write_bytes(data[:cut])
            assert_refused(capsys, "nds", folder, tmp_path / "data", match=name)


def test_flipped_sweep_files(sweeps, tmp_path, capsys):
    """A flip may leave valid JSON with another number in range; most break the JSON or a
    record's check."""
    refused = 0
    folder = _folder(tmp_path, sweeps)
    data = (folder / CELL_FILE).read_bytes()
    for number, position in enumerate(positions(len(data), 20, salt=32)):
        (folder / CELL_FILE).write_bytes(flipped(data, position))
        refused += refused_or_accepted(capsys, "nds", folder, tmp_path / f"d{number}")
    assert refused >= 15, f"only {refused} of 20 flipped sweep files were refused"


def test_cut_zip(sweeps, tmp_path, capsys):
    archive = _zip(tmp_path, sweeps)
    data = archive.read_bytes()
    for cut in [*positions(len(data), 10, salt=33), len(data) - 1]:
        archive.write_bytes(data[:cut])
        assert_refused(capsys, "nds", archive, tmp_path / "data", match="data.zip")


def test_flips_inside_a_zip_member_fail_its_checks(sweeps, tmp_path, capsys):
    archive = _zip(tmp_path, sweeps)
    data = archive.read_bytes()
    with zipfile.ZipFile(archive) as handle:
        info = handle.getinfo(f"data/{CELL_FILE}")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for position in positions(info.compress_size, 15, salt=34):
        archive.write_bytes(flipped(data, start + position))
        assert_refused(capsys, "nds", archive, tmp_path / "data", match=CELL_FILE)


def _set(path, value, record=0):
    """A change that sets ``path`` (keys from the record down) of one record to ``value``."""
    def change(sweeps):
        target = sweeps[CELL_FILE][record]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return change


def _every_record(path, value):
    def change(sweeps):
        for record in range(RECORDS):
            _set(path, value, record)(sweeps)
    return change


def _anynet(key, value):
    def change(sweeps):
        sweeps[ANYNET_FILE][1]["net"][key] = value
    return change


CRAFTED = {
    "max_ep NaN": (_set(("optim", "max_ep"), math.nan), "optim.max_ep nan is not an integer"),
    "max_ep Infinity": (_set(("optim", "max_ep"), math.inf), "optim.max_ep inf"),
    "max_ep 50.5": (_set(("optim", "max_ep"), 50.5), "optim.max_ep 50.5"),
    "max_ep text": (_set(("optim", "max_ep"), "50"), "optim.max_ep '50'"),
    "max_ep zero": (_set(("optim", "max_ep"), 0), "optim.max_ep 0"),
    "params 10^25": (_set(("params",), 10 ** 25), "params 10000000000000000000000000"),
    "params negative": (_set(("params",), -1), "params -1"),
    "params a float": (_set(("params",), 1.5e6), "params 1500000.0"),
    "params true": (_set(("params",), True), "params True"),
    "flops null": (_set(("flops",), None), "flops None"),
    "base_lr negative": (_set(("optim", "base_lr"), -0.1), "optim.base_lr -0.1"),
    "wd NaN": (_set(("optim", "wd"), math.nan), "optim.wd nan"),
    "base_lr text": (_set(("optim", "base_lr"), "0.1"), "optim.base_lr '0.1' is not a number"),
    "error 150": (_set(("test_ep_top1", 3), 150.0), r"test_ep_top1\[3\] 150.0 is not a top-1"),
    "error -1": (_set(("test_ep_top1", 3), -1.0), r"test_ep_top1\[3\] -1.0"),
    "error Infinity": (_set(("test_ep_top1", -1), math.inf), "inf is not a top-1 error"),
    "error true": (_set(("test_ep_top1", 0), True), r"test_ep_top1\[0\] True is not a number"),
    "error text": (_set(("test_ep_top1", 0), "20"), "'20' is not a number"),
    "errors empty": (_set(("test_ep_top1",), []), "list of 1 to optim.max_ep"),
    "more epochs than max_ep": (_set(("optim", "max_ep"), 3), "list of 1 to optim.max_ep"),
    "every error NaN": (_every_record(("test_ep_top1",), [math.nan] * 50),
                        "'imagenet/top1', the target of dataset imagenet, has no value"),
    "every final error NaN": (_every_record(("test_ep_top1", -1), math.nan),
                              "'imagenet/top1', the target of dataset imagenet, has no value"),
    "net empty": (_set(("net",), {}), "net must be a non-empty object"),
    "net unknown key": (_set(("net", "widht"), 16), "unknown key.* widht"),
    "net a list": (_set(("net",), [1]), "net must be a non-empty object"),
    "genotype unknown op": (_set(("net", "genotype", "normal", 0), ["conv_9x9", 0]),
                            r"normal\[0\] \['conv_9x9', 0\]"),
    "genotype reads a later state": (_set(("net", "genotype", "normal", 0), ["none", 5]),
                                     r"normal\[0\]"),
    "genotype odd pairs": (_set(("net", "genotype", "reduce"), [["none", 0]]),
                           "genotype.reduce must be"),
    "genotype concat out of range": (_set(("net", "genotype", "normal_concat"), [9]),
                                     "normal_concat"),
    "width 0": (_set(("net", "width"), 0), "net.width must be an integer >= 2"),
    "depth text": (_set(("net", "depth"), "14"), "net.depth must be an integer >= 3"),
    "anynet lists of two lengths": (_anynet("ws", [64, 16]), "one length"),
    "anynet unknown block": (_anynet("block_type", "res_magic_block"), "block_type"),
    "anynet stride 0": (_anynet("ss", [8, 0, 2, 2]), "positive integers"),
    "anynet no stem": (_anynet("ss", [2, 1, 2, 2]), "is not a stem"),
    "record a list": (lambda s: s[CELL_FILE].__setitem__(1, [1]), "record 1 is a list"),
    "record lacks net": (lambda s: s[CELL_FILE][1].pop("net"), "record 1 lacks net"),
    "optim a list": (_set(("optim",), [50]), "'optim' must be an object"),
    "empty sweep": (lambda s: s[CELL_FILE].clear(), f"{CELL_FILE}: the sweep holds no records"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_records(case, sweeps, tmp_path, capsys):
    change, match = CRAFTED[case]
    change(sweeps)
    line = assert_refused(capsys, "nds", _folder(tmp_path, sweeps), tmp_path / "data",
                          match=match)
    assert "Traceback" not in line


def test_two_copies_of_one_sweep_are_refused_naming_both(sweeps, tmp_path, capsys):
    folder = _folder(tmp_path, sweeps)
    write_sweep(folder / "old", CELL_FILE, sweeps[CELL_FILE][:2])
    assert_refused(capsys, "nds", folder, tmp_path / "data",
                   match=f"sweep {CELL_FILE} is in both {CELL_FILE} and old/{CELL_FILE}")
    code, err = prepare(capsys, "nds", folder / CELL_FILE, tmp_path / "picked")
    assert code == 0, f"passing the one copy to use as --source must work: {err}"


def test_a_damaged_zip_is_named_as_a_zip(sweeps, tmp_path, capsys):
    archive = _zip(tmp_path, sweeps)
    archive.write_bytes(archive.read_bytes()[:-30])
    assert_refused(capsys, "nds", archive, tmp_path / "data",
                   match="data.zip: not a readable zip archive")
