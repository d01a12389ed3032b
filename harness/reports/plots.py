"""The report's figures (matplotlib, no pyplot): scatter, correlation bars, seed x init heatmap.

Each ``*_figure`` function returns a ``matplotlib.figure.Figure`` built from report data only,
so tests can read back what was drawn. ``report_plots`` makes every figure of a report and
``save`` writes one as PNG and SVG.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

# Figures are built as ``Figure`` objects and saved through their own canvas, never through
# pyplot: no display is needed (servers, CI), and no backend is chosen for the caller (a
# notebook that writes a report keeps showing its own plots inline).
from matplotlib.figure import Figure

from harness.reports.records import CorrelationRow, Report, Table
from harness.reports.reference import published_cell
from harness.reports.render import fixed, format_cell
from harness.reports.tables import primary_init

PLOTS_DIR = "plots"
# Scores spanning more decades than this get a log axis (synflow spans 1e0..1e9): on a linear
# axis every arch but the largest few sits on the floor.
LOG_AXIS_DECADES = 3.0


@dataclass
class Plot:
    """One figure and the file stem it is saved under."""

    name: str
    title: str
    figure: Figure


def _slug(*parts: str) -> str:
    """A file stem from names: anything but letters, digits, ``.``, ``_``, ``-`` becomes ``-``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", "_".join(str(p) for p in parts)).strip("-")


def scatter_figure(row: CorrelationRow, pairs: pd.DataFrame) -> Figure:
    """Score against ground truth for one cell; Kendall and Spearman in the title (Fig. 2c-e)."""
    finite = pairs[np.isfinite(pairs.score.astype(float)) & np.isfinite(pairs.truth.astype(float))]
    figure = Figure(figsize=(4.2, 3.4), layout="constrained")
    axes = figure.add_subplot()
    axes.scatter(finite.truth, finite.score, s=10, alpha=0.7)
    key = row.key
    axes.set_xlabel(f"{key.metric}{'' if row.higher_is_better else ' (lower is better)'}")
    scale = score_axis_scale(finite.score.to_numpy(float))
    if scale != "linear":
        axes.set_yscale(scale, **({"linthresh": _linear_threshold(finite.score)}
                                  if scale == "symlog" else {}))
    axes.set_ylabel(f"{row.scorer_label} score{'' if scale == 'linear' else f' ({scale})'}")
    published = published_kendall(row)
    axes.set_title(f"{key.space}/{key.dataset} {row.scorer_label}\n"
                   f"τ = {fixed(row.quality.kendall)}, ρ = {fixed(row.quality.spearman)} "
                   f"(n = {row.n}, excluded {row.quality.n_excluded})"
                   + (f"\npublished |τ| = {published}" if published else ""), fontsize=9)
    return figure


def published_kendall(row: CorrelationRow) -> str | None:
    """The |Kendall tau| a source published for ``row``'s cell, as the report's first table
    prints it (``0.520``; several sources: ``0.590 (zerocost) / 0.610 (gennas)``); None when
    none did."""
    cell = published_cell(row, "abs_kendall")
    return None if cell.value is None else format_cell(cell)


def score_axis_scale(scores: np.ndarray) -> str:
    """``"log"`` for positive scores spanning more than ``LOG_AXIS_DECADES`` decades,
    ``"symlog"`` for such scores of both signs (or with zeros), else ``"linear"``."""
    magnitudes = np.abs(scores[np.isfinite(scores)])
    nonzero = magnitudes[magnitudes > 0]
    if len(nonzero) < 2 or np.log10(nonzero.max() / nonzero.min()) <= LOG_AXIS_DECADES:
        return "linear"
    return "log" if (scores[np.isfinite(scores)] > 0).all() else "symlog"


def _linear_threshold(scores: pd.Series) -> float:
    """symlog's linear range around 0: the smallest non-zero magnitude among the scores."""
    magnitudes = np.abs(scores.to_numpy(float))
    return float(magnitudes[magnitudes > 0].min())


def bars_figure(kendall: Table, spearman: Table, group: list[str]) -> Figure:
    """Kendall and Spearman per scorer for one space/dataset/metric.

    Whiskers show the bootstrap intervals of entries that have one (a single cell, with
    ``--bootstrap``); entries averaged over several seeds have none.
    """
    # Wide: the HTML page shows it at full width, above the scatters.
    figure = Figure(figsize=(max(7.0, 0.9 * len(kendall.columns) + 3), 3.4), layout="constrained")
    axes = figure.add_subplot()
    positions = np.arange(len(kendall.columns))
    for offset, table, label in ((-0.2, kendall, "Kendall τ"), (0.2, spearman, "Spearman ρ")):
        cells = [table.cell(group, column) for column in table.columns]
        heights = np.array([np.nan if c.value is None else c.value for c in cells], dtype=float)
        low = np.array([h - c.low if c.low is not None else 0.0
                        for h, c in zip(heights, cells, strict=True)])
        high = np.array([c.high - h if c.high is not None else 0.0
                         for h, c in zip(heights, cells, strict=True)])
        # A percentile interval need not contain the point estimate (rounding, skew): clip.
        whiskers = np.clip(np.nan_to_num(np.vstack([low, high])), 0.0, None)
        axes.bar(positions + offset, np.nan_to_num(heights), width=0.4, label=label,
                 yerr=whiskers if whiskers.any() else None, capsize=3)
    axes.set_xticks(positions, kendall.columns, rotation=30, ha="right")
    axes.axhline(0, color="black", linewidth=0.6)
    axes.set_ylabel("correlation")
    axes.set_title(" / ".join(group), fontsize=9)
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))  # clear of the bars
    return figure


