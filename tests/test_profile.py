"""``harness profile``: warm-up discarded, median of repeats, OOM cells, the cost table."""

import argparse
import json
import time

import pytest
import torch
import toy_plugins

from harness import hookimpl, profiling
from harness.cli.reports import add_report_commands
from harness.store import Trial, TrialResult


class OomAtFour:
    """Runs out of GPU memory from batch size 4 on (what a too-large batch does on a GPU)."""

    name = "oom4"
    needs_inputs = True
    defaults = {"batch_size": 2}

    def score(self, ctx) -> float:
        if ctx.batch.inputs.shape[0] >= 4:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return 1.0


BUSY_S = 0.05


class Busy:
    """Spends ``BUSY_S`` CPU seconds per trial."""

    name = "busy"
    needs_inputs = False
    defaults = {"batch_size": 2}

    def score(self, ctx) -> float:
        deadline = time.process_time() + BUSY_S
        while time.process_time() < deadline:
            pass
        return 1.0


class _Plugin:
    @hookimpl
    def harness_register_scorers(self, register):
        register(OomAtFour())
        register(Busy())


@pytest.fixture
def toy(tmp_path, monkeypatch):
    with toy_plugins.toy_environment(tmp_path, monkeypatch) as (registry, data_dir):
        registry.register_plugin(_Plugin(), "oom-plugin")
        yield registry, data_dir


def test_profile_measures_every_scorer_batch_size_and_arch(toy):
    cells = profiling.profile(["toy"], [2, 4], scorers=["width", "oom4"], archs=2, warmup=1,
                              repeats=3)
    assert len(cells) == 2 * 2 * 2, "scorers x batch sizes x archs"
    assert {(c.scorer, c.batch_size) for c in cells} == {("width", 2), ("width", 4),
                                                        ("oom4", 2), ("oom4", 4)}
    width = [c for c in cells if c.scorer == "width"]
    assert all(c.status == "ok" and c.median_s > 0 and c.repeats == 3 for c in width)
    assert all(c.cpu_s is not None and c.cpu_s >= 0 for c in width)
    oom = [c for c in cells if c.scorer == "oom4" and c.batch_size == 4]
    assert [c.status for c in oom] == ["oom", "oom"] and oom[0].median_s is None
    assert oom[0].cpu_s is None
    table = profiling.profile_table(cells)
    assert table.cell(["toy", "toyset", "oom4"], "bs 4").text == "OOM"
    assert table.cell(["toy", "toyset", "oom4"], "bs 2").value > 0


def test_warmup_is_discarded_and_the_median_taken(monkeypatch):
    walls = iter([9.0, 0.3, 0.1, 0.2, 5.0])  # 1 warm-up, then 4 repeats: median 0.25
    cpus = iter([7.0, 0.4, 0.1, 0.2, 4.0])  # the same for CPU seconds: median 0.3
    trial = Trial("s", "d", "a", "x", "h", 0, "default", "default", 8)

    def fake_execute(job):
        return TrialResult(trial, 1.0, "ok", "", next(walls), 10.0, "cpu", "0", "0", "t",
                           cpu_s=next(cpus))

    monkeypatch.setattr("harness.trial.execute_trial", fake_execute)
    job = argparse.Namespace(trial=trial)
    cell = profiling._time_job(job, warmup=1, repeats=4)
    assert (cell.median_s, cell.repeats, cell.peak_mem_mb) == (0.25, 4, 10.0)
    assert cell.cpu_s == pytest.approx(0.3)


def test_a_profiled_trial_counts_the_cpu_seconds_its_scorer_spends(toy):
    [cell] = profiling.profile(["toy"], [2], scorers=["busy"], archs=1, warmup=0, repeats=1)
    assert cell.status == "ok" and BUSY_S <= cell.cpu_s < 1.0


def test_profile_table_from_known_cells():
    def cell(scorer, batch, arch, seconds, status="ok", memory=100.0):
        return profiling.ProfileCell("sp", "ds", scorer, batch, arch, status, seconds, memory,
                                     5, "")

    cells = [cell("a", 16, "x", 0.1), cell("a", 16, "y", 0.3, memory=300.0),
             cell("a", 96, "x", None, "oom"), cell("a", 96, "y", 1.0),
             cell("b", 16, "x", None, "error")]
    table = profiling.profile_table(cells)
    assert table.columns == ["bs 16", "bs 96"]
    entry = table.cell(["sp", "ds", "a"], "bs 16")
    assert entry.value == pytest.approx(0.2) and entry.text == "0.2000 [300 MB]"
    assert table.cell(["sp", "ds", "a"], "bs 96").text == "OOM", "any OOM arch -> OOM"
    assert table.cell(["sp", "ds", "b"], "bs 16").text == "error"
    assert table.cell(["sp", "ds", "b"], "bs 96").value is None


def test_cpu_table_gives_the_median_and_max_over_archs():
    def cell(scorer, arch, cpu, status="ok"):
        return profiling.ProfileCell("sp", "ds", scorer, 64, arch, status, cpu, None, 1, "",
                                     cpu_s=cpu)

    cells = [cell("a", "x", 0.1), cell("a", "y", 0.4), cell("a", "z", 0.2),
             cell("b", "x", None, "error")]
    table = profiling.cpu_table(cells)
    assert table.columns == ["bs 64 median", "bs 64 max"]
    assert table.cell(["sp", "ds", "a"], "bs 64 median").value == pytest.approx(0.2)
    assert table.cell(["sp", "ds", "a"], "bs 64 max").value == pytest.approx(0.4)
    assert table.cell(["sp", "ds", "a"], "bs 64 max").count == 3
    assert table.cell(["sp", "ds", "b"], "bs 64 median").value is None


def test_profile_command_writes_json_and_markdown(toy, tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="harness")
    add_report_commands(parser.add_subparsers())
    args = parser.parse_args(["profile", "--spaces", "toy", "--scorers", "width",
                              "--batch-sizes", "2,4", "--archs", "1", "--repeats", "2",
                              "--out", str(tmp_path / "prof")])
    assert args.func(args) == 0
    assert "| toy" in capsys.readouterr().out
    document = json.loads((tmp_path / "prof" / "profile.json").read_text())
    assert document["settings"]["batch_sizes"] == [2, 4] and len(document["cells"]) == 2
    written = (tmp_path / "prof" / "profile.md").read_text()
    assert "bs 2" in written and "bs 4 median" in written and "CPU seconds per arch" in written
    assert document["cells"][0]["cpu_s"] is not None


def test_profile_shows_a_progress_bar_of_trials_on_stderr(toy, capsys):
    profiling.profile(["toy"], [2, 4], scorers=["width"], archs=2, warmup=0, repeats=1,
                      progress=True)
    err = capsys.readouterr().err
    assert "profiling" in err and "4/4" in err, "every batch size planned first: total 4"
    profiling.profile(["toy"], [2], scorers=["width"], archs=2, warmup=0, repeats=1)
    assert capsys.readouterr().err == "", "no bar unless asked (the CLI's --quiet)"
