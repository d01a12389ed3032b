"""One self-contained HTML page: the answer first, every table, every plot as an embedded base64
PNG, the provenance last; rendered from the Jinja2 template ``templates/report.html.j2``.

No external stylesheet, script or image: the file can be mailed, attached to a CI run, or
opened from disk in any browser. The template is autoescaped, so a scorer or arch name holding
``<`` or ``&`` reads as written and cannot inject markup. The page is laid out for looking
before reading: links to every section, the Kendall table, the bar chart under it, then the
scatter of score against accuracy per scorer (measured and published tau in each title), then
the other tables. Every table sorts by a column when its header is clicked (``_SORT_SCRIPT``,
inline: a few lines of plain JavaScript, no library).
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
SCATTER_PLOT_PREFIX = "scatter"  # score against accuracy: right under the answer
WIDE_PX_PER_INCH = 120

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
figure.wide { display: table; margin: 0.5em 0; }
figure.wide img { width: auto; max-width: 100%; height: auto; }
figcaption { font-size: 0.8em; text-align: center; }
.notes { background: #fff6dd; padding: 0.5em 1em; border-left: 4px solid #e0a800; }
nav { font-size: 0.85em; line-height: 1.7; }
nav a { margin-right: 1em; white-space: nowrap; }
th.sortable { cursor: pointer; user-select: none; }
th.sortable::after { content: " \\2195"; color: #aaa; }
th[aria-sort="ascending"]::after { content: " \\25B2"; color: #222; }
th[aria-sort="descending"]::after { content: " \\25BC"; color: #222; }
"""

# Click a header to sort its table by that column; click again to reverse. A cell is sorted by
# the number it starts with (``0.613 [0.552, 0.667]`` -> 0.613), else by its text; numbers
# come before texts such as ``OOM`` and the empty ``–`` comes last in either direction. The
# first click on a column of numbers sorts descending (best tau first), on a column of names
# ascending. Ties keep the order the report wrote.
_SORT_SCRIPT = """
(function () {
  "use strict";
  var NUMBER = /^-?\\d+(\\.\\d+)?(e[-+]?\\d+)?/i;
  function key(cell) {
    var text = cell.textContent.trim(), match = text.match(NUMBER);
    if (text === "" || text === "\\u2013") { return {rank: 2, value: 0, text: ""}; }
    if (match) { return {rank: 0, value: parseFloat(match[0]), text: text}; }
    return {rank: 1, value: 0, text: text.toLowerCase()};
  }
  function compare(a, b, sign) {
    if (a.rank !== b.rank) { return a.rank - b.rank; }
    if (a.rank === 2) { return 0; }
    if (a.rank === 0) { return sign * (a.value - b.value); }
    return sign * (a.text < b.text ? -1 : a.text > b.text ? 1 : 0);
  }
  function sortBy(table, header, column) {
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    var keys = rows.map(function (row, index) {
      return {row: row, key: key(row.cells[column]), index: index};
    });
    var numeric = keys.some(function (k) { return k.key.rank === 0; });
    var current = header.getAttribute("aria-sort");
    var order = current ? (current === "ascending" ? "descending" : "ascending")
                        : (numeric ? "descending" : "ascending");
    var sign = order === "ascending" ? 1 : -1;
    keys.sort(function (a, b) { return compare(a.key, b.key, sign) || a.index - b.index; });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", order);
    keys.forEach(function (k) { body.appendChild(k.row); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, column) {
      header.classList.add("sortable");
      header.title = "sort by this column";
      header.addEventListener("click", function () { sortBy(table, header, column); });
    });
  });
})();
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


def _figure_view(plot: Plot, png: Path) -> dict[str, Any]:
    """Title, PNG and the width a wide figure is shown at: its own size at ``WIDE_PX_PER_INCH``
    (a bar chart of three scorers stretched over the page would fill the first screen)."""
    return {"title": plot.title, "png": png_base64(png),
            "width_px": round(plot.figure.get_figwidth() * WIDE_PX_PER_INCH)}


def page(report: Report, figures: list[tuple[Plot, Path]]) -> str:
    """The whole page as one string; ``figures`` pairs each plot with its saved PNG."""
    def views(prefix: str | None) -> list[dict[str, Any]]:
        known = (WIDE_PLOT_PREFIX, SCATTER_PLOT_PREFIX)
        return [_figure_view(plot, png) for plot, png in figures
                if (plot.name.startswith(prefix) if prefix else not plot.name.startswith(known))]

    return _template().render(
        title=report.run_dir.name, style=_STYLE, script=_SORT_SCRIPT, notes=report.notes,
        tables=[_table_view(t) for t in report.tables], wide_figures=views(WIDE_PLOT_PREFIX),
        scatters=views(SCATTER_PLOT_PREFIX), figures=views(None),
        provenance=provenance_lines(report))


def tables_page(title: str, tables: list[Table], notes: list[str],
                provenance: list[tuple[str, str]]) -> str:
    """A page of tables alone, in the report's layout (``harness study report``)."""
    return _template().render(
        title=title, style=_STYLE, script=_SORT_SCRIPT, notes=notes,
        tables=[_table_view(t) for t in tables], wide_figures=[], scatters=[], figures=[],
        provenance=provenance)
