"""A user's mistake is one line on stderr, exit status 2, no traceback and nothing written.

Each case writes its own bad input under ``tmp_path``, runs ``harness compare`` in this process
on the toy space, and checks the whole folder is as it was before. A harness bug, by contrast,
shows its traceback and says how to report it.
"""

import errno
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import toy_plugins
from PIL import Image

from harness import cli

BASE = ["compare", "--spaces", "toy", "--scorers", "weightsum", "--samples", "2",
        "--workers", "0", "--quiet", "--no-report"]


def _png(path: Path) -> Path:
    Image.fromarray(np.full((8, 8, 3), 120, np.uint8)).save(path)
    return path


def _empty_folder(tmp: Path) -> str:
    (tmp / "empty").mkdir()
    return str(tmp / "empty")


def _folder_with_corrupt_png(tmp: Path) -> str:
    folder = tmp / "images"
    folder.mkdir()
    _png(folder / "good_1.png")
    (folder / "bad_2.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    return str(folder)


def _truncated_png(tmp: Path) -> str:
    whole = _png(tmp / "whole.png").read_bytes()
    (tmp / "cut.png").write_bytes(whole[:40])
    (tmp / "whole.png").unlink()
    return str(tmp / "cut.png")


def _text_file(tmp: Path) -> str:
    (tmp / "notes.txt").write_text("not images\n")
    return str(tmp / "notes.txt")


def _deep_arch_list(tmp: Path) -> str:
    (tmp / "deep.txt").write_text("[" * 100_000 + "]" * 100_000 + "\n")
    return str(tmp / "deep.txt")


def _binary_arch_list(tmp: Path) -> str:
    (tmp / "archs.bin").write_bytes(bytes(range(128, 256)))
    return str(tmp / "archs.bin")


def _file_as_out(tmp: Path) -> str:
    return _text_file(tmp)


def _under_a_file(tmp: Path) -> str:
    return str(Path(_text_file(tmp)) / "run")


# (id, flags after BASE (a callable writes its bad input and returns the flag's value), what the
# one line must name)
CASES = [
    ("images-empty-folder", ["--images", _empty_folder], "holds no"),
    ("images-corrupt-png", ["--images", _folder_with_corrupt_png], "bad_2.png"),
    ("images-truncated-png-file", ["--images", _truncated_png], "cut.png"),
    ("images-text-file", ["--images", _text_file], "notes.txt"),
    ("images-missing", ["--images", "missing-folder"], "missing-folder"),
    ("device-many-gpus", ["--device", "cuda:99"], "--device cuda:99"),
    ("device-bad-index", ["--device", "cuda:x"], "--device 'cuda:x'"),
    ("device-unknown", ["--device", "tpu"], "--device 'tpu'"),
    ("trial-timeout-negative", ["--trial-timeout", "-1"], "--trial-timeout"),
    ("trial-timeout-zero", ["--trial-timeout", "0"], "--trial-timeout"),
    ("trial-timeout-nan", ["--trial-timeout", "nan"], "--trial-timeout"),
    ("workers-negative", ["--workers", "-1"], "--workers -1"),
    ("option-negative-batch", ["--option", "weightsum.batch_size=-4"], "weightsum.batch_size"),
    ("option-zero-batch", ["--option", "weightsum.batch_size=0"], "at least 1"),
    ("option-float-batch", ["--option", "weightsum.batch_size=2.5"], "an integer"),
    ("option-bad-json", ["--option", "weightsum.batch_size={bad json"], "not valid JSON"),
    ("option-text-for-int", ["--option", "weightsum.batch_size=many"], "an integer"),
    ("option-bool-for-number", ["--option", "weightsum.scale=true"], "weightsum.scale"),
    ("option-infinite-number", ["--option", "weightsum.scale=1e999"], "a finite number"),
    ("option-unknown-key", ["--option", "weightsum.nope=1"], "no option 'nope'"),
    ("option-no-value", ["--option", "weightsum.batch_size"], "SCORER.KEY=VALUE"),
    ("option-other-scorer", ["--option", "width.batch_size=2"], "'width'"),
    ("synflow-negative-batch", ["--scorers", "synflow", "--option", "synflow.batch_size=-4"],
     "--option synflow.batch_size=-4: must be at least 1"),
    ("zero-cost-split-data", ["--scorers", "snip", "--option", "snip.split_data=0"],
     "snip.split_data=0: must be at least 1"),
    ("gennas-momentum", ["--scorers", "gennas", "--option", "gennas.momentum=1.5"],
     "gennas.momentum=1.5: must be at most 1"),
    ("gennas-iterations-type", ["--scorers", "gennas", "--option", "gennas.iterations=ten"],
     "gennas.iterations='ten': expects an integer"),
    ("nested-option-type", ["--scorers", "naswot", "--option", "naswot.inputs=3"],
     "naswot.inputs=3: expects a JSON object"),
    ("out-is-a-file", ["--out", _file_as_out], "is a file"),
    ("out-under-a-file", ["--out", _under_a_file], "is a file"),
    ("data-dir-is-a-file", ["--data-dir", _text_file], "--data-dir"),
    ("arch-list-deeply-nested", ["--arch-list", _deep_arch_list], "nested too deeply"),
    ("arch-list-binary", ["--arch-list", _binary_arch_list], "archs.bin"),
    ("arch-list-missing", ["--arch-list", "nowhere.txt"], "nowhere.txt"),
    ("sample-seed-not-a-number", ["--sample-seed", "abc"], "--sample-seed"),
    ("workers-not-a-number", ["--workers", "two"], "--workers"),
    ("samples-not-a-number", ["--samples", "ten"], "--samples"),
    ("seeds-backwards", ["--seeds", "3-1"], "--seeds"),
    ("seeds-too-many", ["--seeds", "0-5000000000"], "more than 10000 seeds"),
    ("unknown-flag", ["--sampels", "3"], "--sampels"),
]


def _snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


def _run(argv: list[str], capsys) -> tuple[int, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse errors exit from inside the parser
        code = exc.code
    return code, capsys.readouterr().err


@pytest.fixture
def toy_with_images(tmp_path, monkeypatch):
    """The toy environment plus the built-in reporters, datasets (``--images``) and scorers (their
    declared option ranges); the toy dataset gets a mean and std so that images can stand in
    for it."""
    monkeypatch.setattr(toy_plugins.ToyDataset, "mean", (0.5, 0.5, 0.5), raising=False)
    monkeypatch.setattr(toy_plugins.ToyDataset, "std", (0.25, 0.25, 0.25), raising=False)
    plugins = f"{toy_plugins.CORE_PLUGINS},{toy_plugins.REPORTERS},datasets,scorers,gennas"
    with toy_plugins.toy_environment(tmp_path, monkeypatch, plugins=plugins) as environment:
        yield environment


@pytest.mark.parametrize("flags, names", [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_a_users_mistake_is_one_line_exit_2_and_nothing_written(
        toy_with_images, tmp_path, monkeypatch, capsys, flags, names):
    monkeypatch.chdir(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    argv = [*BASE, "--out", str(work / "run")]
    argv += [flag(work) if callable(flag) else flag for flag in flags]
    before = _snapshot(tmp_path)
    code, err = _run(argv, capsys)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert names in err and "Traceback" not in err
    assert _snapshot(tmp_path) == before, "nothing is written"


def _run_folder(tmp: Path) -> str:
    return str(tmp / "run")


# A compare that writes its report: options of the report are checked before trials run too.
REPORTED = ["compare", "--spaces", "toy", "--scorers", "width", "--samples", "2", "--workers",
            "0", "--quiet", "--out", _run_folder]

# Other commands: (id, argv after `harness` (callables as in CASES), what the line must name)
OTHER_CASES = [
    ("report-format-unknown", [*REPORTED, "--format", "md,bogus"], "'bogus'"),
    ("report-metric-unknown", [*REPORTED, "--metric", "bogus"], "--metric 'bogus'"),
    ("report-metric-of-space-unknown", [*REPORTED, "--metric", "toy=bogus"], "'bogus'"),
    ("report-bootstrap-negative", [*REPORTED, "--bootstrap", "-5"], "--bootstrap -5"),
    ("data-status-data-dir-is-a-file", ["data", "status", "--data-dir", _text_file],
     "--data-dir"),
    ("data-fetch-data-dir-is-a-file", ["data", "fetch", "cifar10", "--data-dir", _text_file],
     "--data-dir"),
    ("report-of-no-run", ["report", "nowhere"], "nowhere"),
    ("data-build-seeds-not-a-number", ["data", "build", "toy", "--seeds", "abc"], "--seeds"),
]


@pytest.mark.parametrize("argv, names", [case[1:] for case in OTHER_CASES],
                         ids=[case[0] for case in OTHER_CASES])
def test_other_commands_refuse_mistakes_in_one_line(toy_with_images, tmp_path, monkeypatch,
                                                    capsys, argv, names):
    monkeypatch.chdir(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    argv = [arg(work) if callable(arg) else arg for arg in argv]
    before = _snapshot(tmp_path)
    code, err = _run(argv, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert names in err and "Traceback" not in err
    assert _snapshot(tmp_path) == before, "nothing is written"


def test_data_dir_variable_naming_a_file_is_refused(toy, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HARNESS_DATA_DIR", _text_file(tmp_path))
    code, err = _run([*BASE, "--out", str(tmp_path / "run")], capsys)
    assert code == 2 and "HARNESS_DATA_DIR" in err and "is a file" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("error", [errno.EACCES, errno.EROFS, errno.ENOSPC])
def test_a_refusal_of_the_machine_is_one_line(toy, monkeypatch, capsys, error):
    def refused(*args, **kwargs):
        raise OSError(error, os.strerror(error), "/somewhere/run.json")

    monkeypatch.setattr("harness.plan.plan_run", refused)
    code, err = _run([*BASE], capsys)
    assert code == 2 and err.strip() == f"harness: error: /somewhere/run.json: {os.strerror(error)}"


@pytest.mark.parametrize("reason", ["no permission", "read-only file system"])
def test_unwritable_out_is_refused_before_anything_is_written(toy, tmp_path, monkeypatch,
                                                               capsys, reason):
    """``os.access`` answers False for a folder without write permission and for one on a
    read-only file system (EROFS); faked here because tests may run as root."""
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False
                        if Path(path) == locked else real_access(path, mode, **kw))
    code, err = _run([*BASE, "--scorers", "width", "--out", str(locked / "run")], capsys)
    assert code == 2 and "not writable" in err and str(locked) in err
    assert len(err.strip().splitlines()) == 1 and not list(locked.iterdir())


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="no /proc on this system")
@pytest.mark.parametrize("argv, flag", [
    ([*BASE, "--out", "/proc/harness_out"], "--out /proc/harness_out"),
    (["data", "prepare", "toy", "--source", __file__, "--data-dir", "/proc/hx"],
     "--data-dir /proc/hx"),
    (["data", "build", "toy", "--dataset", "toyset", "--archs", "2", "--data-dir",
      "/proc/hx/deeper"], "--data-dir /proc/hx/deeper"),
    (["data", "build", "toy", "--dataset", "toyset", "--archs", "2", "--out", "/proc/hx/t.pq"],
     "--out /proc/hx/t.pq"),
    (["profile", "--spaces", "toy", "--out", "/proc/hp"], "--out /proc/hp"),
    (["export", "some-run", "--output", "/proc/hx/trials.csv"], "--output /proc/hx/trials.csv"),
])
def test_a_folder_no_file_can_be_made_in_is_refused_first(toy, argv, flag, capsys):
    """/proc passes the permission-bit check for root and refuses every new entry: only trying
    tells, so the preflight tries."""
    code, err = _run(argv, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"{flag}: cannot create or write a file in" in err


def test_a_full_disk_is_found_before_the_run_and_leaves_nothing(toy, tmp_path, monkeypatch,
                                                                capsys):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("tempfile.mkstemp", full)
    before = _snapshot(tmp_path)
    code, err = _run([*BASE, "--out", str(tmp_path / "new" / "run")], capsys)
    assert code == 2 and os.strerror(errno.ENOSPC) in err, err
    assert _snapshot(tmp_path) == before, "the folders made to try are removed again"


def test_a_run_whose_trials_all_fail_alike_ends_with_that_error(toy, tmp_path, monkeypatch,
                                                                capsys):
    """A damaged dataset file fails every trial the same way: one line, exit 2, the trials
    stored; once fixed, --retry-failed runs them again."""
    from harness import trial
    from harness.errors import DatasetError
    from harness.store import TrialStore

    def damaged(*args, **kwargs):
        raise DatasetError("toyset batch file data_batch_1 is truncated; fetch it again")

    intact = toy_plugins.ToyDataset.batch
    monkeypatch.setattr(toy_plugins.ToyDataset, "batch", damaged)
    run = tmp_path / "run"
    code, err = _run([*BASE, "--out", str(run)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert ("all 2 trials run now failed with one error: DatasetError: toyset batch file "
            "data_batch_1 is truncated") in err and "--retry-failed" in err
    with TrialStore.for_run(run) as store:
        assert len(store.finished()) == 2, "the failed trials are kept"
    monkeypatch.setattr(toy_plugins.ToyDataset, "batch", intact)
    trial._BATCH_CACHE.clear()  # this process's worker cached the failure; a new one has not
    code, err = _run([*BASE, "--out", str(run), "--retry-failed"], capsys)
    assert code == 0, err


def test_a_bug_failing_every_trial_still_ends_with_the_report(toy, tmp_path, capsys):
    """A scorer's own exception is not the user's to fix: the run ends as before (exit 0, the
    errors in the report)."""
    code, err = _run([*BASE[:4], "boom", *BASE[5:], "--out", str(tmp_path / "run")], capsys)
    assert code == 0, err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_refused(toy, tmp_path, capsys):
    code, err = _run([*BASE, "--device", "cuda", "--out", str(tmp_path / "run")], capsys)
    assert code == 2 and "no CUDA device" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_a_single_png_file_is_an_image_set(toy_with_images, tmp_path, capsys):
    image = _png(tmp_path / "one_2.png")
    code, err = _run([*BASE, "--images", str(image), "--out", str(tmp_path / "run")], capsys)
    assert code == 0, err
    assert (tmp_path / "run" / "run.json").exists()


def test_options_of_the_right_type_pass(toy, tmp_path, capsys):
    code, err = _run([*BASE, "--option", "weightsum.scale=2", "--option",
                      "weightsum.batch_size=3", "--out", str(tmp_path / "run")], capsys)
    assert code == 0, err


def test_a_harness_bug_shows_its_traceback_and_how_to_report_it(toy, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("an internal invariant broke")

    monkeypatch.setattr("harness.plan.plan_run", broken)
    code, err = _run([*BASE], capsys)
    assert code == 1
    assert "Traceback" in err and "RuntimeError: an internal invariant broke" in err
    assert "bug of the harness" in err.splitlines()[-1]
    assert "harness --version" in err.splitlines()[-1]
