"""``harness study run|report|list|show``: a paper's tables as one file, run and reported."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.cli.compare import add_executor_options, config_from_args
from harness.cli.parsers import command_parser

RUN_EXAMPLE = ("harness study run gennas-appendix --rows 'nb201*' --fast\n"
               "  harness study run my-paper.toml --workers 2 --out runs/my-paper")
REPORT_EXAMPLE = "harness study report runs/study-gennas-appendix --format md,html"
LIST_EXAMPLE = "harness study list"
SHOW_EXAMPLE = "harness study show gennas-appendix > my-paper.toml"


def add_study_commands(sub: Any) -> None:
    """Add ``study`` and its sub-commands to the ``harness`` sub-commands."""
    study = sub.add_parser("study", help="run a paper's tables (a study file) and report them "
                           "beside the published values", description="A study is a TOML file "
                           "of rows (docs/studies.md); built-in ones reproduce published tables.")
    commands = study.add_subparsers(dest="study_command", metavar="STUDY_COMMAND")
    study.set_defaults(func=lambda args: study.print_help())

    run = command_parser(commands, "run", "run every row of a study as trials of one run folder "
                         "(resumable), then write its report", RUN_EXAMPLE)
    run.add_argument("study", help="a built-in study's name (harness study list) or a .toml file")
    run.add_argument("--rows", help="comma-separated shell patterns of row names, e.g. 'nb201*'")
    run.add_argument("--spaces", help="comma-separated shell patterns of the spaces to run "
                     "(default: every space of the selected rows; the others keep what an "
                     "earlier run of the folder recorded)")
    run.add_argument("--scorers", help="comma-separated shell patterns of the scorers to run "
                     "(a row's name or its --fast swap; default: every scorer of the selected "
                     "rows; the others keep what an earlier run of the folder recorded)")
    run.add_argument("--fast", action="store_true",
                     help="run each row's cheaper scorers where it names one (the report says "
                          "which cells used them)")
    run.add_argument("--plan-only", action="store_true",
                     help="plan every selected row and record what it would run, running "
                          "nothing (its cells then read 'over this run's time budget')")
    run.add_argument("--max-samples", type=int, metavar="N",
                     help="at most N archs per space (a quick pass below the paper's n; the "
                          "report shows each cell's n)")
    for flag, text in (("--device", "cpu (default), cuda or cuda:N"),
                       ("--executor", "executor plugin (default: local)"),
                       ("--images", "file or folder of images that replace the datasets' "
                                    "inputs"),
                       ("--out", "run folder (default: runs/study-NAME)")):
        run.add_argument(flag, help=text)
    run.add_argument("--workers", type=int, help="worker processes (default 1; 0 = in this "
                     "process)")
    run.add_argument("--trial-timeout", type=float, metavar="S",
                     help="seconds before a trial is killed")
    run.add_argument("--workers-per-gpu", type=int, metavar="K",
                     help="with --device cuda: trials that share each GPU at once")
    run.add_argument("--format", default="md,html,tex,json", help="report formats")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    add_executor_options(run)
    run.set_defaults(func=cmd_study_run, config=None)

    report = command_parser(commands, "report", "write a study run's report: measured beside "
                            "published per cell, with interval, n and verdict", REPORT_EXAMPLE)
    report.add_argument("run_dir", help="run folder written by harness study run")
    report.add_argument("--format", default="md,html,tex,json",
                        help="comma-separated formats: md,html,tex,json")
    report.add_argument("--out", type=Path, metavar="DIR",
                        help="folder for the report files (default: RUN_DIR)")
    report.set_defaults(func=cmd_study_report)

    listing = command_parser(commands, "list", "the built-in studies", LIST_EXAMPLE)
    listing.set_defaults(func=cmd_study_list)
    show = command_parser(commands, "show", "print a study file, to copy and edit",
                          SHOW_EXAMPLE)
    show.add_argument("study", help="a built-in study's name or a .toml file")
    show.set_defaults(func=cmd_study_show)


def cmd_study_run(args: argparse.Namespace) -> int:
    from harness.study.report import write_study_report
    from harness.study.run import StudyRunOptions, run_study
    from harness.study.spec import load_study

    study, folder = load_study(args.study)
    study.selected_rows(args.rows)  # a pattern that matches no row fails before any work
    base = config_from_args(args)
    if not args.out:
        base.out = str(Path("runs") / f"study-{study.name}")
    options = StudyRunOptions(base=base, fast=args.fast, max_samples=args.max_samples,
                              rows=args.rows, spaces=args.spaces, scorers=args.scorers,
                              plan_only=args.plan_only)

    def say(outcome: Any) -> None:
        for space in outcome.spaces:
            detail = space.reason or f"{space.n_trials} trials, {space.ran} run now"
            print(f"{outcome.row} / {space.space}: {space.status} ({detail})")

    run_dir, stopped = run_study(study, folder, options, command=["harness", *args.argv],
                                 progress=not args.quiet, on_row=say)
    if stopped:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130
    for path in write_study_report(run_dir, args.format):
        print(f"wrote {path}")
    return 0


def cmd_study_report(args: argparse.Namespace) -> int:
    from harness.study.report import write_study_report

    for path in write_study_report(args.run_dir, args.format, args.out):
        print(f"wrote {path}")
    return 0


def cmd_study_list(args: argparse.Namespace) -> int:
    from harness.study.spec import builtin_studies, load_study

    for name in builtin_studies():
        study, _ = load_study(name)
        print(f"{name}: {study.title} ({len(study.rows)} rows)")
    return 0


def cmd_study_show(args: argparse.Namespace) -> int:
    from harness.study.spec import study_text

    print(study_text(args.study)[0], end="")
    return 0
