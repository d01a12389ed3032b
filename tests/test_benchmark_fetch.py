"""``harness data fetch nb101|nds|nbnlp|nb201``: the benchmark's official file downloaded from a
loopback server through the real pooch path (``--url`` stands for the official address), then
prepared in the same step; a cut connection, a wrong published or recorded checksum, no
network, a page that needs a browser; and ``data status`` naming where each table came from."""

import hashlib
import io
import json
import os
import zipfile
from dataclasses import replace

import nb101_fixtures
import pytest
from loopback_server import ArchiveServer, unreachable_url
from nds_fixtures import real_records

from harness import cli
from harness.download import RECORDS_FILE
from harness.groundtruth.table import GroundTruthTable, prepared_table_path
from harness.plugins.spaces.nb101 import space as nb101_space
from harness.plugins.spaces.nb201 import space as nb201_space
from harness.plugins.spaces.nbnlp import space as nbnlp_space
from harness.plugins.spaces.nds import space as nds_space

ONLY108 = "nasbench_only108.tfrecord"
NLP_WIKITEXT2 = "train_logs_wikitext-2-logs.zip"


def _main(capsys, *argv):
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def _status(capsys, data_dir) -> dict[str, dict]:
    code, out, _ = _main(capsys, "data", "status", "--json", "--data-dir", str(data_dir))
    assert code == 0
    return {row["space"]: row for row in json.loads(out)["spaces"]}


@pytest.fixture
def nb101_file(shared_data, tmp_path) -> bytes:
    """A small ``nasbench_only108.tfrecord`` in the official framing (30 real cells)."""
    path = tmp_path / ONLY108
    nb101_fixtures.write(path, nb101_fixtures.payloads(nb101_fixtures.load_records(shared_data)))
    return path.read_bytes()


