"""Report outputs of the command line: ``harness report --out DIR`` writes a report elsewhere;
``harness compare --json`` prints one JSON document on stdout, for scripts."""

import json

import pytest
import toy_plugins
from synthetic_run import make_run

from harness import cli


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("run"))


def test_report_out_writes_elsewhere_and_leaves_the_run_folder_alone(run_dir, tmp_path,
                                                                     capsys):
    before = sorted(p.name for p in run_dir.iterdir())
    code = cli.main(["report", str(run_dir), "--format", "md,csv", "--metric", "err",
                     "--out", str(tmp_path / "err")])
    assert code == 0
    assert "err" in (tmp_path / "err" / "report.md").read_text()
    assert (tmp_path / "err" / "tables" / "answer_kendall.csv").exists()
    assert sorted(p.name for p in run_dir.iterdir()) == before
    (tmp_path / "file").write_text("x")
    capsys.readouterr()
    code = cli.main(["report", str(run_dir), "--out", str(tmp_path / "file")])
    err = capsys.readouterr().err
    assert code == 2 and "is a file" in err and len(err.strip().splitlines()) == 1


def test_compare_json_is_one_document_for_scripts(tmp_path, monkeypatch, capsys):
    plugins = f"{toy_plugins.CORE_PLUGINS},{toy_plugins.REPORTERS}"
    with toy_plugins.toy_environment(tmp_path, monkeypatch, plugins=plugins):
        code = cli.main(["compare", "--spaces", "toy", "--scorers", "width", "--samples", "all",
                         "--workers", "0", "--quiet", "--format", "md", "--json", "--out",
                         str(tmp_path / "run")])
    out = capsys.readouterr().out
    document = json.loads(out)
    assert code == 0 and document["format"] == "harness-compare/1"
    assert document["state"] == "done" and document["trials"]["ran"] == 8
    assert document["trials"]["statuses"] == {"ok": 8}
    assert document["report_files"] == [str(tmp_path / "run" / "report.md")]
    [width] = document["kendall"]
    assert width["scorer"] == "width" and width["toy/toyset"] == pytest.approx(1.0)
