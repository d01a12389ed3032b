"""Reports from the synthetic run of ``synthetic_run.py``: exact cell values, every format."""

import csv
import html as html_lib
import json
import math
import re
import shutil
import subprocess

import pandas as pd
import pytest
from scipy import stats
from synthetic_run import COMMAND, make_run

from harness.errors import ConfigError, HarnessError, UnknownPluginError
from harness.reports import build_report, parse_metric_choice, write_reports
from harness.reports.assemble import (
    DEFAULT_RESAMPLES,
    INTERVALS_BELOW_ARCHS,
    default_resamples,
    left_out_notes,
)
from harness.reports.reference import references
from harness.store import TrialStore

NOISY_SEED0_KENDALL = 26 / 28   # 8 finite pairs, a8/a9 swapped: 27 concordant, 1 discordant
NOISY_SEED0_SPEARMAN = 1 - 6 * 2 / (8 * 63)
NOISY_SEED1_KENDALL = 43 / 45   # 10 pairs, a0/a1 swapped
NOISY_SEED1_SPEARMAN = 1 - 6 * 2 / (10 * 99)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def report(run_dir):
    return build_report(run_dir, paper=True)


def _row(report, scorer, seed=0, init="default/default"):
    [row] = [r for r in report.rows
             if r.scorer_label == scorer and r.key.seed == seed and r.key.init == init]
    return row


def test_rows_hold_hand_computed_values(report):
    noisy = _row(report, "noisy")
    quality = noisy.quality
    assert (noisy.n_trials, noisy.n, quality.n_excluded, quality.n_no_truth) == (10, 8, 2, 0)
    assert noisy.quality.kendall == pytest.approx(NOISY_SEED0_KENDALL, abs=1e-12)
    assert noisy.quality.spearman == pytest.approx(NOISY_SEED0_SPEARMAN, abs=1e-12)
    # N = 8: K = 1, 1, 1, 2, 3, 4 for 5..50 %; the best-scored arch (a8) is not the best (a9).
    assert noisy.retrieval == {5: 0.0, 10: 0.0, 20: 0.0, 30: 1.0, 40: 1.0, 50: 1.0}
    assert noisy.status_counts == {"ok": 8, "nan": 1, "oom": 1}
    assert (noisy.wall_s_mean, noisy.peak_mem_mb_mean) == (0.5, 50.0)
    worst = [0, 1, 2, -1, 4, 5, 6, -1, 9, 8]  # non-finite -> below the finite minimum
    assert noisy.quality.kendall_worst == pytest.approx(stats.kendalltau(worst, range(10))[0])
    seed1 = _row(report, "noisy", seed=1)
    assert seed1.quality.kendall == pytest.approx(NOISY_SEED1_KENDALL, abs=1e-12)
    assert seed1.quality.spearman == pytest.approx(NOISY_SEED1_SPEARMAN, abs=1e-12)
    perfect = _row(report, "perfect", init="kaiming/zero")
    assert perfect.quality.kendall == pytest.approx(-1.0), "signed"
    assert _row(report, "reversed").retrieval[50] == 0.0


def test_all_oom_cell_has_no_correlation(report):
    row = _row(report, "mem[h64]")
    assert (row.n, row.quality.n_excluded) == (0, 10)
    assert math.isnan(row.quality.kendall) and row.status_counts == {"oom": 10}
    assert row.wall_s_mean is None, "means are over ok trials only"


def test_scorer_with_two_configs_is_labelled_by_hash(report):
    assert {r.scorer_label for r in report.rows if r.key.scorer == "mem"} == {"mem[h16]",
                                                                             "mem[h64]"}
    assert {r.scorer_label for r in report.rows if r.key.scorer == "noisy"} == {"noisy"}


def test_one_config_hashed_per_space_keeps_the_scorers_name():
    """Network options resolve per space, so one config has a hash per space: no suffix."""
    from harness.reports.assemble import scorer_labels

    trials = pd.DataFrame({"scorer": ["synflow"] * 3, "space": ["nb201", "nb101", "nb101"],
                           "scorer_config_hash": ["aaaaaa1", "bbbbbb2", "bbbbbb2"]})
    assert set(scorer_labels(trials).values()) == {"synflow"}


