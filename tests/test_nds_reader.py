"""NDS sweep files -> prepared tables: layouts, streaming, statuses, sources, refusals."""

from __future__ import annotations

import io
import json
import math
import zipfile

import pytest
from nds_fixtures import ANYNET, ANYNET_JSON, real_records, write_sweep

from harness.cli import main
from harness.errors import BenchmarkFileError, DataNotPreparedError
from harness.groundtruth.table import prepared_table_path
from harness.plugins.spaces.nds import reader
from harness.plugins.spaces.nds.prepare import read_space
from harness.plugins.spaces.nds.sweeps import sweep_of


def _records(text: str, chunk: int | None = None, monkeypatch=None) -> list:
    if chunk is not None:
        monkeypatch.setattr(reader, "CHUNK_CHARS", chunk)
    return list(reader.iter_records(io.StringIO(text), "test.json"))


def test_list_and_top_mid_layouts_stream_like_json_load(shared_data, monkeypatch):
    records = real_records(shared_data, "DARTS_in.json", 3)
    as_list = _records(json.dumps(records), chunk=97, monkeypatch=monkeypatch)
    assert [r.params for r in as_list] == [r["params"] for r in records]
    assert as_list[0].final_error == records[0]["test_ep_top1"][-1]
    assert as_list[0].min_error == min(records[0]["test_ep_top1"])
    assert as_list[0].max_ep == 50
    split = _records(json.dumps({"top": records[:2], "mid": records[2:]}))
    assert [(r.position, r.part) for r in split] == [(0, "top"), (1, "top"), (2, "mid")]
    assert [r.net_json for r in split] == [r.net_json for r in as_list]


def test_diverged_records_are_kept_with_their_status():
    base = {"net": ANYNET, "params": 1, "flops": 1, "optim": {"max_ep": 3}}
    text = json.dumps([{**base, "test_ep_top1": [90.0, 80.0, 100.0]},
                       {**base, "test_ep_top1": [100.0, 100.0, 100.0]}])
    text = (text[:-1] + ', {"net": ' + ANYNET_JSON + ', "params": 1, "flops": 1, "optim": '
            '{"max_ep": 2}, "test_ep_top1": [90.0, NaN]}]')
    statuses = [r.status for r in _records(text)]
    assert statuses == ["diverged", "ok", "diverged"]


# A record's text up to its params (a buildable net first).
NET_THEN = '[{"net": ' + ANYNET_JSON + ', "params": '


@pytest.mark.parametrize("text, message", [
    ('[{"net": {}, "params": 1', "cut short"),
    ("", "expected a JSON list"),
    ('{"top": 3}', "a list of records"),
    ('[{"params": 1}]', "lacks net"),
    (NET_THEN + '-1, "flops": 1, "optim": {"max_ep": 1}, "test_ep_top1": [1]}]',
     "params -1 is not an integer in \\[0, "),
    (NET_THEN + '1, "flops": 1, "optim": {"max_ep": 1}, "test_ep_top1": []}]',
     "list of 1 to optim.max_ep"),
    (NET_THEN + '1, "flops": 1, "optim": {"max_ep": 1}, "test_ep_top1": [1]}] x',
     "unexpected text"),
])
def test_bad_files_name_the_file(text, message):
    with pytest.raises(BenchmarkFileError, match=message) as caught:
        _records(text)
    assert "test.json" in str(caught.value)


def test_sweep_names_map_to_spaces_and_datasets():
    assert (sweep_of("DARTS_fix-w-d_in.json").space, sweep_of("DARTS_fix-w-d_in.json").dataset) \
        == ("nds-darts-f", "imagenet")
    assert sweep_of("ResNet_lr-wd_in.json").dataset == "imagenet-lr-wd"
    assert sweep_of("Vanilla_reruns.json").space == "nds-vanilla"
    assert sweep_of("ENAS.json").dataset == "cifar10"
    assert sweep_of("nds_summary.csv") is None and sweep_of("ResNet-B.json") is None


def test_zip_folder_and_single_file_give_one_table(shared_data, tmp_path):
    records = real_records(shared_data, "ENAS_in.json", 4)
    folder = tmp_path / "data"
    path = write_sweep(folder, "ENAS_in.json", records)
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(path, "data/ENAS_in.json")
    tables = [read_space(source, "nds-enas") for source in (folder, path, archive)]
    for table in tables[1:]:
        assert table.frame.drop(columns=[]).equals(tables[0].frame)
    frame = tables[0].frame
    assert list(frame.index)[0].startswith("in-0-")
    assert frame["imagenet/top1"].iloc[0] == pytest.approx(100 - records[0]["test_ep_top1"][-1])
    assert tables[0].default_metric == {"imagenet": "imagenet/top1"}
    with pytest.raises(DataNotPreparedError, match="no sweep file of nds-darts"):
        read_space(folder, "nds-darts")


def test_cli_prepares_every_shared_file(shared_data, tmp_path, capsys):
    assert main(["data", "prepare", "nds", "--source", str(shared_data / "nds"),
                 "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "skipped nds-enas-f" in out and "skipped nds-pnas-f" in out
    from harness.groundtruth.table import GroundTruthTable

    sizes = {"nds-darts": 121 + 515, "nds-darts-f": 499, "nds-resnext-b": 164,
             "nds-resnet": 494 + 200, "nds-vanilla": 500 + 200}
    for space, rows in sizes.items():
        table = GroundTruthTable.load(prepared_table_path(tmp_path, space))
        assert len(table.frame) == rows, space
    darts_f = GroundTruthTable.load(prepared_table_path(tmp_path, "nds-darts-f"))
    assert darts_f.source["diverged_records"] == {"imagenet": 1}
    assert set(darts_f.frame["max_ep"]) == {5}
    diverged = darts_f.frame[darts_f.frame["status"] == "diverged"]
    assert len(diverged) == 1 and math.isnan(diverged["imagenet/top1"].iloc[0])


def test_cli_truncated_file_exit_2_and_no_table(shared_data, tmp_path, capsys):
    text = json.dumps(real_records(shared_data, "PNAS_in.json", 3))
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "PNAS_in.json").write_text(text[: len(text) // 2])
    data_dir = tmp_path / "dd"
    assert main(["data", "prepare", "nds", "--source", str(folder),
                 "--data-dir", str(data_dir)]) == 2
    assert "PNAS_in.json" in capsys.readouterr().err
    assert not prepared_table_path(data_dir, "nds-pnas").exists()
    (folder / "PNAS_in.json").write_bytes(b"\xff\xfe garbage")
    assert main(["data", "prepare", "nds-pnas", "--source", str(folder / "PNAS_in.json"),
                 "--data-dir", str(data_dir)]) == 2
    assert not prepared_table_path(data_dir, "nds-pnas").exists()


def test_the_net_check_knows_the_ops_the_builder_builds():
    from harness.plugins.spaces.nds.cell_ops import OPS
    from harness.plugins.spaces.nds.netspec import CELL_OPS

    assert set(CELL_OPS) == set(OPS), "netspec.CELL_OPS and cell_ops.OPS must name the same ops"
