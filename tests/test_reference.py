"""The ``--paper`` table compares each published value on the ground-truth column its source used.

A tiny NB-201 run: synflow scores ``i`` on ten archs, three ground-truth columns ordered so each
gives another correlation. zero-cost-nas states its column (``cifar10-valid/ori-test``); the
GenNAS appendix does not, so its values are shown on both candidates (x-valid and test).
"""

import pandas as pd
import pytest
from scipy import stats

from harness.groundtruth.table import GroundTruthTable, MetricInfo
from harness.metrics import bootstrap_interval, kendall_tau, spearman_rho
from harness.reports import build_report
from harness.reports.reference import references
from harness.store import Trial, TrialResult, TrialStore

ARCHS = [f"x{i}" for i in range(10)]
SCORES = list(range(10))
COLUMNS = {
    "cifar10-valid/x-valid": [10 - i for i in range(10)],          # a reversal: |tau| = 1
    "cifar10-valid/ori-test": [1, 0, 2, 3, 4, 5, 6, 7, 9, 8],      # two swaps
    "cifar10/ori-test": [3, 1, 0, 2, 5, 4, 9, 6, 8, 7],            # scrambled
}
ZEROCOST = "zerocost notebooks, NB-201"
TABLE3 = "gennas Table 3, NB-201"


def _run(folder, columns, **options):
    with TrialStore.for_run(folder) as store:
        store.add_results(
            TrialResult(Trial("nb201", "cifar10-valid", arch, "synflow", "h", 0, "default",
                              "default", 64), float(score), "ok", "", 1.0, 1.0, "cpu", "0", "0",
                        "t")
            for arch, score in zip(ARCHS, SCORES, strict=True))
        frame = pd.DataFrame({name: [float(v) for v in COLUMNS[name]] for name in columns},
                             index=ARCHS)
        store.save_ground_truth(GroundTruthTable(
            "nb201", frame, [MetricInfo(name, name.split("/")[0]) for name in columns],
            {"cifar10-valid": "cifar10-valid/x-valid"}), ARCHS)
    return build_report(folder, paper=True, **options)


def _abs(statistic, column):
    function = stats.spearmanr if statistic == "abs_spearman" else stats.kendalltau
    return abs(function(SCORES, COLUMNS[column])[0])


def _rows(table, source):
    return {labels[-1]: (labels, cells) for labels, cells in table.rows if labels[4] == source}


def test_every_published_value_records_its_column_and_evidence():
    found = references()
    assert all(ref.metric_evidence for ref in found)
    zerocost = {ref.dataset: ref.metric for ref in found if ref.table == "notebooks, NB-201"}
    assert zerocost == {"cifar10": "cifar10-valid/ori-test", "cifar100": "cifar100/x-test",
                        "imagenet16-120": "imagenet16-120/x-test"}
    gennas = [ref for ref in found if ref.source == "gennas" and ref.space == "nb201"]
    assert gennas and all(ref.metric is None for ref in gennas), "the appendix does not say"
    assert gennas[0].columns == ["cifar10-valid/x-valid", "cifar10/ori-test"]


def test_a_stated_column_is_matched_only_by_a_run_on_that_column(tmp_path):
    table = _run(tmp_path, list(COLUMNS)).table("paper")
    zerocost = _rows(table, ZEROCOST)
    assert list(zerocost) == ["cifar10-valid/ori-test"], "not x-valid (the run's default)"
    labels, cells = zerocost["cifar10-valid/ori-test"]
    assert labels == ["nb201", "cifar10-valid", "synflow", "abs_spearman", ZEROCOST,
                      "cifar10-valid/ori-test", "cifar10-valid/ori-test"]
    measured = _abs("abs_spearman", "cifar10-valid/ori-test")
    assert cells[table.columns.index("measured")].value == pytest.approx(measured)
    assert table.cell(labels, "published").value == 0.737
    assert table.cell(labels, "difference").value == pytest.approx(measured - 0.737)
    assert table.cell(labels, "match").text == "stated column"


