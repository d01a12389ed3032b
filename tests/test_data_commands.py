"""`harness data` never destroys data, and the CLI's shared behaviour a new user meets first:
global options on either side of the sub-command, a closed output pipe, prepared files that
follow the umask, and prepare's help naming every option."""

import json
import os
import subprocess
import sys

import pytest
import toy_plugins

from harness import cli
from harness.groundtruth.table import GroundTruthTable, prepared_table_path

TINY_BUILD = ["data", "build", "nb201", "--dataset", "digits", "--archs", "2", "--seeds", "1",
              "--epochs", "1", "--width", "4", "--cells", "1", "--image-size", "8"]


def _main(capsys, *argv):
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_build_refuses_to_replace_a_prepared_table_without_replace(tmp_path, capsys):
    prepared = prepared_table_path(tmp_path, "nb201")
    toy_plugins.toy_table().save(prepared)
    before = prepared.read_bytes()
    code, _, err = _main(capsys, *TINY_BUILD, "--data-dir", str(tmp_path))
    assert code == 2, err
    assert err.strip().splitlines() == [
        f"harness: error: the prepared nb201 ground truth {prepared} already exists and building "
        f"would replace it; pass --out NEW_FILE to write elsewhere, or --replace to replace it"]
    assert prepared.read_bytes() == before, "a refused build must leave the table untouched"
    out_file = tmp_path / "mine.parquet"
    out_file.write_text("not mine to overwrite")
    code, _, err = _main(capsys, *TINY_BUILD, "--data-dir", str(tmp_path), "--out", str(out_file))
    assert code == 2 and f"--out {out_file} already exists" in err, err
    assert out_file.read_text() == "not mine to overwrite"
    code, _, err = _main(capsys, *TINY_BUILD, "--data-dir", str(tmp_path), "--replace")
    assert code == 0, err
    assert len(GroundTruthTable.load(prepared).frame) == 2, "--replace replaces, on request"


def test_a_table_built_with_out_is_installed_by_data_prepare(tmp_path, capsys):
    built = tmp_path / "built.parquet"
    code, out, err = _main(capsys, *TINY_BUILD, "--data-dir", str(tmp_path), "--out", str(built))
    assert code == 0, err
    assert f"harness data prepare nb201 --source {built}" in out, "say how to install it"
    assert not prepared_table_path(tmp_path, "nb201").exists(), "--out leaves the data dir alone"
    code, out, err = _main(capsys, "data", "prepare", "nb201", "--source", str(built),
                           "--data-dir", str(tmp_path))
    assert code == 0, err
    installed = GroundTruthTable.load(prepared_table_path(tmp_path, "nb201"))
    original = GroundTruthTable.load(built)
    assert installed.frame.equals(original.frame) and installed.source == original.source
    code, out, _ = _main(capsys, "data", "status", "--data-dir", str(tmp_path))
    assert "2 archs; datasets digits" in out, out
    code, _, err = _main(capsys, "data", "prepare", "nb101", "--source", str(built),
                         "--data-dir", str(tmp_path))
    assert code == 2 and "is a harness table of space 'nb201', not 'nb101'" in err, err


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_prepared_tables_follow_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        path = toy_plugins.toy_table().save(tmp_path / "toy" / "ground_truth.parquet")
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask, oct(path.stat().st_mode)
    assert [p.name for p in path.parent.iterdir()] == ["ground_truth.parquet"], "no temp left"


def test_global_data_dir_works_before_and_after_the_sub_command(toy, tmp_path, capsys):
    _, data_dir = toy
    for argv in (["--data-dir", str(data_dir), "data", "status"],
                 ["data", "status", "--data-dir", str(data_dir)]):
        code, out, err = _main(capsys, *argv)
        assert code == 0, err
        assert out.splitlines()[0] == f"data dir: {data_dir}", argv
    code, out, _ = _main(capsys, "--data-dir", str(tmp_path / "elsewhere"), "data", "status",
                         "--data-dir", str(data_dir))
    assert out.splitlines()[0] == f"data dir: {data_dir}", "the sub-command's own option wins"


def test_prepare_help_documents_the_columns_form_and_every_space_option(capsys):
    with pytest.raises(SystemExit):
        cli.main(["data", "prepare", "--help"])
    text = capsys.readouterr().out
    for option in ("--columns NEW=OLD,...", "--allow-missing", "--allow-partial",
                   "--verify-crc", "--dataset NAME", "--duplicates", "--higher-is-better",
                   "--description", "data build --out"):
        assert option in text, f"{option} missing from data prepare --help"


def test_prepare_help_lists_a_third_party_spaces_own_options(toy, capsys):
    with pytest.raises(SystemExit):
        cli.main(["data", "prepare", "--help"])
    text = capsys.readouterr().out
    assert "toy options:\n  --column NAME" in text


def test_a_closed_output_pipe_is_a_quiet_exit_141_not_a_traceback():
    process = subprocess.Popen([sys.executable, "-m", "harness.cli", "plugins", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # like `| head` that has read enough, before anything is written
    err = process.stderr.read().decode()
    process.wait(timeout=120)
    assert process.returncode == 141, err
    assert err == "", "no BrokenPipeError traceback, no 'Exception ignored' line"


def test_data_status_json_states_each_space(toy, tmp_path, capsys):
    _, data_dir = toy
    code, out, _ = _main(capsys, "data", "status", "--json")
    status = json.loads(out)
    assert code == 0 and status["data_dir"] == str(data_dir)
    toy_row = next(row for row in status["spaces"] if row["space"] == "toy")
    assert (toy_row["state"], toy_row["source_file"]) == ("prepared", "toy.csv")
    assert toy_row["sha256"] == "0" * 64


def test_data_status_json_does_not_import_torch(tmp_path):
    probe = ("import sys; from harness.cli import main; main(['data', 'status', '--json']); "
             "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            env={**os.environ, "HARNESS_DATA_DIR": str(tmp_path)}, timeout=120)
    assert result.stdout.splitlines()[-1] == "False", result.stdout + result.stderr
    assert json.loads("\n".join(result.stdout.splitlines()[:-1]))["spaces"]


def test_fetching_a_bundled_dataset_says_nothing_needs_fetching(tmp_path, capsys):
    code, out, _ = _main(capsys, "data", "fetch", "digits", "--data-dir", str(tmp_path / "d"))
    assert code == 0
    assert out.strip() == "digits: nothing to fetch; its images are installed with scikit-learn"
    assert not (tmp_path / "d").exists()


def test_preparing_a_big_source_shows_the_elapsed_time(toy, tmp_path, capsys, monkeypatch):
    from harness.cli import data as data_commands

    source = tmp_path / "mine.csv"
    source.write_text("arch_id,acc2\nw1,3.0\nw2,1.0\n")
    monkeypatch.setattr(data_commands, "BIG_SOURCE_BYTES", 1)  # every source counts as big
    code, out, err = _main(capsys, "data", "prepare", "toy", "--source", str(source),
                           "--column", "acc2", "--data-dir", str(tmp_path / "other"))
    assert code == 0, err
    assert "preparing toy from mine.csv: 00:0" in err, err
