"""The NAS-Bench-NLP log reader refuses damaged and hostile files through ``harness data
prepare nbnlp``.

Source: a zip of six real WikiText-2 logs (five finished, one diverged) from
../shared/data/nbnlp. Cuts of the zip must be refused; flips in its compressed data fail the
CRC or the inflate stream and must be refused; flips elsewhere in the zip, and flips in a log's
text re-zipped with a valid CRC, must be refused or give a validated table; crafted logs (a
count that is text, null, a bool or beyond int64; a loss that is negative, huge, infinite or a
bool; an OK run with too few or no losses) and crafted archives (an entry that inflates beyond
the cap, absolute or ``..`` names, two copies of one log) must be refused. A refusal is one
line, exit 2, nothing under the data dir (``fuzz_helpers``).
"""

from __future__ import annotations

import json
import math
import zipfile

import pytest
from fuzz_helpers import assert_refused, flipped, positions, prepare, refused_or_accepted

from harness.plugins.spaces.nbnlp import logs as nbnlp_logs

LOGS_ZIP = "nbnlp/train_logs_wikitext-2_logs.zip"
FINISHED, DIVERGED = 5, 1


@pytest.fixture
def logs(shared_data):
    """{entry name: parsed log} of the first finished and diverged logs of the real zip."""
    chosen: dict[str, dict] = {}
    with zipfile.ZipFile(shared_data / LOGS_ZIP) as archive:
        counts = {True: 0, False: 0}
        for name in sorted(n for n in archive.namelist() if n.endswith(".json")):
            log = json.loads(archive.read(name))  # bare NaN tokens included
            ok = log["status"] == "OK"
            if counts[ok] < (FINISHED if ok else DIVERGED):
                counts[ok] += 1
                chosen[name] = log
    return chosen


