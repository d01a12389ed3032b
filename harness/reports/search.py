"""The report of ``harness search``: what the searches found, as papers tabulate it.

``search_table`` gives one row per (fitness, searcher): the ground truth of the chosen arch
under every metric of the table, mean +- std over runs (the end-to-end table of NAS papers),
with the distinct evaluations and scoring seconds a run spent. ``curves_figure`` draws the
search metric of the arch each search would return after k evaluations, median and quartiles
over runs, with the ``oracle`` (fitness = the ground truth itself) and ``random`` (a fitness that
knows nothing) searches as dashed reference lines. With ``paper``, the published search results
on the same space (``reference_values.json``: NASWOT's on NB-201) stand beside ours.

It reads ``harness.search``'s ``SearchOutcome`` only through its attributes, so it stays in the
reports layer: ``write_search_report(run_dir, outcome, paper)`` writes ``search/summary.md``,
``search/summary.json`` and ``search/curves.png``.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

from harness.reports.reference import published_searches

REFERENCE_FITNESSES = ("oracle", "random")


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return None, None
    return statistics.fmean(finite), statistics.pstdev(finite) if len(finite) > 1 else 0.0


def _groups(outcome: Any) -> dict[tuple[str, str], list[Any]]:
    groups: dict[tuple[str, str], list[Any]] = {}
    for run in outcome.runs:
        groups.setdefault((run.fitness, run.searcher), []).append(run)
    return groups


def search_table(outcome: Any, paper: bool = False) -> list[dict[str, Any]]:
    """One row per (fitness, searcher): runs, per-metric (mean, std), distinct evaluations and
    scoring seconds per run; with ``paper`` a row per published search on the same space."""
    rows = []
    for (fitness, searcher), runs in _groups(outcome).items():
        rows.append({
            "fitness": fitness, "searcher": searcher, "runs": len(runs),
            "truth": {m: _mean_std([r.truth.get(m) for r in runs]) for m in outcome.metrics},
            "distinct_evaluations": _mean_std([r.distinct_evaluations for r in runs])[0],
            "scoring_s": _mean_std([r.scoring_s for r in runs])[0],
            "source": "measured"})
    for published in published_searches(outcome.space) if paper else []:
        rows.append({"fitness": published.fitness, "searcher": published.searcher,
                     "runs": published.runs,
                     "truth": {m: published.values.get(m, (None, None)) for m in outcome.metrics},
                     "distinct_evaluations": published.distinct_evaluations, "scoring_s": None,
                     "source": published.label, "citation": published.citation})
    return rows


def _cell(pair: tuple[float | None, float | None]) -> str:
    mean, std = pair
    return "-" if mean is None else f"{mean:.2f} ± {std:.2f}"


def search_markdown(outcome: Any, rows: list[dict[str, Any]]) -> str:
    """The markdown report: settings, the mean +- std table, notes."""
    settings = outcome.settings
    lines = [f"# Search on {outcome.space} ({outcome.dataset})", "",
             f"Fitness is maximized on `{outcome.search_metric}` (oracle) or a scorer; budget "
             f"{settings['budget']} evaluations, {settings['runs']} runs per row, seed "
             f"{settings['seed']}, scoring seed {settings['score_seed']}, searcher options "
             f"{settings['searcher_options'] or 'defaults'}. Accuracy of the chosen arch, "
             f"mean ± std over runs:", ""]
    header = ["fitness", "searcher", "runs", *outcome.metrics, "distinct evals", "scoring s/run"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        extra = [f"{row['distinct_evaluations']:.0f}",
                 "-" if row["scoring_s"] is None else f"{row['scoring_s']:.1f}"]
        label = row["fitness"] if row["source"] == "measured" else f"{row['fitness']} †"
        lines.append("| " + " | ".join([label, row["searcher"], str(row["runs"]),
                                        *(_cell(row["truth"][m]) for m in outcome.metrics),
                                        *extra]) + " |")
    lines += [f"\n† {row['source']}: {row['citation']}" for row in rows
              if row["source"] != "measured"]
    lines += ["", f"Wall time of the command: {outcome.wall_s:.0f} s; trials run now: "
                  f"{outcome.trial_counts or 'none'}."]
    lines += [f"- note: {note}" for note in outcome.notes]
    return "\n".join(lines) + "\n"


def curve_quartiles(runs: list[Any]) -> list[tuple[float, float, float]]:
    """(lower quartile, median, upper quartile) of the runs' curves at each evaluation count."""
    length = max(len(r.curve) for r in runs)
    bands = []
    for k in range(length):
        values = sorted(r.curve[min(k, len(r.curve) - 1)] for r in runs
                        if r.curve and r.curve[min(k, len(r.curve) - 1)] is not None)
        if len(values) == 1:
            bands.append((values[0], values[0], values[0]))
        elif values:
            low, median, high = statistics.quantiles(values, n=4, method="inclusive")
            bands.append((low, median, high))
        else:
            bands.append((math.nan, math.nan, math.nan))
    return bands


def curves_figure(outcome: Any) -> Any:
    """Search metric of the arch returned after k evaluations: median and quartile band per
    (fitness, searcher); oracle and random searches dashed, as reference lines."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.2), layout="constrained")
    axes = figure.add_subplot()
    for (fitness, searcher), runs in _groups(outcome).items():
        bands = curve_quartiles(runs)
        steps = range(1, len(bands) + 1)
        low, median, high = zip(*bands, strict=True)
        label = f"{fitness} / {searcher}"
        if fitness in REFERENCE_FITNESSES:
            axes.plot(steps, median, linestyle="--", linewidth=1.2, label=f"{label} (reference)")
        else:
            line, = axes.plot(steps, median, linewidth=1.6, label=label)
            axes.fill_between(steps, low, high, alpha=0.2, color=line.get_color())
    axes.set_xlabel("fitness evaluations")
    axes.set_ylabel(f"{outcome.search_metric} of the returned arch")
    axes.set_title(f"{outcome.space}: median and quartiles over {outcome.settings['runs']} runs",
                   fontsize=9)
    axes.legend(fontsize=7)
    return figure


def write_search_report(run_dir: Path, outcome: Any, paper: bool = False) -> list[Path]:
    """``search/summary.md``, ``search/summary.json`` and ``search/curves.png`` under
    ``run_dir``; returns the paths written."""
    folder = Path(run_dir) / "search"
    folder.mkdir(parents=True, exist_ok=True)
    rows = search_table(outcome, paper)
    markdown = folder / "summary.md"
    markdown.write_text(search_markdown(outcome, rows))
    summary = folder / "summary.json"
    summary.write_text(json.dumps({
        "space": outcome.space, "dataset": outcome.dataset, "search_metric": outcome.search_metric,
        "settings": outcome.settings, "rows": rows,
        "curves": {f"{f}/{s}": curve_quartiles(runs) for (f, s), runs in _groups(outcome).items()},
    }, indent=1) + "\n")
    plot = folder / "curves.png"
    curves_figure(outcome).savefig(plot, dpi=120)
    return [markdown, summary, plot]

