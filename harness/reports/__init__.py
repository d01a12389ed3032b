"""Reports: join a run's trials with its ground truth, compute the tables, write them.

``build_report(run_dir)`` reads ``RUN_DIR/trials.sqlite`` and ``RUN_DIR/run.json`` and returns a
``Report`` (rows, GenNAS-appendix-shaped tables, provenance); ``write_reports(report, run_dir,
["md", "html"])`` writes it through the registered reporter plugins (kind ``"reporter"``).

Modules: ``assemble`` (trials + ground truth -> ``Report``), ``records`` (what a report is made
of), ``tables`` (the answer tables a report leads with, and the appendix-shaped tables),
``render``, ``html`` (the Jinja2 template ``templates/report.html.j2``) and ``plots`` (text,
page, figures), ``reference`` (published values), ``regress`` (the CI gate), ``aggregates``
(rank combinations of scorers), ``predict`` (few-label combination, ``harness predict``). The
``harness profile`` timer is not a report: it lives in ``harness.profiling``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from harness.names import split_names
from harness.reports.assemble import build_report, parse_metric_choice
from harness.reports.records import Cell, CellKey, CorrelationRow, Provenance, Report, Table
from harness.runfolder import read_run_record

DEFAULT_FORMATS = ("md", "csv", "json", "tex", "html")


def write_reports(report: Report, run_dir: Path | str,
                  formats: Iterable[str] | str = DEFAULT_FORMATS) -> list[Path]:
    """Write ``report`` in every format (a list, or ``"md,csv"``); returns the files written.

    Formats are reporter plugin names; an unknown one raises ``UnknownPluginError`` listing
    the installed reporters before anything is written.
    """
    from harness.registry import get_registry

    if isinstance(formats, str):
        formats = split_names(formats)
    registry = get_registry()
    reporters = [registry.get("reporter", name) for name in dict.fromkeys(formats)]
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for reporter in reporters:
        written += reporter.write(report, run_dir)
    return written


__all__ = [
    "DEFAULT_FORMATS", "Cell", "CellKey", "CorrelationRow", "Provenance", "Report", "Table",
    "build_report", "parse_metric_choice", "read_run_record", "write_reports",
]