def test_ranking_tables_average_seeds_at_the_primary_init(report):
    kendall = report.table("ranking_kendall")
    assert kendall.columns == ["mem[h16]", "mem[h64]", "noisy", "perfect", "reversed"]
    cell = kendall.cell(["toy", "d1", "acc"], "noisy")
    assert cell.value == pytest.approx((NOISY_SEED0_KENDALL + NOISY_SEED1_KENDALL) / 2)
    assert cell.count == 2
    assert kendall.cell(["toy", "d1", "acc"], "perfect").value == pytest.approx(1.0), "no kaiming"
    spearman = report.table("ranking_spearman").cell(["toy", "d1", "acc"], "reversed")
    assert spearman.value == pytest.approx(-1.0)
    assert report.table("retrieval_top10").cell(["toy", "d1", "acc"], "noisy").value == 0.5


def test_retrieval_table_per_scorer(report):
    table = report.table("retrieval")
    assert table.columns == [f"retrieval@{p}" for p in (5, 10, 20, 30, 40, 50)]
    assert table.cell(["toy", "d1", "acc", "noisy"], "retrieval@5").value == 0.5
    assert table.cell(["toy", "d1", "acc", "noisy"], "retrieval@30").value == 1.0
    assert table.cell(["toy", "d1", "acc", "reversed"], "retrieval@50").value == 0.0


def test_seed_sensitivity_table(report):
    table = report.table("seed_sensitivity")
    assert table.columns == ["seed 0", "seed 1", "mean", "std"]
    labels = ["toy", "d1", "acc", "noisy"]
    assert table.cell(labels, "seed 0").value == pytest.approx(NOISY_SEED0_SPEARMAN)
    assert table.cell(labels, "seed 1").value == pytest.approx(NOISY_SEED1_SPEARMAN)
    values = [NOISY_SEED0_SPEARMAN, NOISY_SEED1_SPEARMAN]
    assert table.cell(labels, "mean").value == pytest.approx(sum(values) / 2)
    assert table.cell(labels, "std").value == pytest.approx(pd.Series(values).std(ddof=1))
    assert table.cell(["toy", "d1", "acc", "reversed"], "std").value is None, "one seed: no std"


def test_init_sensitivity_table(report):
    table = report.table("init_sensitivity")
    kaiming = ["toy", "d1", "acc", "perfect", "kaiming", "zero"]
    assert table.cell(kaiming, "seed 0").value == pytest.approx(-1.0)
    assert table.cell(kaiming, "seed 1").value is None, "no trials at kaiming/zero seed 1"
    default = ["toy", "d1", "acc", "perfect", "default", "default"]
    assert table.cell(default, "mean").value == pytest.approx(1.0)


def test_cost_tables_mark_oom(report):
    seconds, memory = report.table("cost_seconds"), report.table("cost_memory")
    assert seconds.columns == ["bs 16", "bs 64"]
    assert seconds.cell(["toy", "mem"], "bs 16").value == 3.0
    assert seconds.cell(["toy", "mem"], "bs 64").text == "OOM"
    assert memory.cell(["toy", "mem"], "bs 64").text == "OOM"
    assert memory.cell(["toy", "reversed"], "bs 16").value == 200.0
    assert seconds.cell(["toy", "noisy"], "bs 16").text == "0.5 (1 OOM)"
    assert "cost_cpu_seconds" not in {t.name for t in report.tables}, (
        "no CPU table where no trial recorded its CPU seconds")


def test_provenance_states_command_seeds_inits_and_sources(report):
    prov = report.provenance
    assert prov.command == " ".join(COMMAND)
    assert prov.seeds == [0, 1]
    assert (prov.weight_inits, prov.bias_inits) == (["default", "kaiming"], ["default", "zero"])
    [use] = prov.ground_truth
    assert (use.metric, use.chosen_by, use.source["sha256"]) == ("acc", "default", "0123abcd")


def test_notes_say_per_scorer_how_many_archs_were_left_out_and_why(report):
    assert report.notes == [
        "mem[h64]: 10 of 10 archs left out of the correlations: 10 oom",
        "noisy: 2 of 20 trials left out of the correlations: 1 nan, 1 oom"], \
        "one line per scorer with a trial that is not ok; archs where one trial per arch"


def test_a_left_out_line_gives_each_status_its_most_frequent_message():
    trials = pd.DataFrame({
        "space": "s", "dataset": "d", "arch_id": ["a", "b", "c", "d"], "scorer": "x",
        "scorer_config_hash": "h", "status": ["inf", "inf", "error", "ok"],
        "message": ["singular", "singular", "boom", ""]})
    assert left_out_notes(trials, {("x", "h"): "x"}) == [
        "x: 3 of 4 archs left out of the correlations: 2 inf (singular), 1 error (boom)"]


