"""Studies: a study file is checked field by field, its rows run as trials of one run folder,
and its report puts each measured cell beside the published value with n, interval, verdict."""

import json
from pathlib import Path

import numpy as np
import pytest

from harness import cli, metrics
from harness.errors import ConfigError
from harness.reports import build_report
from harness.store import load_trials
from harness.study.published import targets
from harness.study.report import build_study_report
from harness.study.spec import builtin_studies, load_study, parse_study

ONE_ROW = """
name = "my-paper"
title = "My paper, Table 1"
paper = "A. Author. My paper. 2026."

[[rows]]
name = "nb201-c10"
spaces = ["nb201"]
dataset = "cifar10"
scorers = ["synflow"]
samples = 8
sample_seed = 3

[[rows.values]]
scorer = "synflow"
statistic = "abs_kendall"
value = 0.5
source = "my-paper"
table = "Table 1"
n = 1000
column = "cifar10-valid/x-valid"
"""


def _published(scorer: str, value: float, **fields: object) -> str:
    """One more published |Kendall| of a study row, as a ``[[rows.values]]`` table."""
    lines = [f"{key} = {json.dumps(field)}" for key, field in fields.items()]
    return "\n".join(["", "[[rows.values]]", f'scorer = "{scorer}"',
                      'statistic = "abs_kendall"', f"value = {value}", *lines, ""])


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(text)
    return path


def _run(tmp_path: Path, study: str, *extra: str) -> Path:
    out = tmp_path / "run"
    status = cli.main(["study", "run", study, "--workers", "0", "--quiet", "--out", str(out),
                       "--data-dir", str(tmp_path / "data"), *extra])
    assert status == 0, "the study ran"
    return out


def test_a_user_written_one_row_study_runs_end_to_end(tmp_path, one_torch_thread, capsys):
    out = _run(tmp_path, str(_write(tmp_path, ONE_ROW)))
    trials = load_trials(out)
    assert len(trials) == 8 and set(trials.status) == {"ok"}, "one trial per sampled arch"
    _, (cells, rows) = build_study_report(out)
    [(labels, values)] = cells.rows
    assert labels[:6] == ["nb201-c10", "nb201", "synflow", "abs_kendall", "my-paper Table 1",
                          "cifar10-valid/x-valid"]
    published, measured, difference, n, n_published, verdict = values
    from harness.store import TrialStore

    with TrialStore.for_run(out) as store:
        truth = store.ground_truth_frame()
    truth = truth[truth.metric == "cifar10-valid/x-valid"].set_index("arch_id").value
    ordered = trials.sort_values("arch_id")
    expected = abs(metrics.kendall_tau(ordered.score.to_numpy(), truth[ordered.arch_id]))
    assert measured.value == pytest.approx(expected, abs=1e-12), "|tau| on the row's archs"
    assert measured.low <= measured.value <= measured.high, "a 95 % interval around it"
    assert (published.value, n.value, n_published.value) == (0.5, 8, 1000)
    assert difference.value == pytest.approx(expected - 0.5)
    assert verdict.text == ("within ±0.03" if abs(expected - 0.5) <= 0.03 else "outside")
    spaces_run, n_trials, trial_s, trial_cpu_h, cpu_s, wall_s = rows.rows[0][1]
    assert rows.rows[0][0] == ["nb201-c10", "run"] and n_trials.value == 8
    assert trial_s.value == pytest.approx(trials.wall_s.sum()), "the trials' own seconds"
    assert trial_cpu_h.value == pytest.approx(trials.cpu_s.sum() / 3600), "their CPU hours"
    assert trials.cpu_s.notna().all() and (trials.cpu_s >= 0).all()
    cpu_table = build_report(out).table("cost_cpu_seconds")
    [entry] = [cells[0] for labels, cells in cpu_table.rows if labels == ["nb201", "synflow"]]
    assert entry.value == pytest.approx(trials[trials.status == "ok"].cpu_s.mean())
    assert 0 < cpu_s.value and 0 < wall_s.value, "--workers 0: the trials' CPU time is counted"
    files = {path.name for path in out.iterdir()}
    assert {"study_report.md", "study_report.html", "study_report.tex",
            "study_report.json"} <= files, "every report format is written"
    record = json.loads((out / "run.json").read_text())
    assert len(record["history"]) == 1, "the row is a recorded selection of the run folder"

    _run(tmp_path, str(_write(tmp_path, ONE_ROW)))
    assert "8 trials, 0 run now" in capsys.readouterr().out, "the same command resumes"