def heatmap_figure(rows: list[CorrelationRow], statistic: str = "spearman") -> Figure:
    """``statistic`` per (weight/bias init) x seed for one scorer on one space/dataset/metric."""
    seeds = sorted({r.key.seed for r in rows})
    inits = sorted({r.key.init for r in rows})
    values = np.full((len(inits), len(seeds)), np.nan)
    for row in rows:
        values[inits.index(row.key.init), seeds.index(row.key.seed)] = row.value(statistic)
    figure = Figure(figsize=(max(3.5, 0.8 * len(seeds) + 2.5), max(2.5, 0.5 * len(inits) + 1.5)),
                    layout="constrained")
    axes = figure.add_subplot()
    # Anchored at the correlation's whole range with 0 white: 0.60 and 0.615 look alike, as
    # they should; a colour scale fitted to the values would paint them as opposites.
    image = axes.imshow(values, cmap="RdBu", vmin=-1.0, vmax=1.0, aspect="auto")
    axes.set_xticks(range(len(seeds)), [str(s) for s in seeds])
    axes.set_yticks(range(len(inits)), inits)
    axes.set_xlabel("seed")
    axes.set_ylabel("weight/bias init")
    for (i, j), value in np.ndenumerate(values):
        if np.isfinite(value):
            axes.text(j, i, fixed(value, 2), ha="center", va="center", fontsize=8,
                      color="white" if abs(value) > 0.6 else "black")
    figure.colorbar(image, ax=axes, label=statistic)
    key = rows[0].key
    axes.set_title(f"{key.space}/{key.dataset} {rows[0].scorer_label}: {statistic}", fontsize=9)
    return figure


def report_plots(report: Report) -> list[Plot]:
    """Every figure of the report: a scatter per scorer and group (primary init, first seed),
    a bar chart per group, and a heatmap per scorer whose run varies seeds or inits."""
    plots: list[Plot] = []
    rows = report.rows
    if not rows:
        return plots
    init = primary_init(rows)
    seen: set[tuple] = set()
    for row in sorted(rows, key=lambda r: (r.key.space, r.key.dataset, r.key.metric,
                                           r.scorer_label, r.key.seed)):
        label = (row.key.space, row.key.dataset, row.key.metric, row.scorer_label)
        if (row.key.weight_init, row.key.bias_init) != init or label in seen or row.n == 0:
            continue
        seen.add(label)
        key = row.key
        pairs = report.pairs[(report.pairs.space == key.space)
                             & (report.pairs.dataset == key.dataset)
                             & (report.pairs.metric == key.metric)
                             & (report.pairs.scorer_config_hash == key.scorer_config_hash)
                             & (report.pairs.scorer == key.scorer)
                             & (report.pairs.seed == key.seed)
                             & (report.pairs.weight_init == key.weight_init)
                             & (report.pairs.bias_init == key.bias_init)
                             & (report.pairs.batch_size == key.batch_size)]
        published = published_kendall(row)
        plots.append(Plot(_slug("scatter", *label),
                          f"{' / '.join(label)}: score vs truth, τ = {fixed(row.quality.kendall)}"
                          + (f" (published |τ| = {published})" if published else ""),
                          scatter_figure(row, pairs)))
    kendall, spearman = report.table("ranking_kendall"), report.table("ranking_spearman")
    for group, _ in kendall.rows:
        plots.append(Plot(_slug("bars", *group), f"{' / '.join(group)}: correlations",
                          bars_figure(kendall, spearman, group)))
    by_scorer: dict[tuple, list[CorrelationRow]] = {}
    for row in rows:
        by_scorer.setdefault((row.key.space, row.key.dataset, row.key.metric, row.scorer_label),
                             []).append(row)
    for label, scorer_rows in sorted(by_scorer.items()):
        if len({r.key.seed for r in scorer_rows}) > 1 or len({r.key.init for r in scorer_rows}) > 1:
            plots.append(Plot(_slug("heatmap", *label), f"{' / '.join(label)}: seed x init",
                              heatmap_figure(scorer_rows)))
    return plots


def save(plot: Plot, directory: Path) -> tuple[Path, Path]:
    """Write ``NAME.png`` (150 dpi) and ``NAME.svg`` under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    png, svg = directory / f"{plot.name}.png", directory / f"{plot.name}.svg"
    plot.figure.savefig(png, dpi=150)
    plot.figure.savefig(svg, metadata={"Date": None})  # no date: same run, same file
    return png, svg


def png_base64(png: Path) -> str:
    """A saved PNG as base64 text, for embedding in a self-contained HTML page."""
    return base64.b64encode(png.read_bytes()).decode("ascii")