def test_intervals_by_default_below_a_few_hundred_archs(report):
    assert report.bootstrap == DEFAULT_RESAMPLES
    answer = report.table("answer_kendall")
    assert answer.cell(["reversed"], "toy/d1").low == pytest.approx(-1.0), "one seed: interval"
    archs = pd.DataFrame({"space": "s", "dataset": "d",
                          "arch_id": range(INTERVALS_BELOW_ARCHS)})
    assert default_resamples(archs.iloc[:-1]) == DEFAULT_RESAMPLES
    assert default_resamples(archs) == 0, "thousands of archs: intervals only when asked for"


def test_metric_override_flips_lower_is_better(run_dir):
    report = build_report(run_dir, metric="err")
    row = _row(report, "noisy")
    assert (row.key.metric, row.higher_is_better) == ("err", False)
    assert row.quality.kendall == pytest.approx(NOISY_SEED0_KENDALL), "err = 100 - acc, negated"
    per_space = build_report(run_dir, metric={"toy": "err"})
    assert per_space.provenance.ground_truth[0].chosen_by == "--metric"
    with pytest.raises(ConfigError, match="has a ground-truth metric 'loss'"):
        build_report(run_dir, metric="loss")
    with pytest.raises(ConfigError, match="known: acc, err"):
        build_report(run_dir, metric={"toy": "loss"})


def test_parse_metric_choice():
    assert parse_metric_choice(None) is None
    assert parse_metric_choice("acc") == "acc"
    assert parse_metric_choice("toy=err,nb201=x") == {"toy": "err", "nb201": "x"}
    with pytest.raises(ConfigError):
        parse_metric_choice("toy=")


def test_missing_run_json_reads_as_unknown(tmp_path):
    report = build_report(make_run(tmp_path, run_json=False))
    assert report.provenance.command == "unknown"
    assert any("run.json" in note for note in report.notes)


def test_empty_or_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(HarnessError, match="no trial store"):
        build_report(tmp_path / "nothing")
    TrialStore.for_run(tmp_path).close()
    with pytest.raises(HarnessError, match="holds no trials"):
        build_report(tmp_path)


def test_bootstrap_intervals_are_seeded(run_dir):
    first = build_report(run_dir, bootstrap=40, seed=1)
    again = build_report(run_dir, bootstrap=40, seed=1)
    interval = _row(first, "noisy").interval("kendall")
    assert interval == _row(again, "noisy").interval("kendall")
    low, high = interval
    assert low <= NOISY_SEED0_KENDALL <= high
    kendall = first.table("ranking_kendall")
    assert kendall.cell(["toy", "d1", "acc"], "reversed").low == pytest.approx(-1.0), "one cell"
    assert kendall.cell(["toy", "d1", "acc"], "noisy").low is None, "two seeds: no interval"


@pytest.fixture(scope="module")
def written(report, run_dir):
    return write_reports(report, run_dir, "md,csv,json,tex,html")


def test_markdown_report(written, run_dir):
    text = (run_dir / "report.md").read_text()
    for needle in (" ".join(COMMAND), "0123abcd", "v1.2", "| noisy", "0.929", "OOM"):
        assert needle in text, f"report.md lacks {needle!r}"
    table_lines = [line for line in text.splitlines() if line.startswith("| space")
                   and "| excluded" in line]
    header = table_lines[0]
    assert "\\|kendall\\|" in header, "pipes inside a cell are escaped"
    assert header.replace("\\|", "").count("|") == 24, "23 columns of the per-cell table"


def test_csv_reports(written, run_dir):
    frame = pd.read_csv(run_dir / "correlations.csv")
    assert len(frame) == 8
    noisy = frame[(frame.scorer == "noisy") & (frame.seed == 0)].iloc[0]
    assert noisy.kendall == pytest.approx(NOISY_SEED0_KENDALL)
    assert (noisy.n, noisy.n_excluded, noisy.status_oom) == (8, 2, 1)
    with open(run_dir / "tables" / "cost_seconds.csv") as handle:
        cost = {row["scorer"]: row for row in csv.DictReader(handle)}
    assert cost["mem"]["bs 64"] == "OOM" and float(cost["mem"]["bs 16"]) == 3.0


def test_json_report(written, run_dir):
    document = json.loads((run_dir / "report.json").read_text())
    assert document["provenance"]["command"] == " ".join(COMMAND)
    assert len(document["rows"]) == 8
    h64 = [r for r in document["rows"] if r["scorer_label"] == "mem[h64]"][0]
    assert h64["kendall"] is None, "NaN is written as null"
    kendall = [t for t in document["tables"] if t["name"] == "ranking_kendall"][0]
    assert kendall["rows"][0]["cells"]["perfect"]["value"] == pytest.approx(1.0)