def test_an_aggregate_row_reports_its_combination_of_the_parts_trials(tmp_path,
                                                                       one_torch_thread):
    """A rank combination depends on the whole sample: the row runs AZ-NAS's parts as trials
    and the report puts the sum of their log ranks over the row's archs beside the paper."""
    text = ONE_ROW.replace('scorers = ["synflow"]', 'scorers = ["az_nas"]').replace(
        "samples = 8", "samples = 5").replace('scorer = "synflow"', 'scorer = "az_nas"')
    out = _run(tmp_path, str(_write(tmp_path, text)))
    trials = load_trials(out)
    parts = ["az_expressivity", "az_progressivity", "az_trainability", "az_complexity"]
    assert sorted(set(trials.scorer)) == sorted(parts), "the parts ran as trials"
    _, (cells, _) = build_study_report(out)
    [(labels, values)] = cells.rows
    assert labels[2] == "az_nas"
    wide = trials.pivot_table(index="arch_id", columns="scorer", values="score")
    from harness.reports.aggregates import combine
    from harness.store import TrialStore

    with TrialStore.for_run(out) as store:
        truth = store.ground_truth_frame()
    truth = truth[truth.metric == "cifar10-valid/x-valid"].set_index("arch_id").value
    combined = combine(wide[parts].to_numpy(float), "log_rank")
    expected = abs(metrics.kendall_tau(combined, truth[wide.index].to_numpy()))
    published, measured, _, n, _, verdict = values
    assert measured.value == pytest.approx(expected, abs=1e-12)
    assert n.value == 5 and verdict.text in ("within ±0.03", "outside")


def test_max_samples_caps_a_row_that_gives_an_arch_list(tmp_path, one_torch_thread):
    """A quick pass over a row whose paper ranks a fixed list (VKDNW's 9,444 GRAF-valid cells)
    draws at most N of them with the row's sample seed, recorded in the run folder."""
    listed = [f"({a},{b},3,2,3,1)" for a in range(5) for b in range(5)]
    (tmp_path / "archs.txt").write_text("# 25 cells\n" + "\n".join(listed) + "\n")
    text = ONE_ROW.replace("samples = 8", 'arch_list = "archs.txt"')
    out = _run(tmp_path, str(_write(tmp_path, text)), "--max-samples", "4")
    trials = load_trials(out)
    assert trials.arch_id.nunique() == 4, "4 of the list's 25 cells"
    capped = (out / "study_arch_lists" / "nb201-c10.txt").read_text().split()
    assert len(capped) == 4 and set(capped) <= set(listed)
    assert capped == [line for line in listed if line in capped], "in the list's order"


def test_a_retrieval_cell_gets_its_bootstrap_interval(tmp_path, one_torch_thread):
    """At a paper's n a retrieval rate moves by more than the verdict's ±0.03 between samples,
    so its cell carries the same kind of interval as a correlation's."""
    text = ONE_ROW + "\n".join(["", "[[rows.values]]", 'scorer = "synflow"',
                                "statistic = \"retrieval@50\"", "value = 0.5",
                                'source = "my-paper"', 'table = "Table 2"', "n = 1000",
                                'column = "cifar10-valid/x-valid"', ""])
    out = _run(tmp_path, str(_write(tmp_path, text)))
    _, (cells, _) = build_study_report(out)
    [measured] = [values[1] for labels, values in cells.rows if labels[3] == "retrieval@50"]
    trials = load_trials(out).sort_values("arch_id")
    from harness.store import TrialStore

    with TrialStore.for_run(out) as store:
        truth = store.ground_truth_frame()
    truth = truth[truth.metric == "cifar10-valid/x-valid"].set_index("arch_id").value
    scores, accuracy = trials.score.to_numpy(), truth[trials.arch_id].to_numpy()
    assert measured.value == metrics.retrieval_rate(scores, accuracy, 0.5)
    low, high = metrics.bootstrap_interval(
        scores, accuracy, lambda x, y: metrics.retrieval_rate(x, y, 0.5), resamples=1000)
    assert (measured.low, measured.high) == (low, high)
    assert low <= measured.value <= high and low < high


