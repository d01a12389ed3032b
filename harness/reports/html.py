"""One self-contained HTML page: provenance, every table, every plot as an embedded base64 PNG.

No external stylesheet, script or image: the file can be mailed, attached to a CI run, or
opened from disk in any browser.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from harness.reports.plots import Plot, png_base64
from harness.reports.records import Report, Table
from harness.reports.render import provenance_lines, text_rows

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
figcaption { font-size: 0.8em; text-align: center; }
.notes { background: #fff6dd; padding: 0.5em 1em; border-left: 4px solid #e0a800; }
"""


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in [*table.labels, *table.columns])
    body = []
    for texts in text_rows(table):
        labels = texts[:len(table.labels)]
        values = texts[len(table.labels):]
        body.append("<tr>" + "".join(f"<td>{escape(t)}</td>" for t in labels)
                    + "".join(f'<td class="num">{escape(t)}</td>' for t in values) + "</tr>")
    return (f'<h2 id="{escape(table.name)}">{escape(table.title)}</h2>\n'
            f'<p class="caption">{escape(table.caption)}</p><div class="scroll"><table>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def _plot_html(plot: Plot, png: Path) -> str:
    return (f'<figure><img alt="{escape(plot.title)}" '
            f'src="data:image/png;base64,{png_base64(png)}">'
            f"<figcaption>{escape(plot.title)}</figcaption></figure>")


def page(report: Report, figures: list[tuple[Plot, Path]]) -> str:
    """The whole page as one string; ``figures`` pairs each plot with its saved PNG."""
    provenance = "".join(f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>"
                         for label, value in provenance_lines(report))
    notes = ("<div class=\"notes\"><ul>" + "".join(f"<li>{escape(n)}</li>" for n in report.notes)
             + "</ul></div>") if report.notes else ""
    tables = "\n".join(_table_html(t) for t in report.tables)
    images = "\n".join(_plot_html(plot, png) for plot, png in figures)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>harness report: {escape(report.run_dir.name)}</title>
<style>{_STYLE}</style></head>
<body>
<h1>harness report: {escape(report.run_dir.name)}</h1>
<h2>Provenance</h2><dl>{provenance}</dl>
{notes}
{tables}
<h2 id="plots">Plots</h2>
{images}
</body></html>
"""
