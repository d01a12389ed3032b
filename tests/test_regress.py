"""``harness regress``: pass, threshold failures, missing entries, env warnings, exit codes."""

import argparse
import json

import pytest
from synthetic_run import WORSE_NOISY, make_run

from harness.cli.reports import add_report_commands
from harness.errors import ConfigError, HarnessError
from harness.reports import build_report
from harness.reports import regress as regression


def _cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="harness")
    add_report_commands(parser.add_subparsers())
    args = parser.parse_args(list(argv))
    return args.func(args)



def test_baseline_records_environment_and_every_cell(baseline):
    document = json.loads(baseline.read_text())
    assert document["format"] == regression.BASELINE_FORMAT
    assert (document["device"], document["harness_version"]) == ("cpu", "0.1.0")
    assert document["command"].startswith("harness compare")
    assert len(document["entries"]) == 8
    noisy = document["entries"]["toy|d1|acc|noisy|hn|0|default|default|16"]
    assert noisy["kendall"] == pytest.approx(26 / 28) and noisy["n"] == 8
    assert document["entries"]["toy|d1|acc|mem|h64|0|default|default|64"]["kendall"] is None


def test_same_run_passes(baseline_run, baseline, capsys):
    assert _cli("regress", str(baseline_run), "--baseline", str(baseline)) == 0
    out = capsys.readouterr().out
    assert "harness regress: PASS" in out and "FAIL" not in out
    assert "+0.000" in out


def test_regression_fails_with_exit_code_1(tmp_path, baseline, capsys):
    run = make_run(tmp_path, noisy_scores=WORSE_NOISY)
    assert _cli("regress", str(run), "--baseline", str(baseline)) == regression.EXIT_REGRESSION
    out = capsys.readouterr().out
    assert "FAIL kendall, spearman" in out
    result = regression.regress(run, baseline)
    [kendall] = [d for d in result.failures if d.statistic == "kendall"]
    assert kendall.change == pytest.approx(4 / 28 - 26 / 28)
    # The same drop passes under a looser threshold.
    assert _cli("regress", str(run), "--baseline", str(baseline),
                "--fail-if", "kendall:-0.8,spearman:-1.5") == 0


def test_retrieval_threshold(tmp_path, baseline):
    run = make_run(tmp_path, noisy_scores=WORSE_NOISY)
    # Retrieval@30 of noisy seed 0 drops from 1.0 to 0.5 (predicted top-2 {a0, a9}).
    result = regression.regress(run, baseline, fail_if="retrieval@30:-0.4")
    assert [(d.statistic, d.change) for d in result.failures] == [("retrieval@30", -0.5)]


def test_missing_entries_are_reported_and_fail_with_exit_code_3(tmp_path, baseline_run,
                                                               baseline, capsys):
    document = json.loads(baseline.read_text())
    ghost = dict(document["entries"]["toy|d1|acc|noisy|hn|0|default|default|16"])
    ghost["key"] = {**ghost["key"], "scorer": "ghost"}
    document["entries"]["toy|d1|acc|ghost|hn|0|default|default|16"] = ghost
    del document["entries"]["toy|d1|acc|reversed|hr|0|default|default|16"]
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document))
    assert _cli("regress", str(baseline_run), "--baseline", str(edited)) == regression.EXIT_MISSING
    out = capsys.readouterr().out
    assert "1 missing from the run" in out and "toy/d1/acc ghost seed 0" in out
    assert "1 new in the run (not in the baseline)" in out and "reversed" in out
    assert _cli("regress", str(baseline_run), "--baseline", str(edited), "--allow-missing") == 0


def test_changed_config_hash_is_compared_with_a_warning(tmp_path, baseline_run, baseline):
    document = json.loads(baseline.read_text())
    entry = document["entries"].pop("toy|d1|acc|reversed|hr|0|default|default|16")
    entry["key"]["scorer_config_hash"] = "old"
    document["entries"]["toy|d1|acc|reversed|old|0|default|default|16"] = entry
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(document))
    result = regression.regress(baseline_run, edited)
    assert result.exit_code == 0 and not result.missing_in_run
    assert any("scorer config changed (old -> hr)" in w for w in result.warnings)


def test_device_and_version_mismatch_warn_only(tmp_path, baseline, capsys):
    run = make_run(tmp_path, device="cuda:0", harness_version="0.2.0")
    assert _cli("regress", str(run), "--baseline", str(baseline)) == 0
    captured = capsys.readouterr()
    assert "device differs: baseline cpu, run cuda:0" in captured.err
    assert "harness_version differs: baseline 0.1.0, run 0.2.0" in captured.out


def test_undefined_statistic_after_a_defined_one_fails():
    assert regression.Delta("e", "kendall", 0.5, None, -0.02).failed
    assert not regression.Delta("e", "kendall", None, None, -0.02).failed
    assert not regression.Delta("e", "kendall", None, 0.3, -0.02).failed
    assert not regression.Delta("e", "kendall", 0.5, 0.48, -0.02).failed, "exactly at threshold"
    assert regression.Delta("e", "kendall", 0.5, 0.47, -0.02).failed


def test_usage_errors_exit_with_code_2(baseline_run, baseline, tmp_path, capsys):
    assert _cli("regress", str(baseline_run), "--baseline", str(baseline),
                "--fail-if", "tau:-1") == regression.EXIT_USAGE
    assert _cli("regress", str(baseline_run), "--baseline",
                str(tmp_path / "absent.json")) == regression.EXIT_USAGE
    assert "--write-baseline" in capsys.readouterr().err
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(HarnessError, match="not a harness baseline"):
        regression.load_baseline(tmp_path / "other.json")
    with pytest.raises(ConfigError, match="not a number"):
        regression.parse_thresholds("kendall:abc")


def test_summary_file_gets_the_markdown(baseline_run, baseline, tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    _cli("regress", str(baseline_run), "--baseline", str(baseline), "--summary", str(summary))
    text = summary.read_text()
    assert text.startswith("earlier step\n## harness regress: PASS")
    assert "| entry" in text


def test_compare_uses_the_baselines_metric(tmp_path, baseline_run):
    report = build_report(baseline_run, metric="err")
    path = regression.write_baseline(report, tmp_path / "err.json")
    result = regression.regress(baseline_run, path)
    assert result.exit_code == 0 and not result.missing_in_run, "built with metric err again"