@pytest.mark.parametrize(("edit", "message"), [
    (("samples = 8", "samples = 0"), "study.toml: rows[0].samples 0: give a number of archs"),
    (("samples = 8", 'samples = "some"'), "rows[0].samples"),
    (('dataset = "cifar10"\n', ""), "study.toml: rows[0].dataset: missing"),
    (("sample_seed = 3", "sample_sed = 3"), "rows[0].sample_sed: unknown field"),
    (('statistic = "abs_kendall"', 'statistic = "tau"'), "rows[0].values[0].statistic 'tau': "
                                                          "give one of abs_kendall"),
    (("value = 0.5", 'value = "0.5"'), "rows[0].values[0].value '0.5': expects a finite number"),
    (('name = "nb201-c10"', 'name = "NB 201"'), "rows[0].name 'NB 201'"),
    (("samples = 8", "samples = 8 ="), "study.toml: not valid TOML"),
])
def test_a_malformed_study_is_one_line_naming_the_field(tmp_path, capsys, edit, message):
    path = _write(tmp_path, ONE_ROW.replace(*edit))
    assert cli.main(["study", "run", str(path), "--out", str(tmp_path / "run")]) == 2
    [error] = [line for line in capsys.readouterr().err.splitlines()
               if not line.startswith("harness: warning:")]  # plugin load warnings aside
    assert error.startswith("harness: error: ") and message in error, error
    assert not (tmp_path / "run").exists(), "refused before any work"


def test_rows_that_cannot_run_here_say_why(tmp_path):
    text = ONE_ROW + """
[[rows]]
name = "on-a-gpu"
spaces = ["nb201"]
dataset = "cifar10"
scorers = ["synflow"]
samples = 4
gpu = true
[[rows.values]]
scorer = "synflow"
statistic = "abs_kendall"
value = 0.5
source = "s"
table = "t"
n = 4

[[rows]]
name = "no-data"
spaces = ["nds-darts"]
dataset = "imagenet"
scorers = ["synflow"]
samples = "all"
[[rows.values]]
scorer = "synflow"
statistic = "abs_kendall"
value = 0.1
source = "s"
table = "t"
n = 9
"""
    out = _run(tmp_path, str(_write(tmp_path, text)), "--rows", "on-*,no-*")
    _, (cells, _) = build_study_report(out)
    verdicts = {labels[0]: values[-1].text for labels, values in cells.rows}
    assert verdicts["nb201-c10"].startswith("not run: row not selected"), verdicts
    assert verdicts["on-a-gpu"].startswith("not run: needs a GPU"), verdicts
    assert verdicts["no-data"].startswith("not run: data absent"), verdicts
    assert not (out / "trials.sqlite").exists() or load_trials(out).empty, "nothing ran"


def test_a_rows_pattern_that_matches_nothing_lists_the_rows(tmp_path, capsys):
    path = _write(tmp_path, ONE_ROW)
    assert cli.main(["study", "run", str(path), "--rows", "nb101*"]) == 2
    assert "matches no row of study 'my-paper'; its rows: nb201-c10" in capsys.readouterr().err


@pytest.mark.parametrize("name", builtin_studies())
def test_every_builtin_row_finds_its_published_values(name):
    study, folder = load_study(name)
    assert folder.name == "builtin", "a built-in study is package data"
    for row in study.rows:
        assert row.arch_list is None or (folder / row.arch_list).is_file(), \
            f"{name}/{row.name}: its arch list ships beside it"
    for row in study.rows:
        found = targets(row)
        if not row.reference and not row.values:
            assert {t.reference for t in found} == {None}, "measured without a published value"
        assert {t.scorer for t in found} == set(row.scorers), \
            f"{name}/{row.name}: every scorer has a published value (a typo would drop it)"
        assert {t.space for t in found} == set(row.spaces), f"{name}/{row.name}"