def _zip(path, entries: dict[str, str | bytes]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return path


def _texts(logs):
    return {name: json.dumps(log) for name, log in logs.items()}


def test_intact_zip_prepares(logs, tmp_path, capsys):
    code, err = prepare(capsys, "nbnlp", _zip(tmp_path / "logs.zip", _texts(logs)),
                        tmp_path / "intact")
    assert code == 0, err


def test_cut_zip(logs, tmp_path, capsys):
    source = _zip(tmp_path / "logs.zip", _texts(logs))
    data = source.read_bytes()
    for cut in [*positions(len(data), 15, salt=41), len(data) - 1]:
        source.write_bytes(data[:cut])
        assert_refused(capsys, "nbnlp", source, tmp_path / "data", match="logs.zip")


def test_flips_inside_a_member_fail_its_checks(logs, tmp_path, capsys):
    source = _zip(tmp_path / "logs.zip", _texts(logs))
    data = source.read_bytes()
    with zipfile.ZipFile(source) as archive:
        info = archive.infolist()[2]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for position in positions(info.compress_size, 15, salt=42):
        source.write_bytes(flipped(data, start + position))
        assert_refused(capsys, "nbnlp", source, tmp_path / "data", match=info.filename)


def test_flips_anywhere_in_the_zip(logs, tmp_path, capsys):
    """A flip in a header may rename an entry (then it is no log) or change a stated size; each
    is refused or leaves a validated table."""
    source = _zip(tmp_path / "logs.zip", _texts(logs))
    data = source.read_bytes()
    refused = 0
    for number, position in enumerate(positions(len(data), 15, salt=43)):
        source.write_bytes(flipped(data, position))
        refused += refused_or_accepted(capsys, "nbnlp", source, tmp_path / f"d{number}")
    assert refused >= 10, f"only {refused} of 15 flipped zips were refused"


def test_flips_in_a_log_under_a_valid_crc(logs, tmp_path, capsys):
    texts = _texts(logs)
    name = sorted(texts)[0]
    raw = texts[name].encode()
    refused = 0
    for number, position in enumerate(positions(len(raw), 15, salt=44)):
        source = _zip(tmp_path / "logs.zip", {**texts, name: flipped(raw, position)})
        refused += refused_or_accepted(capsys, "nbnlp", source, tmp_path / f"d{number}")
    assert refused >= 10, f"only {refused} of 15 flipped logs were refused"


def _set(key, value, finished=True):
    """A change that sets ``key`` of the first finished (or the diverged) log to ``value``."""
    def change(logs):
        log = next(log for log in logs.values() if (log["status"] == "OK") == finished)
        log[key] = value(log) if callable(value) else value
    return change


def _losses(key, epoch, value):
    def change(log):
        losses = list(log[key])
        losses[epoch] = value
        return losses
    return change


CRAFTED = {
    "num_params text": (_set("num_params", "abc"), "num_params 'abc' is not an integer"),
    "num_params null": (_set("num_params", None), "num_params None"),
    "num_params true": (_set("num_params", True), "num_params True"),
    "num_params negative": (_set("num_params", -5), "num_params -5"),
    "num_params 10^25": (_set("num_params", 10 ** 25), "num_params 1000000000000"),
    "num_params a float": (_set("num_params", 1.5e6), "num_params 1500000.0"),
    "test loss 1e300": (_set("test_losses", _losses("test_losses", -1, 1e300)),
                        r"test_losses\[49\] 1e\+300 is not a cross-entropy loss"),
    "test loss negative": (_set("test_losses", _losses("test_losses", 3, -5.0)),
                           r"test_losses\[3\] -5.0"),
    "test loss Infinity": (_set("test_losses", _losses("test_losses", 3, math.inf)),
                           r"test_losses\[3\] inf"),
    "test loss true": (_set("test_losses", _losses("test_losses", 3, True)),
                       r"test_losses\[3\] True is not a number"),
    "val loss text": (_set("val_losses", _losses("val_losses", 0, "4.5")),
                      r"val_losses\[0\] '4.5' is not a number"),
    "diverged loss negative": (_set("val_losses", _losses("val_losses", 0, -1.0), False),
                               r"val_losses\[0\] -1.0"),
    "losses not a list": (_set("test_losses", 4.5), "test_losses must be a list"),
    "OK with 3 test losses": (_set("test_losses", lambda log: log["test_losses"][:3]),
                              "status OK, but 50 validation and 3 test losses"),
    "OK with no losses": (lambda logs: [_set(key, [])(logs) for key in ("val_losses",
                                                                        "test_losses")],
                          "status OK, but 0 validation and 0 test losses"),
    "OK with a NaN last test loss": (_set("test_losses", _losses("test_losses", -1, math.nan)),
                                     "the last nan"),
    "status a number": (_set("status", 1), "status 1 is not a string"),
    "recipe id true": (_set("recepie_id", True), "recepie_id True"),
    "data a list": (_set("data", ["wikitext-2"]), "data \\['wikitext-2'\\] is not a string"),
    "recipe not a cell": (_set("recepie", '{"a": 1}'), "recipe node 'a'"),
    "nlayers zero": (_set("nlayers", 0), "nlayers 0 is not an integer"),
    "tied text": (_set("tied", "yes"), "tied 'yes' is not true or false"),
    "dropout 2": (_set("dropout", 2.0), "dropout 2.0 is not a dropout probability"),
    "log a list": (lambda logs: logs.update({next(iter(logs)): [1]}),
                   "a log must be a JSON object"),
    "log lacks num_params": (lambda logs: next(iter(logs.values())).pop("num_params"),
                             "lacks num_params"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_logs(case, logs, tmp_path, capsys):
    change, match = CRAFTED[case]
    change(logs)
    source = _zip(tmp_path / "logs.zip", _texts(logs))
    assert_refused(capsys, "nbnlp", source, tmp_path / "data", match=match)


def _log_text(logs):
    return next(iter(_texts(logs).values()))


ARCHIVES = {
    "absolute name": (lambda logs: {"/etc/log_stats_model_1.json": _log_text(logs)},
                      "absolute or climbing path"),
    "climbing name": (lambda logs: {"logs/../../log_stats_model_1.json": _log_text(logs)},
                      "absolute or climbing path"),
    "two copies of one log": (lambda logs: {"a/log_1.json": _log_text(logs),
                                            "old/log_1.json": _log_text(logs)},
                              "log log_1.json is in both a/log_1.json and old/log_1.json"),
    "no logs": (lambda logs: {"readme.txt": "x"}, "holds no \\*.json logs"),
}


@pytest.mark.parametrize("case", sorted(ARCHIVES))
def test_crafted_archives(case, logs, tmp_path, capsys):
    make, match = ARCHIVES[case]
    source = _zip(tmp_path / "logs.zip", make(logs))
    assert_refused(capsys, "nbnlp", source, tmp_path / "data", match=match)


def test_an_entry_is_inflated_only_up_to_the_cap(logs, tmp_path, capsys, monkeypatch):
    """A small zip holding a big entry is refused before the entry is read whole (the cap is
    lowered here so the test stays small; the real one is MAX_LOG_BYTES)."""
    monkeypatch.setattr(nbnlp_logs, "MAX_LOG_BYTES", 1 << 16)
    padded = _log_text(logs)[:-1] + ", \"pad\": \"" + " " * (1 << 17) + "\"}"
    source = _zip(tmp_path / "logs.zip", {**_texts(logs), "log_big.json": padded})
    assert source.stat().st_size < 1 << 16
    assert_refused(capsys, "nbnlp", source, tmp_path / "data",
                   match="member log_big.json inflates to more than 65,536 bytes")


def test_two_copies_of_one_log_in_one_zip(logs, tmp_path, capsys):
    """Zip allows one name twice; the second copy would be read as a second run."""
    name, text = next(iter(_texts(logs).items()))
    source = tmp_path / "logs.zip"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr(name, text)
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr(name, text)
    assert_refused(capsys, "nbnlp", source, tmp_path / "data", match=f"log {name} is in both")
