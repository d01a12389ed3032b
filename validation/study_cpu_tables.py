"""The tables of validation/study-gennas-appendix-cpu.md from one or more study run folders.

Several ``harness study run gennas-appendix`` folders (this machine ran NB-201 and NDS in two,
side by side) give one table of the measured cells and one list of the cells not run, grouped
by reason, each published cell once: a cell measured in any folder counts as measured.

    python validation/study_cpu_tables.py runs/study-cpu runs/study-nds
"""

from __future__ import annotations

import sys
from collections import defaultdict

from harness.reports.render import format_cell
from harness.study.report import build_study_report

KEY = slice(0, 6)  # row, space, scorer, statistic, source, column
NOT_SELECTED = "not run: row not selected in this run (--rows)"


def main(folders: list[str]) -> None:
    measured: dict[tuple, list] = {}
    not_run: dict[tuple, str] = {}
    for folder in folders:
        _, (cells, rows) = build_study_report(folder)
        for labels, values in cells.rows:
            key = tuple(labels[KEY])
            if values[-1].text.startswith("not run"):
                # a folder that did not select the row knows least: another folder's reason wins
                if key not in not_run or not_run[key] == NOT_SELECTED:
                    not_run[key] = values[-1].text
            else:
                measured[key] = [*labels, *(format_cell(v) for v in values)]
        print(f"<!-- {folder}: rows table -->")
        for labels, values in rows.rows:
            if labels[1] != "not selected":
                print("| " + " | ".join([*labels, *(format_cell(v) for v in values)]) + " |")
    print("\n| row | space | scorer | statistic | source | column | ran as | published | "
          "measured [95 %] | difference | n | n published | verdict |")
    print("|" + " --- |" * 13)
    for key in sorted(measured):
        print("| " + " | ".join(measured[key]) + " |")
    grouped: dict[str, list[tuple]] = defaultdict(list)
    for key, reason in not_run.items():
        if key not in measured:
            grouped[reason].append(key)
    for reason, keys in sorted(grouped.items()):
        print(f"\n**{reason}** ({len(keys)} cells):")
        by_row: dict[str, list[str]] = defaultdict(list)
        for row, space, scorer, statistic, source, column in sorted(keys):
            by_row[f"{row} ({source})"].append(f"{space}/{scorer}/{statistic}/{column}")
        for row, cells in by_row.items():
            print(f"- {row}: {len(cells)} cells")


if __name__ == "__main__":
    main(sys.argv[1:])
