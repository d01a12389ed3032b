"""``harness regress`` refuses a run over other archs or other ground truth than its baseline,
reads malformed baselines as one line with exit 2 (never a KeyError), and speaks JSON."""

import json
from pathlib import Path

import pytest
from synthetic_run import WORSE_NOISY, make_run

from harness import cli
from harness.reports import regress as regression


def _edited(baseline, tmp_path, edit) -> str:
    document = json.loads(baseline.read_text())
    edit(document)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(document))
    return str(path)


def _regress(capsys, *argv):
    code = cli.main(["regress", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_baseline_records_arch_sets_and_ground_truth_sources(baseline):
    document = json.loads(baseline.read_text())
    assert document["archs"]["toy/d1"]["n"] == 10
    assert len(document["archs"]["toy/d1"]["sha256"]) == 64
    assert set(document["ground_truth_sources"]) == {"toy/d1"}


def test_other_archs_are_refused_unless_allowed(baseline_run, baseline, tmp_path, capsys):
    def sixty_archs(document):
        document["archs"]["toy/d1"] = {"n": 60, "sha256": "0" * 64}

    edited = _edited(baseline, tmp_path, sixty_archs)
    code, out, err = _regress(capsys, str(baseline_run), "--baseline", edited)
    assert code == regression.EXIT_USAGE, out + err
    assert len(err.strip().splitlines()) == 1 and out == ""
    assert "cover different data" in err and "toy/d1: baseline on 60 archs, run on 10" in err
    assert "--allow-different-archs" in err
    code, out, err = _regress(capsys, str(baseline_run), "--baseline", edited,
                              "--allow-different-archs")
    assert code == 0, out + err
    assert "compared anyway: toy/d1: baseline on 60 archs, run on 10" in out


def test_other_ground_truth_is_refused(baseline_run, baseline, tmp_path, capsys):
    def other_source(document):
        document["ground_truth_sources"]["toy/d1"] = "feedfacefeedface"

    code, _, err = _regress(capsys, str(baseline_run), "--baseline",
                            _edited(baseline, tmp_path, other_source))
    assert code == regression.EXIT_USAGE and "other ground-truth source" in err, err


def test_a_baseline_without_arch_sets_is_checked_by_each_cells_count(baseline_run, baseline,
                                                                     tmp_path, capsys):
    def older_and_on_more_archs(document):
        del document["archs"], document["ground_truth_sources"]
        document["entries"]["toy|d1|acc|noisy|hn|0|default|default|16"]["n"] = 60

    code, _, err = _regress(capsys, str(baseline_run), "--baseline",
                            _edited(baseline, tmp_path, older_and_on_more_archs))
    assert code == regression.EXIT_USAGE
    assert "toy/d1 noisy: baseline ranks 60 archs, run 8" in err, err


MALFORMED = {
    "entry without key": (lambda d: d["entries"][next(iter(d["entries"]))].pop("key"),
                          "key: Field required"),
    "key without seed": (lambda d: d["entries"][next(iter(d["entries"]))]["key"].pop("seed"),
                         "key.seed: Field required"),
    "text statistic": (lambda d: d["entries"][next(iter(d["entries"]))].update(kendall="high"),
                       "kendall is 'high', not a number"),
    "entries a list": (lambda d: d.update(entries=[]), "entries: Input should be a valid"),
    "archs without hash": (lambda d: d["archs"]["toy/d1"].pop("sha256"),
                           "archs.toy/d1.sha256: Field required"),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_a_malformed_baseline_is_one_line_and_exit_2(case, baseline_run, baseline, tmp_path,
                                                      capsys):
    edit, expected = MALFORMED[case]
    code, out, err = _regress(capsys, str(baseline_run), "--baseline",
                              _edited(baseline, tmp_path, edit))
    assert code == regression.EXIT_USAGE, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "is malformed" in err and expected in err, err


def test_json_output_for_pass_regression_and_usage_error(baseline_run, baseline, tmp_path,
                                                         capsys):
    code, out, _ = _regress(capsys, str(baseline_run), "--baseline", str(baseline), "--json")
    result = json.loads(out)
    assert code == 0 and (result["verdict"], result["exit_code"]) == ("PASS", 0)
    assert result["missing_in_run"] == [] and all(not d["failed"] for d in result["deltas"])
    worse = make_run(tmp_path / "worse", noisy_scores=WORSE_NOISY)
    code, out, _ = _regress(capsys, str(worse), "--baseline", str(baseline), "--json")
    result = json.loads(out)
    assert code == result["exit_code"] == regression.EXIT_REGRESSION
    failed = {(d["statistic"], round(d["change"], 6)) for d in result["deltas"] if d["failed"]}
    assert ("kendall", round(4 / 28 - 26 / 28, 6)) in failed
    code, out, _ = _regress(capsys, str(baseline_run), "--baseline",
                            str(tmp_path / "absent.json"), "--json")
    assert code == 2 and json.loads(out)["exit_code"] == 2
    assert "does not exist" in json.loads(out)["error"]


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[1] / ".ci" /
                                         "baselines").glob("*.json")), ids=lambda p: p.name)
def test_the_committed_ci_baselines_are_valid(path):
    baseline = regression.load_baseline(path)
    assert baseline.entries and all(entry.n >= 0 for entry in baseline.entries.values())
