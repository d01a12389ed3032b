"""The out-of-the-box run: the bundled NB-201 ground truth and the bundled CIFAR images stand in
for what is not prepared, visibly (notes, trial keys, `data status`, the printed paper table)."""

from pathlib import Path

from harness import cli
from harness.config import RunConfig
from harness.plan import plan_run
from harness.registry import get_registry


def _config(tmp_path: Path, **overrides) -> RunConfig:
    values = {"spaces": ["nb201"], "scorers": ["naswot", "gennas-search-n", "params"],
              "samples": 3, "workers": 0, "data_dir": str(tmp_path / "data"),
              "out": str(tmp_path / "run")}
    return RunConfig(**{**values, **overrides})


def test_unprepared_cifar10_falls_back_to_the_bundled_images_with_capped_batches(tmp_path):
    plan = plan_run(_config(tmp_path))
    assert [(p.name, p.bundled, p.datasets) for p in plan.spaces] == [
        ("nb201", True, ["cifar10-valid"])], "the bundled table, its first dataset"
    jobs = {job.trial.scorer: job for job in plan.jobs}
    naswot = jobs["naswot"]
    assert naswot.dataset_plugin == "images" and naswot.inputs["like"] == "cifar10"
    assert Path(naswot.inputs["path"]).name == "cifar10_sample20.npz"
    assert naswot.trial.batch_size == 20, "the trial key holds the batch size actually used"
    assert jobs["gennas-search-n"].trial.batch_size == 16, "GenNAS's 16 fit in the 20 images"
    assert jobs["params"].inputs is None, "a data-free scorer reads no images"
    assert naswot.config["input_source"]["images"] == "bundled:cifar10_sample20.npz", \
        "the trial key must not depend on where the package is installed"
    assert any("naswot: batch size 128 -> 20" in note for note in plan.notes), plan.notes
    assert any("20 real cifar10 images bundled" in note for note in plan.notes), plan.notes


def test_each_dataset_falls_back_to_its_own_bundled_images(tmp_path):
    plan = plan_run(_config(tmp_path, datasets=["cifar10-valid", "cifar100"],
                            scorers=["naswot"]))
    samples = {job.trial.dataset: Path(job.inputs["path"]).name for job in plan.jobs}
    assert samples == {"cifar10-valid": "cifar10_sample20.npz",
                       "cifar100": "cifar100_sample20.npz"}
    assert {job.inputs["like"] for job in plan.jobs} == {"cifar10", "cifar100"}


def test_a_prepared_dataset_is_read_instead_of_the_bundled_images(tmp_path):
    cifar10 = get_registry().get("dataset", "cifar10")
    cifar10.folder(tmp_path / "data").mkdir(parents=True)
    plan = plan_run(_config(tmp_path))
    readers = {(job.dataset_plugin, job.trial.batch_size) for job in plan.jobs if job.inputs}
    assert readers == {("cifar10", 128), ("cifar10", 16)}
    assert not any("bundled" in note and "images" in note for note in plan.notes)


def test_data_status_says_bundled(tmp_path, capsys):
    assert cli.main(["data", "status", "--data-dir", str(tmp_path)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("nb201"))
    assert "bundled" in row and "(shipped with the package)" in row, row


def test_compare_on_bundled_data_prints_the_answer_and_names_the_report(tmp_path, capsys):
    run = tmp_path / "run"
    code = cli.main(["compare", "--spaces", "nb201", "--scorers", "synflow,params",
                     "--samples", "6", "--workers", "0", "--quiet", "--format", "md,csv",
                     "--data-dir", str(tmp_path / "data"), "--out", str(run)])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0, lines
    assert "### Ranking quality: Kendall tau-b per scorer" in lines
    header = next(line for line in lines if line.startswith("| scorer"))
    assert "nb201/cifar10-valid published" in header and "published in 95 %" in header
    [synflow] = [line for line in lines if line.startswith("| synflow")]
    measured, published, inside = (cell.strip() for cell in synflow.split("|")[2:5])
    assert "[" in measured, "an interval by default on 6 archs"
    assert published == "0.520" and inside in ("yes", "no"), synflow
    assert not any(line.startswith("wrote ") for line in lines), "files only with --verbose"
    written = len(list(run.glob("*.md")) + list(run.rglob("*.csv")))
    assert lines[-1] == (f"report: {run / 'report.md'}, {written} files in {run} "
                         f"(--verbose lists them)")
    assert "Published reference values" in (run / "report.md").read_text(), "--paper is on"
    assert cli.main(["report", str(run), "--format", "md", "--verbose"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"wrote {run / 'report.md'}" and lines[-1].startswith("report: ")


def test_default_selection_names_the_unprepared_spaces_in_one_line(tmp_path, capsys):
    code = cli.main(["compare", "--scorers", "params", "--samples", "2", "--workers", "0",
                     "--quiet", "--format", "md", "--data-dir", str(tmp_path / "data"),
                     "--out", str(tmp_path / "run")])
    out = capsys.readouterr().out
    assert code == 0, out
    skipped = [line for line in out.splitlines() if line.startswith("skipped")]
    unprepared = [name for name in get_registry().names("space") if name != "nb201"]
    assert len(skipped) == 1, skipped
    assert f"skipped {len(unprepared)} spaces without prepared ground truth" in skipped[0]
    assert all(name in skipped[0] for name in unprepared)
