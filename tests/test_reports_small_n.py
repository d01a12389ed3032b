"""A correlation over fewer than five ranked archs is marked as not meaningful, with its n."""

import json
import re

from toy_plugins import run_toy, toy_config

from harness.reports import build_report
from harness.reports.render import markdown, table_json
from harness.reports.tables import MIN_RANKED


def test_correlations_of_too_few_archs_are_marked_with_n(toy, tmp_path):
    summary = run_toy(toy_config(tmp_path, samples=2, seeds=[0, 1]))
    report = build_report(summary.run_dir)
    labels = ["toy", report.rows[0].key.dataset, report.rows[0].key.metric]
    assert report.rows[0].n == 2 < MIN_RANKED
    cell = report.table("ranking_kendall").cell(labels, "width")
    assert cell.text == "n=2, too few" and abs(cell.value) == 1.0, "the number stays in JSON"
    cells = table_json(report.table("ranking_kendall"))["rows"][0]["cells"]["width"]
    assert json.loads(json.dumps(cells))["value"] == cell.value
    correlations = markdown(report.table("correlations"))
    assert correlations.count("n=2, too few") == 2 * 5, "2 seeds x (kendall, spearman, |.|, r)"
    seeds = report.table("seed_sensitivity")
    assert {seeds.cell([*labels, "width"], column).text
            for column in ("seed 0", "seed 1", "mean", "std")} == {"n=2, too few"}


def test_five_archs_are_enough(toy, tmp_path):
    summary = run_toy(toy_config(tmp_path, samples=MIN_RANKED))
    report = build_report(summary.run_dir)
    for name in ("correlations", "ranking_spearman"):
        assert not re.search(r"n=\d+, too few", markdown(report.table(name)))
