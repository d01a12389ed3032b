"""The built-in report formats, registered like any third-party reporter.

``md`` -> ``report.md``, ``csv`` -> ``correlations.csv`` (+ ``tables/NAME.csv``), ``json`` ->
``report.json``, ``tex`` -> ``report.tex`` (booktabs), ``html`` -> ``report.html`` (one
self-contained page) plus ``plots/NAME.{png,svg}``, ``plots`` -> the figures alone.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from harness.reports.records import Report
from harness.reports.render import (
    LATEX_PACKAGES,
    csv_records,
    json_safe,
    latex,
    latex_escape,
    markdown,
    provenance_lines,
    table_json,
)


def _write_csv(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(key for record in records for key in record))
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(records)
    return path


class MarkdownReporter:
    """``report.md``: every table (tabulate's GitHub style), the answer first and the notes
    right under it (archs left out and why, fallbacks), then the provenance."""

    name = "md"

    def write(self, report: Report, run_dir: Path) -> list[Path]:
        lines = [f"# harness report: {report.run_dir.name}", ""]
        lines += [markdown(table) for table in report.tables[:1]]
        if report.notes:
            lines += ["## Notes", ""] + [f"- {note}" for note in report.notes] + [""]
        lines += [markdown(table) for table in report.tables[1:]]
        lines += ["## Provenance", ""]
        lines += [f"- **{label}**: `{value}`" for label, value in provenance_lines(report)]
        lines.append("")
        path = Path(run_dir) / "report.md"
        path.write_text("\n".join(lines))
        return [path]


class CsvReporter:
    """``correlations.csv`` (one flat row per cell) and ``tables/NAME.csv`` per table."""

    name = "csv"

    def write(self, report: Report, run_dir: Path) -> list[Path]:
        run_dir = Path(run_dir)
        written = [_write_csv(run_dir / "correlations.csv",
                              [json_safe(row.flat()) for row in report.rows])]
        for table in report.tables:
            written.append(_write_csv(run_dir / "tables" / f"{table.name}.csv",
                                      csv_records(table)))
        return written


class JsonReporter:
    """``report.json``: provenance, notes, flat rows and every table (NaN written as null)."""

    name = "json"

    def write(self, report: Report, run_dir: Path) -> list[Path]:
        prov = report.provenance
        document = {
            "format": "harness-report/1",
            "run_dir": str(report.run_dir),
            "provenance": json_safe({
                "command": prov.command, "seeds": prov.seeds, "weight_inits": prov.weight_inits,
                "bias_inits": prov.bias_inits, "devices": prov.devices,
                "harness_versions": prov.harness_versions, "torch_versions": prov.torch_versions,
                "created": [prov.created_first, prov.created_last],
                "ground_truth": [vars(use) for use in prov.ground_truth],
                "run_config": prov.run_config}),
            "bootstrap": {"resamples": report.bootstrap, "seed": report.seed},
            "notes": report.notes,
            "rows": [json_safe(row.flat()) for row in report.rows],
            "tables": [table_json(table) for table in report.tables],
        }
        path = Path(run_dir) / "report.json"
        path.write_text(json.dumps(document, indent=1, allow_nan=False, default=str))
        return [path]


class LatexReporter:
    """``report.tex``: a standalone-able fragment, one booktabs table per report table."""

    name = "tex"

    def write(self, report: Report, run_dir: Path) -> list[Path]:
        packages = ",".join(LATEX_PACKAGES)
        header = [f"% harness report: {report.run_dir.name}; needs \\usepackage{{{packages}}}"]
        header += [f"% {label}: {value}" for label, value in provenance_lines(report)]
        body = [latex(table) for table in report.tables]
        if report.notes:
            body.insert(0, "\n".join(f"% note: {latex_escape(n)}" for n in report.notes))
        path = Path(run_dir) / "report.tex"
        path.write_text("\n".join(header) + "\n\n" + "\n".join(body))
        return [path]


class PlotsReporter:
    """``plots/NAME.png`` and ``plots/NAME.svg`` for every figure of the report."""

    name = "plots"

    def write(self, report: Report, run_dir: Path) -> list[Path]:
        from harness.reports import plots  # matplotlib only when figures are wanted

        written: list[Path] = []
        for plot in plots.report_plots(report):
            written += plots.save(plot, Path(run_dir) / plots.PLOTS_DIR)
        return written


class HtmlReporter:
    """``report.html``, one self-contained page; the figures are also saved as PNG and SVG."""

    name = "html"

    def write(self, report: Report, run_dir: Path) -> list[Path]:
        from harness.reports import html, plots  # matplotlib only when figures are wanted

        figures = []
        written: list[Path] = []
        for plot in plots.report_plots(report):
            png, svg = plots.save(plot, Path(run_dir) / plots.PLOTS_DIR)
            figures.append((plot, png))
            written += [png, svg]
        path = Path(run_dir) / "report.html"
        path.write_text(html.page(report, figures), encoding="utf-8")
        return [path, *written]