def test_latex_report(written, run_dir):
    text = (run_dir / "report.tex").read_text()
    assert text.count(r"\toprule") == 15, ("one booktabs table per report table (13), the "
                                            "23-column per-cell table in three parts")
    assert r"\bottomrule" in text and r"mem[h16]" in text and r"peak\_mem\_mb" in text
    assert r"\textbar{}kendall\textbar{}" in text


def test_html_report_is_self_contained(written, run_dir):
    text = (run_dir / "report.html").read_text()
    assert text.count("data:image/png;base64,") == 7, "4 scatters, 1 bar chart, 2 heatmaps"
    assert 'src="http' not in text and "<link" not in text and "<script src" not in text
    assert text.count("<script>") == 1, "one inline script: the table sorting"
    assert "0123abcd" in text and "Seed sensitivity" in text
    assert sorted(p.suffix for p in (run_dir / "plots").iterdir()) == [".png"] * 7 + [".svg"] * 7


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium; .ci/run "
    "installs it and fails where it is present and this test skips)")

# Added to a copy of the page by the browser tests, never to the report: the first script
# records every error (uncaught exceptions, failed loads, console.error) before the page's own
# script runs; the second, once the page has loaded, reads what the browser built (tables,
# decoded images, link targets), clicks the first numeric header of the first table twice and
# writes its findings as JSON into <pre id="probe"> for --dump-dom.
_PROBE_HEAD = """<script>
window.probeErrors = [];
window.addEventListener("error", function (event) {
  window.probeErrors.push(String(event.message || (event.target && event.target.outerHTML)));
}, true);
var originalError = console.error;
console.error = function () {
  window.probeErrors.push(Array.prototype.join.call(arguments, " "));
  originalError.apply(console, arguments);
};
</script>"""
_PROBE_TAIL = """<script>
window.addEventListener("load", function () {
  function column(table, index) {
    return Array.prototype.map.call(table.tBodies[0].rows, function (row) {
      return row.cells[index].textContent.trim();
    });
  }
  var tables = document.querySelectorAll("table");
  var first = tables[0], headers = first.tHead.rows[0].cells;
  var numeric = Array.prototype.findIndex.call(headers, function (header, index) {
    return column(first, index).some(function (text) { return /^-?\\d/.test(text); });
  });
  var before = column(first, 0);
  headers[numeric].click();
  var firstClick = {order: column(first, 0), values: column(first, numeric),
                    sort: headers[numeric].getAttribute("aria-sort")};
  headers[numeric].click();
  var secondClick = {order: column(first, 0), values: column(first, numeric),
                     sort: headers[numeric].getAttribute("aria-sort")};
  var links = Array.prototype.map.call(document.querySelectorAll("a[href^='#']"), function (a) {
    return {href: a.getAttribute("href"), found: !!document.getElementById(a.hash.slice(1))};
  });
  var images = Array.prototype.map.call(document.images, function (image) {
    return {alt: image.alt, width: image.naturalWidth, complete: image.complete};
  });
  var out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({
    tables: tables.length, sortable: document.querySelectorAll("th.sortable").length,
    headers: document.querySelectorAll("th").length,
    ids: Array.prototype.map.call(document.querySelectorAll("h2[id]"), function (h) {
      return h.id; }),
    firstTable: first.closest("div").previousElementSibling.previousElementSibling.id,
    column: headers[numeric].textContent, before: before, firstClick: firstClick,
    secondClick: secondClick, links: links, images: images, errors: window.probeErrors});
  document.body.appendChild(out);
});
</script>"""


def _chromium(*arguments, profile):
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *arguments],
        capture_output=True, text=True, timeout=120)


def _probe(page_file, tmp_path):
    """What the browser built of ``page_file`` (the probe's JSON) and Chromium's stderr."""
    probed = tmp_path / "probed.html"
    text = page_file.read_text()
    probed.write_text(text.replace("<head>", "<head>" + _PROBE_HEAD, 1)
                      .replace("</body>", _PROBE_TAIL + "</body>", 1))
    done = _chromium("--virtual-time-budget=10000", "--dump-dom", probed.as_uri(),
                     profile=tmp_path / "profile")
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, flags=re.S)
    assert found, f"the probe did not run: page not loaded?\n{done.stderr[-2000:]}"
    return json.loads(html_lib.unescape(found.group(1))), done.stderr