def test_study_list_and_show(capsys):
    assert cli.main(["study", "list"]) == 0
    listed = capsys.readouterr().out
    assert {"gennas-appendix", "zero-cost-nas", "naswot"} <= {
        line.split(":")[0] for line in listed.splitlines()}
    assert cli.main(["study", "show", "gennas-appendix"]) == 0
    shown = capsys.readouterr().out
    assert parse_study(shown, "shown").name == "gennas-appendix", "show prints a valid file"


def test_published_values_are_read_from_the_reference_data():
    study, _ = load_study("gennas-appendix")
    row = next(r for r in study.rows if r.name == "nb201-cifar10-zc")
    kendall = {t.scorer: t.reference.value for t in targets(row)
               if t.reference.statistic == "abs_kendall"}
    assert kendall == {"naswot": 0.6, "synflow": 0.52, "jacob_cov": 0.59, "snip": 0.41}
    columns = {t.columns for t in targets(row)}
    assert columns == {("cifar10-valid/x-valid", "cifar10/ori-test")}, \
        "GenNAS does not state its column: both candidates are measured"


def test_an_unknown_reference_table_is_an_error_naming_the_known_ones():
    text = ONE_ROW.replace("[[rows.values]]", 'reference = [{ source = "gennas", table = "T9" }]'
                           "\n[[rows.values]]")
    row = parse_study(text, "x").rows[0]
    with pytest.raises(ConfigError, match="no published table 'gennas' 'T9'.*Table 3, NB-201"):
        targets(row)


def test_spaces_run_in_turns_keep_what_earlier_runs_recorded(tmp_path, one_torch_thread):
    text = ONE_ROW.replace('spaces = ["nb201"]', 'spaces = ["nb201", "nds-darts"]').replace(
        "samples = 8", "samples = 4").replace('column = "cifar10-valid/x-valid"',
                                              'column = "cifar10-valid/x-valid"\nspace = "nb201"')
    text += _published("synflow", 0.1, source="s", table="t", n=9, space="nds-darts")
    path = str(_write(tmp_path, text))
    _run(tmp_path, path, "--spaces", "nds-*")
    out = _run(tmp_path, path, "--spaces", "nb201")
    _, (cells, _) = build_study_report(out)
    verdicts = {labels[1]: values[-1].text for labels, values in cells.rows}
    assert verdicts["nds-darts"].startswith("not run: data absent"), verdicts
    assert not verdicts["nb201"].startswith("not run"), verdicts


def test_scorers_run_in_turns_keep_what_earlier_runs_recorded(tmp_path, one_torch_thread):
    text = ONE_ROW.replace('scorers = ["synflow"]', 'scorers = ["synflow", "params"]').replace(
        "samples = 8", "samples = 5") + _published("params", 0.5, source="my-paper",
                                                    table="Table 1", n=1000,
                                                    column="cifar10-valid/x-valid")
    path = str(_write(tmp_path, text))
    out = _run(tmp_path, path, "--scorers", "syn*")
    _, (cells, rows) = build_study_report(out)
    verdicts = {labels[2]: values[-1].text for labels, values in cells.rows}
    assert verdicts["params"] == "not run: scorer not selected in this run (--scorers)"
    assert not verdicts["synflow"].startswith("not run"), verdicts
    assert set(load_trials(out).scorer) == {"synflow"}, "only the selected scorer ran"
    _run(tmp_path, path, "--scorers", "params")
    _run(tmp_path, path, "--scorers", "params")  # a resume counts no trial twice
    _, (cells, rows) = build_study_report(out)
    verdicts = {labels[2]: values[-1].text for labels, values in cells.rows}
    assert not any(v.startswith("not run") for v in verdicts.values()), verdicts
    assert [values[3].value for _, values in cells.rows] == [5, 5], "n per cell"
    assert rows.rows[0][1][1].value == 10, "trials of both scorers, each counted once"


