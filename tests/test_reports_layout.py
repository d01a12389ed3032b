"""Reports lead with the answer: scorers x space/dataset Kendall (intervals, published values)
and retrieval first, the per-cell table last; LaTeX fits the page; no ``-0.000``; the page is
a Jinja2 template, autoescaped; ``report --out`` and ``compare --json``."""

import re
from dataclasses import replace

import pandas as pd
import pytest
from synthetic_run import make_run

from harness.groundtruth.table import GroundTruthTable, MetricInfo
from harness.reports import build_report, html, write_reports
from harness.reports.records import Cell, Table
from harness.reports.render import LATEX_MAX_COLUMNS, fixed, format_cell, latex
from harness.store import Trial, TrialResult, TrialStore


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def report(run_dir):
    return build_report(run_dir, bootstrap=50)


def test_the_answer_tables_come_first_and_the_per_cell_table_last(report):
    names = [table.name for table in report.tables]
    assert names[:2] == ["answer_kendall", "answer_retrieval"]
    assert names[-1] == "correlations"
    kendall = report.table("answer_kendall")
    assert kendall.labels == ["scorer"] and kendall.columns == ["toy/d1"]
    assert [labels[0] for labels, _ in kendall.rows] == [
        "mem[h16]", "mem[h64]", "noisy", "perfect", "reversed"]
    assert kendall.cell(["noisy"], "toy/d1").value == pytest.approx((26 / 28 + 43 / 45) / 2)
    reversed_cell = kendall.cell(["reversed"], "toy/d1")
    assert reversed_cell.value == pytest.approx(-1.0)
    assert (reversed_cell.low, reversed_cell.high) == (pytest.approx(-1.0), pytest.approx(-1.0))
    assert kendall.cell(["noisy"], "toy/d1").low is None, "a mean of two seeds has no interval"
    assert report.table("answer_retrieval").cell(["perfect"], "toy/d1").value == 1.0


def test_markdown_and_html_read_answer_first_provenance_last(report, tmp_path):
    write_reports(report, tmp_path, "md,html")
    text = (tmp_path / "report.md").read_text()
    headings = re.findall(r"^#+ .*$", text, flags=re.M)
    assert headings[1:3] == ["### Ranking quality: Kendall tau-b per scorer", "## Notes"], \
        "the answer, then the notes on it (archs left out)"
    assert headings[-2] == "### Ranking quality per cell" and headings[-1] == "## Provenance"
    page = (tmp_path / "report.html").read_text()
    ids = re.findall(r'<h2 id="([^"]+)"', page)
    assert ids[:3] == ["answer_kendall", "scatter", "answer_retrieval"], (
        "the scatters of score against accuracy right under the answer")
    assert ids[-3:] == ["correlations", "plots", "provenance"]
    first_table_end = page.index("</table>")
    wide = page.index('<figure class="wide">')
    notes = page.index('<div class="notes">')
    assert first_table_end < wide < notes < page.index('id="answer_retrieval"'), (
        "the bar chart sits under the answer, at full width, then the notes")


def _synflow_on_nb201(tmp_path):
    """A run folder of synflow on 10 NB-201 archs whose scores rank exactly as the truth."""
    archs = [f"x{i}" for i in range(10)]
    with TrialStore.for_run(tmp_path) as store:
        store.add_results(
            TrialResult(Trial("nb201", "cifar10-valid", arch, "synflow", "h", 0, "default",
                              "default", 64), float(i), "ok", "", 1.0, 1.0, "cpu", "0", "0", "t")
            for i, arch in enumerate(archs))
        frame = pd.DataFrame({"cifar10-valid/x-valid": [float(i) for i in range(10)]},
                             index=archs)
        store.save_ground_truth(GroundTruthTable(
            "nb201", frame, [MetricInfo("cifar10-valid/x-valid", "cifar10-valid")],
            {"cifar10-valid": "cifar10-valid/x-valid"}), archs)
    return tmp_path


def test_published_values_stand_beside_the_measured_ones(tmp_path):
    table = build_report(_synflow_on_nb201(tmp_path)).table("answer_kendall")
    assert table.columns == ["nb201/cifar10-valid", "nb201/cifar10-valid published",
                             "nb201/cifar10-valid published in 95 %"]
    assert table.cell(["synflow"], "nb201/cifar10-valid").value == pytest.approx(1.0)
    assert table.cell(["synflow"], "nb201/cifar10-valid published").value == 0.52, (
        "GenNAS appendix Table 3, synflow on NB-201 (|tau|)")


def test_the_scatter_titles_carry_the_published_tau(tmp_path):
    from harness.reports import plots

    [scatter] = [p for p in plots.report_plots(build_report(_synflow_on_nb201(tmp_path)))
                 if p.name.startswith("scatter")]
    assert scatter.title.endswith("τ = 1.000 (published |τ| = 0.520)"), scatter.title
    assert scatter.figure.axes[0].get_title().endswith("\npublished |τ| = 0.520")


@pytest.mark.parametrize(("value", "text"), [
    (-0.0004, "0.000"), (-0.0, "0.000"), (0.0004, "0.000"), (-0.0006, "-0.001"),
    (-0.5, "-0.500"), (12.25, "12.250")])
def test_a_value_that_rounds_to_zero_has_no_sign(value, text):
    assert fixed(value) == text


def test_cells_never_print_minus_zero():
    assert format_cell(Cell(value=-0.0001, low=-0.0002, high=0.2)) == "0.000 [0.000, 0.200]"


def _wide_table(n_labels: int, n_columns: int) -> Table:
    table = Table(name="wide", title="Wide", caption="c", labels=[f"l{i}" for i in
                                                                  range(n_labels)],
                  columns=[f"c{i}" for i in range(n_columns)])
    table.rows.append(([f"L{i}" for i in range(n_labels)],
                       [Cell(value=float(i)) for i in range(n_columns)]))
    return table


def test_a_wide_latex_table_is_split_and_set_landscape():
    text = latex(_wide_table(7, 16))
    parts = text.split(r"\begin{longtable}")[1:]
    assert len(parts) == 3 and text.count(r"\begin{landscape}") == 3
    for part in parts:
        spec = part[1:part.index("}")]
        assert len(spec) <= LATEX_MAX_COLUMNS and spec.startswith("lllllll")
    assert "(part 1 of 3)" in text and r"\label{tab:wide-3}" in text
    assert "c15" in parts[2] and "L6" in parts[2], "each part repeats the labels"


def test_a_narrow_latex_table_stays_portrait_in_one_part():
    text = latex(_wide_table(1, 3))
    assert text.count(r"\begin{longtable}{lrrr}") == 1 and "landscape" not in text


def test_the_page_escapes_what_the_run_wrote(report):
    hostile = replace(report, notes=["<script>alert(1)</script> & co"])
    page = html.page(hostile, [])
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert page.count("<script") == 1 and "alert" not in page.split("<script>")[1], (
        "the page's one script is its own table sorting")


def test_a_table_without_rows_is_its_caption_alone():
    from harness.reports.render import markdown

    empty = Table(name="reference", title="Published reference values", labels=["space"],
                  columns=["measured"], caption="No published value matches this run.")
    assert markdown(empty) == ("### Published reference values\n\n"
                               "No published value matches this run.\n")


def test_making_plots_leaves_the_callers_matplotlib_backend_alone():
    import subprocess
    import sys

    code = ("import matplotlib; matplotlib.use('svg'); import harness.reports.plots; "
            "print(matplotlib.get_backend())")
    backend = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout.strip()
    assert backend == "svg", "a notebook that writes a report must keep its inline plots"
