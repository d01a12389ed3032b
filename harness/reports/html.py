"""One self-contained HTML page: the answer first, every table, every plot as an embedded base64
PNG, the provenance last; rendered from the Jinja2 template ``templates/report.html.j2``.

No external stylesheet, script or image: the file can be mailed, attached to a CI run, or
opened from disk in any browser. The template is autoescaped, so a scorer or arch name holding
``<`` or ``&`` reads as written and cannot inject markup.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from harness.reports.plots import Plot, png_base64
from harness.reports.records import Report, Table
from harness.reports.render import provenance_lines, text_rows

TEMPLATE = "report.html.j2"
WIDE_PLOT_PREFIX = "bars"  # bar charts span the page; scatters and heatmaps sit side by side

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 78em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.8em; }
table { border-collapse: collapse; margin: 0.6em 0 1.4em; font-size: 0.85em; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #ddd; }
th { border-bottom: 2px solid #444; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
p.caption { font-style: italic; margin: 0.2em 0; }
.scroll { overflow-x: auto; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dt { font-weight: 600; } dd { margin: 0; font-family: monospace; word-break: break-all; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figure img { width: 30em; height: auto; }
figure.wide { display: block; margin: 0.5em 0; }
figure.wide img { width: 100%; }
figcaption { font-size: 0.8em; text-align: center; }
.notes { background: #fff6dd; padding: 0.5em 1em; border-left: 4px solid #e0a800; }
"""


@cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.reports", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return environment.get_template(TEMPLATE)


def _table_view(table: Table) -> dict[str, Any]:
    """What the template reads of a table: headers, and each row's label and value texts."""
    width = len(table.labels)
    return {"name": table.name, "title": table.title, "caption": table.caption,
            "headers": [*table.labels, *table.columns],
            "rows": [{"names": texts[:width], "numbers": texts[width:]}
                     for texts in text_rows(table)]}


def _figure_view(plot: Plot, png: Path) -> dict[str, str]:
    return {"title": plot.title, "png": png_base64(png)}


def page(report: Report, figures: list[tuple[Plot, Path]]) -> str:
    """The whole page as one string; ``figures`` pairs each plot with its saved PNG."""
    wide = [_figure_view(p, png) for p, png in figures if p.name.startswith(WIDE_PLOT_PREFIX)]
    others = [_figure_view(p, png) for p, png in figures
              if not p.name.startswith(WIDE_PLOT_PREFIX)]
    return _template().render(
        title=report.run_dir.name, style=_STYLE, notes=report.notes,
        tables=[_table_view(t) for t in report.tables], wide_figures=wide, figures=others,
        provenance=provenance_lines(report))


def tables_page(title: str, tables: list[Table], notes: list[str],
                provenance: list[tuple[str, str]]) -> str:
    """A page of tables alone, in the report's layout (``harness study report``)."""
    return _template().render(
        title=title, style=_STYLE, notes=notes, tables=[_table_view(t) for t in tables],
        wide_figures=[], figures=[], provenance=provenance)
