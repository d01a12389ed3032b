"""NB201 / NATS-Bench readers refuse damaged and hostile files through ``harness data prepare``.

Per layout (the ``.pth`` legacy stream and zip, the NATS single ``.pickle.pbz2``, the NATS
simple folder): cuts at sampled positions and at the end, byte flips under the format's own
checksum (bz2 block CRC, zip CRC-32) and with the checksum recomputed, and well-formed files
with invalid content. A flip that no checksum covers may leave a file that still reads (a
pickle has no checksum), so those cases must either be refused cleanly or give a validated
table; everything else must be refused: one line, exit 2, nothing written (``fuzz_helpers``).
"""

from __future__ import annotations

import bz2
import copy
import math
import pickle
import zipfile

import nb201_fixtures as fixtures
import pytest
from fuzz_helpers import (
    assert_refused,
    flipped,
    positions,
    prepare,
    refused_or_accepted,
)


@pytest.fixture(scope="module")
def archs():
    return fixtures.meta_archs()


@pytest.fixture(scope="module")
def single_dict(archs):
    return {"meta_archs": archs, "total_archs": len(archs),
            "arch2infos": {i: fixtures.budgets(i, archs) for i in fixtures.INDICES},
            "evaluated_indexes": set(fixtures.INDICES)}


def _refused_cuts(capsys, tmp_path, source, data, *options, count=10):
    for cut in [*positions(len(data), count, salt=5), len(data) - 1, len(data) // 2]:
        source.write_bytes(data[:cut])
        assert_refused(capsys, "nb201", source, tmp_path / "data", *options)


def test_pth_legacy_cuts_and_flips(archs, tmp_path, capsys):
    source = fixtures.write_pth(tmp_path / "NAS-Bench-201-v1_0-e61699.pth", archs, legacy=True)
    data = source.read_bytes()
    _refused_cuts(capsys, tmp_path, source, data)
    for number, position in enumerate(positions(len(data), 15, salt=6)):
        source.write_bytes(flipped(data, position))  # no checksum in a legacy stream
        refused_or_accepted(capsys, "nb201", source, tmp_path / f"d{number}")


def test_pth_zip_flips_inside_the_pickle_fail_its_crc(archs, tmp_path, capsys):
    source = fixtures.write_pth(tmp_path / "NAS-Bench-201-v1_1-096897.pth", archs, legacy=False)
    data = source.read_bytes()
    with zipfile.ZipFile(source) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith("/data.pkl"))
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for position in positions(info.compress_size, 15, salt=7):
        source.write_bytes(flipped(data, start + position))
        assert_refused(capsys, "nb201", source, tmp_path / "data", match="CRC|corrupt|damaged")
    _refused_cuts(capsys, tmp_path, source, data, count=8)
    for number, position in enumerate(positions(len(data), 15, salt=8)):
        source.write_bytes(flipped(data, position))
        refused_or_accepted(capsys, "nb201", source, tmp_path / f"d{number}")