def test_an_unstated_column_shows_both_candidates_and_the_closer_one(tmp_path):
    table = _run(tmp_path, list(COLUMNS)).table("paper")
    table3 = _rows(table, TABLE3)
    assert sorted(table3) == ["cifar10-valid/x-valid", "cifar10/ori-test"]
    valid, test = table3["cifar10-valid/x-valid"][0], table3["cifar10/ori-test"][0]
    assert valid[5] == test[5] == "not stated"
    assert table.cell(valid, "measured").value == pytest.approx(1.0), "|tau| of a reversal"
    assert table.cell(test, "measured").value == pytest.approx(
        _abs("abs_kendall", "cifar10/ori-test"))
    published = table.cell(valid, "published").value
    assert published == 0.52
    closer_is_test = (abs(_abs("abs_kendall", "cifar10/ori-test") - published)
                      < abs(1.0 - published))
    assert table.cell(test, "match").text == ("closer" if closer_is_test else "farther")
    assert table.cell(valid, "match").text == ("farther" if closer_is_test else "closer")


def test_a_missing_column_is_left_out_and_said_so(tmp_path):
    table = _run(tmp_path, ["cifar10-valid/x-valid"]).table("paper")
    assert not _rows(table, ZEROCOST), "0.737 is never compared with another column"
    assert "cifar10-valid/ori-test" in table.caption and "left out" in table.caption
    [(labels, cells)] = _rows(table, TABLE3).values()
    assert labels[-1] == "cifar10-valid/x-valid"
    assert cells[table.columns.index("match")].text == "only candidate in run"


def test_paper_columns_stay_out_of_the_other_tables(tmp_path):
    report = _run(tmp_path, list(COLUMNS))
    assert {row.key.metric for row in report.rows} == {"cifar10-valid/x-valid"}
    assert set(report.pairs.metric) == {"cifar10-valid/x-valid"}


def test_candidates_as_close_as_each_other_are_tied(tmp_path):
    table = _run(tmp_path, list(COLUMNS)).table("paper")
    table4 = _rows(table, "gennas Table 4, NB-201 (reading A)")
    assert {labels[-1]: table.cell(labels, "measured").value
            for labels, _ in table4.values()} == {"cifar10-valid/x-valid": 0.0,
                                                  "cifar10/ori-test": 0.0}
    assert {table.cell(labels, "match").text for labels, _ in table4.values()} == {"tied"}


def test_the_published_value_is_flagged_inside_or_outside_the_measured_interval(tmp_path):
    """The run's 10 archs get intervals by default (1,000 resamples, seed 0), each flag is
    right for the interval shown, and a reversal's signed [-1, -1] becomes |tau| in [1, 1]."""
    report = _run(tmp_path, list(COLUMNS))
    assert report.bootstrap == 1000, "intervals by default on a run of fewer than 300 archs"
    table = report.table("paper")
    expected = {(TABLE3, "cifar10-valid/x-valid"): ("no", kendall_tau, (1.0, 1.0)),
                (TABLE3, "cifar10/ori-test"): ("yes", kendall_tau, None),
                (ZEROCOST, "cifar10-valid/ori-test"): ("no", spearman_rho, None)}
    for (source, column), (flag, statistic, shown) in expected.items():
        labels, _ = _rows(table, source)[column]
        low, high = bootstrap_interval(SCORES, COLUMNS[column], statistic, resamples=1000,
                                       seed=0)
        measured = table.cell(labels, "measured")
        assert (measured.low, measured.high) == pytest.approx(shown or (low, high)), column
        published = table.cell(labels, "published").value
        assert table.cell(labels, "published in 95 %").text == flag, (
            f"{source} {published} vs [{measured.low:.3f}, {measured.high:.3f}] on {column}")
    answer = report.table("answer_kendall")
    assert answer.cell(["synflow"], "nb201/cifar10-valid published in 95 %").text == "no", \
        "the answer table flags 0.52 against the default column's [1, 1] too"


def test_no_resamples_no_interval_no_flag(tmp_path):
    table = _run(tmp_path, list(COLUMNS), bootstrap=0).table("paper")
    for labels, _ in _rows(table, TABLE3).values():
        assert table.cell(labels, "measured").low is None
        assert table.cell(labels, "published in 95 %").text is None