def _console_errors(stderr):
    """The uncaught exceptions Chromium logged from the page's console (``--enable-logging``),
    beside what the probe caught in the page."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line and "Uncaught" in line]


@needs_chromium
def test_html_renders_in_headless_chromium(written, report, run_dir, tmp_path):
    page = run_dir / "report.html"
    found, stderr = _probe(page, tmp_path)
    assert found["errors"] == [] and _console_errors(stderr) == [], "nothing errors"
    assert found["tables"] == len(report.tables), "every table parsed"
    assert found["sortable"] == found["headers"], "every header sorts its table"
    assert found["firstTable"] == "answer_kendall", "the Kendall table comes first"
    assert found["ids"][:3] == ["answer_kendall", "scatter", "answer_retrieval"], (
        "the scatters of score against accuracy come right after the Kendall table")
    images = found["images"]
    assert len(images) == 7 and all(i["complete"] and i["width"] > 100 for i in images), (
        "every plot decoded (4 scatters, 1 bar chart, 2 heatmaps)")
    scatters = [i["alt"] for i in images if "score vs truth" in i["alt"]]
    assert len(scatters) == 4 and all("τ = " in alt for alt in scatters)
    links = found["links"]
    assert {link["href"] for link in links} >= {"#answer_kendall", "#scatter", "#plots",
                                                "#provenance"}
    assert all(link["found"] for link in links), f"a link leads nowhere: {links}"
    shot = tmp_path / "report.png"
    _chromium("--window-size=1400,2000", f"--screenshot={shot}", page.as_uri(),
              profile=tmp_path / "profile-shot")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000, (
        "a blank page would compress to a few kB")


@needs_chromium
def test_clicking_a_header_sorts_the_table_in_chromium(written, run_dir, tmp_path):
    found, _ = _probe(run_dir / "report.html", tmp_path)
    assert found["column"] == "toy/d1"
    assert found["before"] == ["mem[h16]", "mem[h64]", "noisy", "perfect", "reversed"], (
        "the report writes scorers in name order")
    first, second = found["firstClick"], found["secondClick"]
    # Kendall at the primary init: mem[h16] and perfect 1.0 (a tie keeps the written order),
    # noisy 0.942 (mean of two seeds), reversed -1.0; mem[h64] (all OOM) has none.
    assert first["sort"] == "descending", "numbers sort best first on the first click"
    assert first["order"] == ["mem[h16]", "perfect", "noisy", "reversed", "mem[h64]"]
    assert first["values"][-1] == "–"
    assert second["sort"] == "ascending", "the second click reverses"
    assert second["order"] == ["reversed", "noisy", "mem[h16]", "perfect", "mem[h64]"], (
        "a cell without a value stays last in either direction")
    assert first["order"] != found["before"] and second["order"] != first["order"]


def test_unknown_format_lists_the_known_ones(report, tmp_path):
    with pytest.raises(UnknownPluginError, match="Known reporters: csv, html, json, md"):
        write_reports(report, tmp_path, ["md", "docx"])
    assert not (tmp_path / "report.md").exists(), "nothing written before the check"


def test_reference_values_carry_citations():
    found = references()
    assert all(ref.citation for ref in found)
    lookup = {(r.space, r.dataset, r.scorer, r.statistic, r.table): r.value for r in found}
    assert lookup[("nb201", "cifar10", "synflow", "abs_spearman", "notebooks, NB-201")] == 0.737
    assert lookup[("nb201", "cifar10", "gennas-search-n", "abs_kendall", "Table 3, NB-201")] == 0.71
    assert lookup[("nds-darts", "imagenet", "naswot", "retrieval@10",
                   "Table 4, NDS ImageNet")] == 0.17


def test_report_of_a_run_made_by_the_driver(tmp_path, monkeypatch):
    import toy_plugins

    from harness.config import RunConfig
    from harness.execute import execute_plan
    from harness.plan import plan_run

    with toy_plugins.toy_environment(tmp_path, monkeypatch):
        config = RunConfig(spaces=["toy"], scorers=["width", "nan"], samples=None,
                           seeds=[0, 1], workers=0, out=str(tmp_path / "run"))
        execute_plan(plan_run(config), progress=False,
                     command=["harness", "compare", "--spaces", "toy"])
        report = build_report(tmp_path / "run")
    width = [r for r in report.rows if r.key.scorer == "width"]
    assert len(width) == 2 and all(r.n == 8 for r in width)
    assert all(r.value("kendall") == pytest.approx(1.0) for r in width), "width = toy truth"
    nan = [r for r in report.rows if r.key.scorer == "nan"][0]
    assert (nan.n, nan.quality.n_excluded, nan.status_counts) == (0, 8, {"nan": 8})
    prov = report.provenance
    assert prov.command == "harness compare --spaces toy" and prov.seeds == [0, 1]
    assert prov.ground_truth[0].source["file"] == "toy.csv"