def test_nats_single_cuts_and_flips(single_dict, tmp_path, capsys):
    source = fixtures.write_bz2_pickle(tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2", single_dict)
    data = source.read_bytes()
    _refused_cuts(capsys, tmp_path, source, data)
    for position in positions(len(data), 20, salt=9):  # every bz2 block is CRC-checked
        source.write_bytes(flipped(data, position))
        assert_refused(capsys, "nb201", source, tmp_path / "data")
    raw = pickle.dumps(single_dict, protocol=4)
    for number, position in enumerate(positions(len(raw), 15, salt=10)):
        source.write_bytes(bz2.compress(flipped(raw, position), 1))  # a valid bz2 CRC
        refused_or_accepted(capsys, "nb201", source, tmp_path / f"d{number}")


def test_nats_folder_missing_cut_and_flipped_files(archs, tmp_path, capsys):
    folder = fixtures.write_nats_folder(tmp_path / "NATS-tss-v1_0-3ffb9-simple", archs)
    options = ("--allow-missing",)
    code, err = prepare(capsys, "nb201", folder, tmp_path / "intact", *options)
    assert code == 0, err
    assert_refused(capsys, "nb201", folder, tmp_path / "data", match="per-arch files are missing")
    for name in ("meta.pickle.pbz2", "000042.pickle.pbz2"):
        file = folder / name
        data = file.read_bytes()
        for cut in positions(len(data), 4, salt=11):
            file.write_bytes(data[:cut])
            assert_refused(capsys, "nb201", folder, tmp_path / "data", *options, match=name)
        for position in positions(len(data), 4, salt=12):
            file.write_bytes(flipped(data, position))
            assert_refused(capsys, "nb201", folder, tmp_path / "data", *options, match=name)
        file.write_bytes(data)
    fixtures.write_bz2_pickle(folder / "000042.pickle.pbz2", {"12": "not a state"})
    assert_refused(capsys, "nb201", folder, tmp_path / "data", *options,
                   match="000042.pickle.pbz2: arch 42, budget 12")


def _result(data, index=3, dataset="cifar10-valid", seed=777):
    return data["arch2infos"][index]["200"]["all_results"][(dataset, seed)]


def _set_final(value):
    def change(data):
        _result(data)["eval_acc1es"]["x-valid@199"] = value
    return change


def _replace_meta(data, index, text):
    data["meta_archs"] = [*data["meta_archs"]]
    data["meta_archs"][index] = text


CRAFTED = {
    "accuracy 150": (_set_final(150.0), "150.0 is not an accuracy in percent"),
    "accuracy -1": (_set_final(-1.0), "-1.0 is not an accuracy in percent"),
    "accuracy inf": (_set_final(math.inf), "inf is not an accuracy"),
    "accuracy 1e300": (_set_final(1e300), "is not an accuracy in percent"),
    "accuracy text": (_set_final("55"), None),
    "negative params": (lambda d: _result(d).update(params=-0.5),
                        "params -0.5 is not a non-negative"),
    "seed not a number": (lambda d: d["arch2infos"][3]["200"]["all_results"].update(
        {("cifar10", "abc"): _result(d)}), "arch 3, budget 200"),
    "epochs not a number": (lambda d: _result(d).update(epochs="x"), "arch 3, budget 200"),
    "eval_acc1es a list": (lambda d: _result(d).update(eval_acc1es=[1]), "arch 3, budget 200"),
    "arch_str of another arch": (lambda d: d["arch2infos"][3]["200"].update(
        arch_str=d["meta_archs"][4]), "but meta_archs lists"),
    "meta_archs too short": (lambda d: d.update(meta_archs=d["meta_archs"][:-1]),
                             "lists 15624 archs"),
    "meta_archs entry not an arch": (lambda d: _replace_meta(d, 3, "|nope~0|"), "meta_archs"),
    "index as text": (lambda d: d["arch2infos"].update({"3": d["arch2infos"].pop(3)}),
                      "key '3' is not an index"),
    "index out of range": (lambda d: d["arch2infos"].update({15625: d["arch2infos"][3]}),
                           "key 15625"),
    "budgets a list": (lambda d: d["arch2infos"].update({3: [1]}), "arch 3 is a list"),
    "budget 7": (lambda d: d["arch2infos"][3].update({"7": d["arch2infos"][3]["12"]}),
                 "budget '7'"),
    "no archs": (lambda d: d["arch2infos"].clear(), "no architecture results"),
    "arch2infos a list": (lambda d: d.update(arch2infos=[1]), "'arch2infos' should map"),
    "not a dict": (lambda d: d.clear(), "expected a dict with 'meta_archs'"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_well_formed_files_with_invalid_content(case, single_dict, tmp_path, capsys):
    change, match = CRAFTED[case]
    data = {**single_dict, "arch2infos": copy.deepcopy(single_dict["arch2infos"])}
    change(data)
    source = tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
    source.write_bytes(bz2.compress(pickle.dumps(data, protocol=4), 1))
    assert_refused(capsys, "nb201", source, tmp_path / "data", match=match)


def test_pth_and_folder_run_the_same_checks(archs, tmp_path, capsys):
    import torch

    data = {"meta_archs": archs, "arch2infos": {3: fixtures.budgets(3, archs, True)}}
    data["arch2infos"][3]["full"]["all_results"][("cifar100", 777)]["eval_acc1es"][
        "x-test@199"] = 101.0
    source = tmp_path / "NAS-Bench-201-v1_0-e61699.pth"
    torch.save(data, source)
    assert_refused(capsys, "nb201", source, tmp_path / "data", match="101.0 is not an accuracy")
    folder = fixtures.write_nats_folder(tmp_path / "simple", archs, indices=(3,))
    budgets = fixtures.budgets(3, archs)
    budgets["12"]["all_results"][("cifar10", 111)]["flop"] = math.inf
    fixtures.write_bz2_pickle(folder / "000003.pickle.pbz2", budgets)
    assert_refused(capsys, "nb201", folder, tmp_path / "data", "--allow-missing",
                   match="flop inf is not a non-negative number")
