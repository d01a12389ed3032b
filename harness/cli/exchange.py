"""``harness import FORMAT FILE --out RUN``: another tool's per-arch scores into a run folder
(``harness.exchange``); ``harness export --format FORMAT`` writes them back (``reports``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.cli.parsers import command_parser

IMPORT_EXAMPLE = ("harness import naslib-zc zc_nasbench201.json --out runs/zc --dataset cifar10\n"
                  "  harness compare --spaces nb201 --scorers synflow --arch-list ARCHS --out "
                  "runs/zc\n  harness report runs/zc   # the imported scores beside the run's")


def add_exchange_commands(sub: Any) -> None:
    """Add ``import`` to the ``harness`` sub-commands (``func`` -> exit code)."""
    parser = command_parser(sub, "import", "read another tool's per-arch scores (an exchange "
                            "format: harness plugins lists them) into a run folder as trials",
                            IMPORT_EXAMPLE)
    parser.add_argument("format", help="exchange format, e.g. naslib-zc")
    parser.add_argument("file", type=Path, help="the file to read")
    parser.add_argument("--out", type=Path, required=True, metavar="RUN_DIR",
                        help="run folder to add the trials to (made if absent)")
    parser.add_argument("--dataset", action="append", default=[], metavar="THEIRS[=OURS]",
                        help="read only these datasets of the file (comma list or repeated), "
                             "each optionally mapped to a trial dataset of its space (default: "
                             "every dataset, mapped by the format)")
    parser.set_defaults(func=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    from harness.exchange import import_scores, parse_dataset_choices
    from harness.preflight import check_run_dir

    check_run_dir(args.out)
    summary = import_scores(args.format, args.file, args.out,
                            datasets=parse_dataset_choices(args.dataset),
                            data_dir=getattr(args, "data_dir", None),
                            command=["harness", *getattr(args, "argv", [])])
    print(f"imported {summary.read} scores of {len(summary.scorers)} scorers "
          f"({', '.join(summary.scorers)}) on {', '.join(summary.cells)} into {args.out}: "
          f"{summary.added} trials added, {summary.read - summary.added} already stored")
    for note in summary.notes:
        print(f"note: {note}")
    return 0