def test_a_row_run_again_after_a_default_changed_is_refused_not_rescored(
        tmp_path, one_torch_thread, monkeypatch, capsys):
    """A study re-run on its folder by a version with another default must not score the row's
    archs again beside its finished trials."""
    from harness.registry import get_registry

    path = str(_write(tmp_path, ONE_ROW))
    out = _run(tmp_path, path)
    synflow = get_registry().get("scorer", "synflow")
    monkeypatch.setattr(synflow, "defaults", {**synflow.defaults, "split_data": 2})
    status = cli.main(["study", "run", path, "--workers", "0", "--quiet", "--out", str(out),
                       "--data-dir", str(tmp_path / "data")])
    assert status == 2
    assert "8 finished synflow trials there were scored under another config (split_data 2 " \
           "now, 1 there)" in capsys.readouterr().err
    assert len(load_trials(out)) == 8, "nothing was scored again"


def test_a_scorer_pattern_matching_none_of_a_rows_scorers_leaves_the_row_out(tmp_path):
    out = _run(tmp_path, str(_write(tmp_path, ONE_ROW)), "--scorers", "naswot")
    _, (cells, _) = build_study_report(out)
    [(_, values)] = cells.rows
    assert values[-1].text == "not run: none of its scorers selected (--scorers)"


def test_a_published_column_the_ground_truth_lacks_is_named_in_the_verdict(tmp_path,
                                                                          one_torch_thread):
    text = ONE_ROW.replace('column = "cifar10-valid/x-valid"', 'column = "cifar10/x-vald"')
    out = _run(tmp_path, str(_write(tmp_path, text)))
    _, (cells, _) = build_study_report(out)
    [(_, values)] = cells.rows
    verdict = values[-1].text
    assert verdict.startswith("not run: the nb201 ground truth holds no column 'cifar10/x-vald' "
                              "(it holds "), verdict
    assert "cifar10-valid/x-valid" in verdict, "the columns it holds are named"


def test_plan_only_records_what_a_row_would_run_and_runs_nothing(tmp_path):
    out = _run(tmp_path, str(_write(tmp_path, ONE_ROW)), "--plan-only")
    _, (cells, _) = build_study_report(out)
    [(_, values)] = cells.rows
    assert values[-1].text == ("not run: over this run's time budget (--plan-only): 8 trials "
                               "planned")
    assert not (out / "trials.sqlite").exists() or load_trials(out).empty


@pytest.mark.slow
def test_gennas_appendix_nb201_rows_run_fast_offline(tmp_path, one_torch_thread):
    """The acceptance command on the bundled default, at 3 archs per cell: every NB-201 cell is
    beside its published value, measured, or not run with the trials' error (econas needs a
    training set; ImageNet16-120 has no bundled images)."""
    out = _run(tmp_path, "gennas-appendix", "--rows", "nb201*", "--fast", "--max-samples", "3")
    _, (cells, _) = build_study_report(out)
    nb201 = [(labels, values) for labels, values in cells.rows if labels[1] == "nb201"]
    assert len(nb201) == 3 * 8 * 2 * 2, "3 datasets x 8 scorers x 2 tables x 2 candidate columns"
    verdicts = {(labels[0], labels[2]): values[-1].text for labels, values in nb201}
    for (row, scorer), verdict in verdicts.items():
        if scorer == "econas" or (row.startswith("nb201-imagenet16") and scorer != "synflow"):
            assert verdict.startswith("not run: all 3 trials failed: DatasetError"), verdict
        else:
            assert verdict in ("within ±0.03", "outside"), (row, scorer, verdict)
    measured = [v for _, v in nb201 if not v[-1].text.startswith("not run")]
    assert all(np.isfinite(v[1].value) and v[3].value == 3 for v in measured)
    fast = {labels[6] for labels, _ in nb201 if labels[2] == "gennas-search-n"}
    assert fast == {"gennas-search-n-fast"}, "the report says which cells used --fast"