@pytest.fixture
def nds_zip(shared_data) -> bytes:
    """A small ``data.zip`` laid out as the official one (``nds_data/<sweep>.json``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("DARTS_in.json", "ResNeXt-A_in.json"):
            archive.writestr(f"nds_data/{name}", json.dumps(real_records(shared_data, name, 5)))
    return buffer.getvalue()


def _publish(monkeypatch, module, **changes) -> None:
    """Make the first official download of ``module`` say ``changes`` (e.g. a checksum the
    test file has)."""
    first, *others = module.OFFICIAL_DOWNLOADS
    monkeypatch.setattr(module, "OFFICIAL_DOWNLOADS", (replace(first, **changes), *others))


def test_nb101_is_downloaded_checked_against_the_published_sha256_and_prepared(
        nb101_file, tmp_path, capsys, monkeypatch):
    _publish(monkeypatch, nb101_space, checksum=f"sha256:{sha256(nb101_file)}")
    data_dir = tmp_path / "data"
    with ArchiveServer(nb101_file, name=ONLY108) as server:
        code, out, err = _main(capsys, "data", "fetch", "nb101", "--url", server.url,
                               "--data-dir", str(data_dir), "--allow-partial")
    assert code == 0, err
    assert f"fetched {server.url}" in out and "published" in out
    assert "100%" in err, "pooch draws a progress bar on stderr"
    table = GroundTruthTable.load(prepared_table_path(data_dir, "nb101"))
    assert len(table.frame) == 30 and table.source["sha256"] == sha256(nb101_file)
    assert not (data_dir / "downloads" / ONLY108).exists(), "the download is deleted once prepared"
    record = json.loads((data_dir / "downloads" / RECORDS_FILE).read_text())[ONLY108]
    assert (record["url"], record["sha256"], record["checksum"], record["bytes"]) == (
        server.url, sha256(nb101_file), "published", len(nb101_file))
    row = _status(capsys, data_dir)["nb101"]
    assert (row["origin"], row["origin_kind"], row["sha256"], row["checksum_origin"]) == (
        server.url, "fetched", sha256(nb101_file), "published")
    code, out, _ = _main(capsys, "data", "status", "--data-dir", str(data_dir))
    assert f"{server.url} (fetched)" in out and sha256(nb101_file)[:16] in out


def test_a_wrong_published_checksum_keeps_nothing(nb101_file, tmp_path, capsys):
    data_dir = tmp_path / "data"
    with ArchiveServer(nb101_file, name=ONLY108) as server:
        code, _, err = _main(capsys, "data", "fetch", "nb101", "--url", server.url,
                             "--retries", "0", "--data-dir", str(data_dir))
    published = nb101_space.OFFICIAL_DOWNLOADS[0].checksum.removeprefix("sha256:")
    assert code == 2
    assert f"is corrupt: its SHA-256 is not the published {published}" in err
    assert not data_dir.exists(), "no table, no download, no empty folder"


def test_nds_records_the_sha256_of_the_first_download_and_refuses_another_file(
        nds_zip, tmp_path, capsys):
    data_dir = tmp_path / "data"
    with ArchiveServer(nds_zip, name="data.zip") as server:
        code, out, err = _main(capsys, "data", "fetch", "nds", "--url", server.url,
                               "--data-dir", str(data_dir))
        assert code == 0, err
        assert "prepared nds-darts ground truth" in out
        assert "prepared nds-resnext-a ground truth" in out
        assert "skipped nds-amoeba" in out, "the family's other spaces are named as skipped"
        record = json.loads((data_dir / "downloads" / RECORDS_FILE).read_text())["data.zip"]
        assert (record["sha256"], record["checksum"]) == (sha256(nds_zip),
                                                          "recorded on first download")
        rows = _status(capsys, data_dir)
        for space in ("nds-darts", "nds-resnext-a"):
            assert (rows[space]["origin"], rows[space]["sha256"]) == (server.url, sha256(nds_zip))
            assert rows[space]["checksum_origin"] == "recorded on first download"

        server.payload = nds_zip + b"changed upstream"
        code, _, err = _main(capsys, "data", "fetch", "nds", "--url", server.url,
                             "--retries", "0", "--data-dir", str(data_dir))
    assert code == 2
    assert (f"its SHA-256 is not the SHA-256 recorded on its first download "
            f"({record['fetched']}" in err) and err.rstrip().endswith(sha256(nds_zip) + " "
                                                                      "(after 1 tries); nothing "
                                                                      "was kept, run the command "
                                                                      "again later")
    assert os.listdir(data_dir / "downloads") == [RECORDS_FILE], "the bad file is not kept"
    assert json.loads((data_dir / "downloads" / RECORDS_FILE).read_text())["data.zip"] == record


def test_nbnlp_logs_named_by_file_are_fetched_kept_and_prepared(shared_data, tmp_path, capsys):
    logs = (shared_data / "nbnlp" / "train_logs_wikitext-2_logs.zip").read_bytes()
    data_dir = tmp_path / "data"
    with ArchiveServer(logs, name="logs.zip") as server:
        code, out, err = _main(capsys, "data", "fetch", "nbnlp", "--file", NLP_WIKITEXT2,
                               "--url", server.url, "--keep", "--data-dir", str(data_dir))
    assert code == 0, err
    assert (data_dir / "downloads" / NLP_WIKITEXT2).read_bytes() == logs, "--keep keeps it"
    table = GroundTruthTable.load(prepared_table_path(data_dir, "nbnlp"))
    assert table.datasets == ["wikitext2"] and table.source["file"] == NLP_WIKITEXT2
    row = _status(capsys, data_dir)["nbnlp"]
    assert (row["origin"], row["origin_kind"], row["sha256"]) == (server.url, "fetched",
                                                                  sha256(logs))


def test_a_connection_cut_every_time_keeps_nothing(nds_zip, tmp_path, capsys):
    data_dir = tmp_path / "data"
    with ArchiveServer(nds_zip, name="data.zip", cut_next=2) as server:
        code, _, err = _main(capsys, "data", "fetch", "nds", "--url", server.url,
                             "--retries", "1", "--data-dir", str(data_dir))
    assert code == 2
    assert f"download of {server.url} was cut off 2 times" in err and "nothing was kept" in err
    assert not data_dir.exists(), "the folders the fetch created are removed"


def test_a_connection_cut_once_is_retried(nds_zip, tmp_path, capsys):
    with ArchiveServer(nds_zip, name="data.zip", cut_next=1) as server:
        code, _, err = _main(capsys, "data", "fetch", "nds", "--url", server.url,
                             "--retries", "1", "--data-dir", str(tmp_path))
    assert code == 0, err
    assert server.ranges == [None, None], "pooch downloads again from the first byte"
    assert prepared_table_path(tmp_path, "nds-darts").is_file()


@pytest.mark.parametrize("space, file_name, details", [
    ("nb101", ONLY108, "~499 MB; SHA-256 4c39c3936e36a85269881d659e44e61a245babcb72cb374eacacf75"
                       "d0e5f4fd1"),
    ("nds", "data.zip", "size unknown; no published checksum"),
    ("nbnlp", "train_logs_single_run-logs.zip", "size unknown; no published checksum"),
])
def test_offline_every_fetch_says_so_in_one_line_with_the_manual_steps(space, file_name, details,
                                                                        tmp_path, capsys):
    data_dir = tmp_path / "data"
    url = unreachable_url(file_name)
    code, out, err = _main(capsys, "data", "fetch", space, "--url", url, "--retries", "0",
                           "--data-dir", str(data_dir))
    assert code == 2 and out == ""
    # A plugin that fails to load warns on its own line first (an unrelated install's state).
    lines = [line for line in err.splitlines() if not line.startswith("harness: warning:")]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"harness: error: no network: {url} could not be reached")
    assert (f"download {url} on a machine with a connection ({details}), save it as "
            f"{file_name}, then run `harness data prepare {space} --source PATH/{file_name} "
            f"--data-dir {data_dir}` (or copy it to {data_dir / 'downloads' / file_name} and "
            f"run this command again)") in err
    assert not data_dir.exists(), "no empty folder is left behind"


def test_a_file_copied_by_hand_is_checked_and_prepared_offline(nds_zip, tmp_path, capsys):
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / "data.zip").write_bytes(nds_zip)
    code, _, err = _main(capsys, "data", "fetch", "nds", "--url", unreachable_url("data.zip"),
                         "--data-dir", str(tmp_path))
    assert code == 0, err
    assert prepared_table_path(tmp_path, "nds-resnext-a").is_file()
    records = json.loads((tmp_path / "downloads" / RECORDS_FILE).read_text())
    assert records["data.zip"]["sha256"] == sha256(nds_zip)


def test_nb201_behind_google_drive_prints_the_manual_steps(tmp_path, capsys):
    code, out, _ = _main(capsys, "data", "fetch", "nb201", "--file",
                         "NAS-Bench-201-v1_1-096897.pth", "--data-dir", str(tmp_path))
    assert code == 1, "nothing was fetched"
    assert out.startswith("nb201: NAS-Bench-201-v1_1-096897.pth (4.7G; no published checksum) "
                          "is behind a page that needs a browser")
    assert "https://drive.google.com/open?id=16Y0UwGisiouVRxW-W5hEtbxmcHw_0hF_" in out
    assert (f"`harness data prepare nb201 --source PATH/NAS-Bench-201-v1_1-096897.pth "
            f"--data-dir {tmp_path}`") in out
    code, out, _ = _main(capsys, "data", "fetch", "nb201", "--file",
                         "NATS-tss-v1_0-3ffb9-simple.tar", "--data-dir", str(tmp_path))
    assert "tar xf NATS-tss-v1_0-3ffb9-simple.tar" in out and "size unknown" in out
    assert "--source PATH/NATS-tss-v1_0-3ffb9-simple --data-dir" in out, "the unpacked folder"
    assert os.listdir(tmp_path) == []


def test_file_list_and_unknown_file(capsys):
    code, out, _ = _main(capsys, "data", "fetch", "nb101", "--file", "list")
    assert code == 0
    assert [line.split(" ")[0] for line in out.splitlines()] == [
        "nasbench_only108.tfrecord", "nasbench_full.tfrecord"]
    code, _, err = _main(capsys, "data", "fetch", "nb101", "--file", "nasbench.tfrecord")
    assert code == 2
    assert "its files: nasbench_only108.tfrecord, nasbench_full.tfrecord" in err


def test_dataset_fetches_take_no_benchmark_options(tmp_path, capsys):
    code, _, err = _main(capsys, "data", "fetch", "digits", "--url", "http://127.0.0.1:1/x",
                         "--data-dir", str(tmp_path))
    assert code == 2 and "--url: only benchmark files take these" in err


def test_the_official_addresses_are_the_readmes():
    nb101 = {item.file_name: item for item in nb101_space.OFFICIAL_DOWNLOADS}
    assert nb101[ONLY108].url == "https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord"
    assert nb101["nasbench_full.tfrecord"].checksum == (
        "sha256:3d64db8180fb1b0207212f9032205064312b6907a3bbc81eabea10db2f5c7e9c")
    assert [item.url for item in nds_space.OFFICIAL_DOWNLOADS] == [
        "https://dl.fbaipublicfiles.com/nds/data.zip"]
    assert all(item.checksum is None and item.size is None and not item.browser_steps
               for item in (*nds_space.OFFICIAL_DOWNLOADS, *nbnlp_space.OFFICIAL_DOWNLOADS))
    assert all(item.browser_steps and item.url.startswith("https://drive.google.com/")
               for item in nb201_space.OFFICIAL_DOWNLOADS)


def test_a_prepared_file_is_named_in_status_until_the_table_is_replaced(nds_zip, tmp_path,
                                                                         capsys):
    source = tmp_path / "data.zip"
    source.write_bytes(nds_zip)
    data_dir = tmp_path / "data"
    code, _, err = _main(capsys, "data", "prepare", "nds", "--source", str(source),
                         "--data-dir", str(data_dir))
    assert code == 0, err
    row = _status(capsys, data_dir)["nds-darts"]
    assert (row["origin"], row["origin_kind"], row["sha256"]) == (str(source), "named",
                                                                  sha256(nds_zip))
    table_path = prepared_table_path(data_dir, "nds-darts")
    GroundTruthTable.load(table_path).save(table_path)  # as `data build --replace` would
    row = _status(capsys, data_dir)["nds-darts"]
    assert (row["origin"], row["source_file"]) == (None, "data.zip"), \
        "a replaced table is not credited to the old origin"


def test_a_first_download_that_does_not_prepare_is_neither_kept_nor_recorded(tmp_path, capsys):
    with ArchiveServer(b"an HTML error page, not a zip", name="data.zip") as server:
        code, _, err = _main(capsys, "data", "fetch", "nds", "--url", server.url,
                             "--data-dir", str(tmp_path))
    assert code == 2 and "not a readable zip archive" in err
    assert "the download is deleted and its SHA-256 is not recorded" in err
    assert json.loads((tmp_path / "downloads" / RECORDS_FILE).read_text()) == {}
    assert not (tmp_path / "downloads" / "data.zip").exists()


def test_a_checked_download_that_does_not_prepare_is_kept(nb101_file, tmp_path, capsys,
                                                          monkeypatch):
    _publish(monkeypatch, nb101_space, checksum=f"sha256:{sha256(nb101_file)}")
    with ArchiveServer(nb101_file, name=ONLY108) as server:  # 90 records, not the official count
        code, _, err = _main(capsys, "data", "fetch", "nb101", "--url", server.url,
                             "--data-dir", str(tmp_path))
    kept = tmp_path / "downloads" / ONLY108
    assert code == 2 and f"the download is kept at {kept}" in err
    assert kept.read_bytes() == nb101_file
