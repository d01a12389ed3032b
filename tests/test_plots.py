"""Plots of the synthetic run: what each figure draws, read back from its artists."""

import math
from dataclasses import replace

import numpy as np
import pytest
from matplotlib.container import BarContainer
from synthetic_run import make_run

from harness.reports import build_report, plots


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return build_report(make_run(tmp_path_factory.mktemp("run")), bootstrap=30, seed=0)


def _row(report, scorer, seed=0, init="default/default"):
    [row] = [r for r in report.rows
             if r.scorer_label == scorer and r.key.seed == seed and r.key.init == init]
    return row


def test_report_plots_names(report):
    names = [p.name for p in plots.report_plots(report)]
    assert names == [
        "scatter_toy_d1_acc_mem-h16", "scatter_toy_d1_acc_noisy", "scatter_toy_d1_acc_perfect",
        "scatter_toy_d1_acc_reversed", "bars_toy_d1_acc", "heatmap_toy_d1_acc_noisy",
        "heatmap_toy_d1_acc_perfect"], "no scatter for the all-OOM cell mem[h64]"


def test_scatter_draws_finite_pairs_with_correlations_in_title(report):
    row = _row(report, "noisy")
    pairs = report.pairs[(report.pairs.scorer == "noisy") & (report.pairs.seed == 0)
                         & (report.pairs.weight_init == "default")]
    figure = plots.scatter_figure(row, pairs)
    axes = figure.axes[0]
    points = axes.collections[0].get_offsets()
    assert len(points) == 8, "a3 (nan) and a7 (oom) are not drawn"
    truth, score = np.asarray(points).T
    assert list(truth) == [0, 1, 2, 4, 5, 6, 8, 9]
    assert list(score) == [0, 1, 2, 4, 5, 6, 9, 8]
    assert "τ = 0.929, ρ = 0.976 (n = 8, excluded 2)" in axes.get_title()
    assert axes.get_xlabel() == "acc"


def test_bar_chart_heights_and_intervals(report):
    kendall, spearman = report.table("ranking_kendall"), report.table("ranking_spearman")
    figure = plots.bars_figure(kendall, spearman, ["toy", "d1", "acc"])
    axes = figure.axes[0]
    assert [t.get_text() for t in axes.get_xticklabels()] == kendall.columns
    kendall_bars, spearman_bars = [c for c in axes.containers if isinstance(c, BarContainer)]
    heights = [bar.get_height() for bar in kendall_bars.patches]
    expected = [kendall.cell(["toy", "d1", "acc"], c).value for c in kendall.columns]
    expected = [0.0 if v is None or math.isnan(v) else v for v in expected]
    assert heights == pytest.approx(expected)
    assert heights[2] == pytest.approx((26 / 28 + 43 / 45) / 2), "noisy: mean of two seeds"
    assert heights[4] == pytest.approx(-1.0), "reversed"
    reversed_bar = spearman_bars.patches[4]
    assert reversed_bar.get_height() == pytest.approx(-1.0)
    assert kendall_bars.errorbar is not None, "whiskers drawn from the bootstrap intervals"


def test_heatmap_values_per_init_and_seed(report):
    rows = [r for r in report.rows if r.scorer_label == "perfect"]
    figure = plots.heatmap_figure(rows)
    axes = figure.axes[0]
    values = np.asarray(axes.images[0].get_array(), dtype=float)
    assert values.shape == (2, 2)
    assert values[0] == pytest.approx([1.0, 1.0]), "default/default, seeds 0 and 1"
    assert values[1, 0] == pytest.approx(-1.0) and math.isnan(values[1, 1]), "kaiming/zero"
    assert [t.get_text() for t in axes.get_yticklabels()] == ["default/default", "kaiming/zero"]
    assert [t.get_text() for t in axes.get_xticklabels()] == ["0", "1"]


def test_save_writes_png_and_svg(report, tmp_path):
    plot = plots.report_plots(report)[4]
    png, svg = plots.save(plot, tmp_path)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in svg.read_text()[:500]
    assert plots.png_base64(png).startswith("iVBORw0KGgo"), "base64 of the PNG signature"


def test_bar_chart_without_intervals_has_no_whiskers(tmp_path):
    report = build_report(make_run(tmp_path), bootstrap=0)
    figure = plots.bars_figure(report.table("ranking_kendall"), report.table("ranking_spearman"),
                               ["toy", "d1", "acc"])
    bars = [c for c in figure.axes[0].containers if isinstance(c, BarContainer)]
    assert all(b.errorbar is None for b in bars)


@pytest.mark.parametrize(("scores", "scale"), [
    ([1.0, 30.0, 2e4, 1e9], "log"),  # synflow-like: nine decades
    ([-1e6, 0.0, 1.0, 1e3], "symlog"),  # heavy tails of both signs
    ([0.1, 0.5, 0.9, 50.0], "linear"),  # under three decades
    ([0.0, 0.0, 5.0], "linear"),  # one non-zero magnitude
])
def test_heavy_tailed_scores_get_a_log_axis(scores, scale):
    assert plots.score_axis_scale(np.array(scores)) == scale


def test_scatter_of_synflow_like_scores_is_drawn_on_a_log_axis(report):
    row = _row(report, "perfect")
    pairs = report.pairs[(report.pairs.scorer == "perfect") & (report.pairs.seed == 0)
                         & (report.pairs.weight_init == "default")]
    heavy = pairs.assign(score=10.0 ** pairs.truth.astype(float))
    axes = plots.scatter_figure(row, heavy).axes[0]
    assert axes.get_yscale() == "log" and axes.get_ylabel().endswith("(log)")
    assert plots.scatter_figure(row, pairs).axes[0].get_yscale() == "linear"


def test_heatmap_colours_are_anchored_to_the_correlation_range(report):
    rows = [r for r in report.rows if r.scorer_label == "noisy"]
    image = plots.heatmap_figure(rows).axes[0].images[0]
    assert image.get_clim() == (-1.0, 1.0), "0.93 and 0.96 must look alike"


def test_no_minus_zero_in_figure_texts(report):
    rows = [r for r in report.rows if r.scorer_label == "perfect"]
    tiny = [replace(rows[0], quality=replace(rows[0].quality, spearman=-0.0001)), *rows[1:]]
    texts = [t.get_text() for t in plots.heatmap_figure(tiny).axes[0].texts]
    assert "0.00" in texts and not any(t.startswith("-0.00") for t in texts)
