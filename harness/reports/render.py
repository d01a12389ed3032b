"""Turns report tables into text: cell formatting, markdown, CSV records, LaTeX, JSON values.

The reporters in ``harness.plugins.reporters.formats`` are thin wrappers around these, so a
third-party reporter can reuse the same formatting.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from tabulate import tabulate

from harness.reports.assemble import run_value
from harness.reports.records import Cell, Report, Table

MISSING = "–"


def _is_number(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def fixed(value: float, digits: int = 3) -> str:
    """``value`` with ``digits`` decimals; a value that rounds to zero reads ``0.000``, never
    ``-0.000`` (a sign on a zero suggests a direction the number does not have)."""
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def format_cell(cell: Cell, digits: int = 3) -> str:
    """``0.613``, ``0.613 [0.552, 0.667]``, ``12`` (counts), ``OOM`` (text), ``–`` (no value)."""
    if cell.text is not None:
        return cell.text
    if not _is_number(cell.value):
        return MISSING
    if isinstance(cell.value, int):
        return str(cell.value)
    text = fixed(cell.value, digits)
    if _is_number(cell.low) and _is_number(cell.high):
        text += f" [{fixed(cell.low, digits)}, {fixed(cell.high, digits)}]"
    return text


def text_rows(table: Table) -> list[list[str]]:
    """Every row as strings: the labels, then each formatted cell."""
    return [[*labels, *(format_cell(c, table.digits) for c in cells)]
            for labels, cells in table.rows]


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|")  # a bare pipe would split the cell (|kendall|)


def markdown(table: Table) -> str:
    """A GitHub-flavoured markdown table preceded by its title and caption (the caption alone
    when the table has no rows: a header over nothing reads as a rendering fault)."""
    if not table.rows:
        return f"### {table.title}\n\n{table.caption}\n"
    rows = [[_markdown_cell(t) for t in row] for row in text_rows(table)]
    headers = [_markdown_cell(h) for h in [*table.labels, *table.columns]]
    body = tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)
    return f"### {table.title}\n\n{table.caption}\n\n{body}\n"


def csv_records(table: Table) -> list[dict[str, Any]]:
    """Flat records: the label columns, then each column's value (or text), and
    ``COLUMN_low``/``COLUMN_high`` for columns that carry an interval anywhere."""
    with_interval = {column for _, cells in table.rows
                     for column, cell in zip(table.columns, cells, strict=True)
                     if _is_number(cell.low)}
    records = []
    for labels, cells in table.rows:
        record: dict[str, Any] = dict(zip(table.labels, labels, strict=True))
        for column, cell in zip(table.columns, cells, strict=True):
            record[column] = cell.text if cell.text is not None else json_value(cell.value)
            if column in with_interval:
                record[f"{column}_low"] = json_value(cell.low)
                record[f"{column}_high"] = json_value(cell.high)
        records.append(record)
    return records


def json_value(value: Any) -> Any:
    """JSON-safe scalars: NaN and inf become None (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return json_value(value.item())
    return value


def json_safe(value: Any) -> Any:
    """``json_value`` applied through dicts, lists and tuples."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return json_value(value)


def table_json(table: Table) -> dict[str, Any]:
    return {
        "name": table.name, "title": table.title, "caption": table.caption,
        "labels": table.labels, "columns": table.columns,
        "rows": [{"labels": dict(zip(table.labels, labels, strict=True)),
                  "cells": {column: json_safe(asdict(cell))
                            for column, cell in zip(table.columns, cells, strict=True)}}
                 for labels, cells in table.rows],
    }


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}", "|": r"\textbar{}", "–": "--", "·": r"$\cdot$",
                  "∩": r"$\cap$", "τ": r"$\tau$", "ρ": r"$\rho$"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(char, char) for char in text)


# A LaTeX table wider than this many columns is set on a landscape page (pdflscape); one wider
# than ``LATEX_MAX_COLUMNS`` is split into parts that repeat the label columns.
LATEX_PORTRAIT_COLUMNS = 8
LATEX_MAX_COLUMNS = 14
LATEX_PACKAGES = ("booktabs", "longtable", "pdflscape")


def latex(table: Table) -> str:
    """The table as booktabs ``longtable`` environments (rows break across pages): one part, or
    several when its columns would not fit one landscape page (label columns repeated in each);
    a part wider than ``LATEX_PORTRAIT_COLUMNS`` columns is set in ``landscape``. Needs
    ``LATEX_PACKAGES``."""
    per_part = max(1, LATEX_MAX_COLUMNS - len(table.labels))
    starts = range(0, max(1, len(table.columns)), per_part)
    rows = text_rows(table)
    parts = []
    for number, start in enumerate(starts, 1):
        chosen = range(start, min(start + per_part, len(table.columns)))
        part_of = f" (part {number} of {len(starts)})" if len(starts) > 1 else ""
        columns = [table.columns[i] for i in chosen]
        cells = [row[:len(table.labels)] + [row[len(table.labels) + i] for i in chosen]
                 for row in rows]
        parts.append(_latex_part(table, columns, cells, part_of, number))
    return "\n".join(parts)


def _latex_part(table: Table, columns: list[str], rows: list[list[str]], part_of: str,
                number: int) -> str:
    spec = "l" * len(table.labels) + "r" * len(columns)
    header = " & ".join(latex_escape(h) for h in [*table.labels, *columns])
    label = table.name if number == 1 else f"{table.name}-{number}"
    caption = f"{latex_escape(table.title + part_of)}. {latex_escape(table.caption)}"
    lines = [r"\begingroup\footnotesize", rf"\begin{{longtable}}{{{spec}}}",
             rf"\caption{{{caption}}}\label{{tab:{label}}} \\", r"\toprule",
             header + r" \\", r"\midrule", r"\endhead"]
    lines += [" & ".join(latex_escape(t) for t in row) + r" \\" for row in rows]
    lines += [r"\bottomrule", r"\end{longtable}", r"\endgroup"]
    if len(table.labels) + len(columns) > LATEX_PORTRAIT_COLUMNS:
        lines = [r"\begin{landscape}", *lines, r"\end{landscape}"]
    return "\n".join(lines) + "\n"


def provenance_lines(report: Report) -> list[tuple[str, str]]:
    """(label, value) pairs stating where every number comes from, in reading order."""
    prov = report.provenance
    run = prov.run_config

    def listed(values: list, run_key: str) -> str:
        stated = run_value(run, run_key)
        shown = ", ".join(str(v) for v in values) or "unknown"
        return shown if stated is None else f"{shown} (run.json: {stated})"

    lines = [("run folder", str(report.run_dir)), ("command", prov.command),
             ("seeds", listed(prov.seeds, "seeds")),
             ("weight inits", listed(prov.weight_inits, "weight_inits")),
             ("bias inits", listed(prov.bias_inits, "bias_inits")),
             ("devices", listed(prov.devices, "device")),
             ("harness versions", listed(prov.harness_versions, "harness_version")),
             ("torch versions", listed(prov.torch_versions, "torch_version")),
             ("trials created", f"{prov.created_first} .. {prov.created_last}"),
             ("bootstrap", f"{report.bootstrap} resamples, seed {report.seed}"
              if report.bootstrap else "none")]
    for use in prov.ground_truth:
        source = use.source
        file_text = ", ".join(f"{k}={source[k]}" for k in ("file", "version", "sha256", "recipe")
                              if k in source) or (", ".join(f"{k}={v}" for k, v in source.items())
                                                  or "unknown")
        direction = "higher is better" if use.higher_is_better else "lower is better (negated)"
        lines.append((f"ground truth {use.space}/{use.dataset}",
                      f"{use.metric} ({use.chosen_by}; {direction}"
                      f"{'; ' + use.description if use.description else ''}); source: {file_text}"))
    return lines
