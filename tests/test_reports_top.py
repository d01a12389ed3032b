"""The metrics that weigh the top reach the report: their table, the flat rows of
correlations.csv and report.json, and ``CorrelationRow.value``."""

import json

from synthetic_run import make_run

from harness import metrics
from harness.reports import build_report, write_reports


def test_top_metrics_in_the_report_and_its_json(tmp_path):
    report = build_report(make_run(tmp_path / "run"), top_ks=(1, 10))
    table = report.table("top_k")
    assert table.columns == ["ndcg@1", "precision@1", "kendall_top@1", "best_rank@1",
                             "ndcg@10", "precision@10", "kendall_top@10", "best_rank@10"]
    # "reversed" ranks the ten archs backwards: its top pick is the truly worst (rank 10).
    assert table.cell(["toy", "d1", "acc", "reversed"], "best_rank@1").value == 10.0
    assert table.cell(["toy", "d1", "acc", "reversed"], "precision@1").value == 0.0
    assert table.cell(["toy", "d1", "acc", "perfect"], "ndcg@1").value == 1.0
    noisy = next(row for row in report.rows if row.key.scorer == "noisy" and row.key.seed == 0)
    scores = [0, 1, 2, float("nan"), 4, 5, 6, float("nan"), 9, 8]
    assert noisy.value("kendall_top@10") == metrics.kendall_in_true_top(scores, range(10), 10)
    write_reports(report, tmp_path / "out", "json")
    rows = json.loads((tmp_path / "out" / "report.json").read_text())["rows"]
    assert {"ndcg@10", "precision@10", "kendall_top@10", "best_rank@10"} <= set(rows[0])
