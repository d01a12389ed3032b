"""The ``harness regress`` and ``harness profile`` sub-commands: parse, call the library, print."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import HarnessError
from harness.reports import regress as regression

REGRESS_EXAMPLE = """examples:
  harness regress runs/ci --write-baseline .ci/baselines/demo.json
  harness regress runs/ci --baseline .ci/baselines/demo.json \\
      --fail-if kendall:-0.02,spearman:-0.02,retrieval@10:-0.05 --summary "$GITHUB_STEP_SUMMARY"

exit codes: 0 within thresholds; 1 a statistic fell below its threshold; 2 usage error
(bad baseline or --fail-if); 3 baseline entries missing from the run (--allow-missing: 0).
Device or version differences between baseline and run are warnings only."""

PROFILE_EXAMPLE = """example:
  harness profile --spaces nb201 --scorers gennas-combo --batch-sizes 16,32,48,64,80,96 \\
      --device cuda --archs 3 --repeats 5 --out runs/profile"""


def _int_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write integers separated by commas") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give positive batch sizes, e.g. 16,32,64")
    return values


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def add_report_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``regress`` and ``profile`` to the ``harness`` sub-parsers (``func`` -> exit code)."""
    parser = subparsers.add_parser(
        "regress", help="compare a run's correlations with a committed baseline (CI gate)",
        description="Compare a run's ranking quality with a baseline; print a markdown table "
                    "of deltas and exit non-zero on a regression.",
        epilog=REGRESS_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="run folder (holds trials.sqlite)")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--baseline", type=Path, help="baseline JSON to compare with")
    mode.add_argument("--write-baseline", type=Path, metavar="FILE",
                      help="write the run's baseline to FILE and exit")
    parser.add_argument("--fail-if", default=regression.DEFAULT_FAIL_IF,
                        help=f"STATISTIC:CHANGE list (default {regression.DEFAULT_FAIL_IF})")
    parser.add_argument("--allow-missing", action="store_true",
                        help="baseline entries missing from the run do not fail")
    parser.add_argument("--summary", type=Path, metavar="FILE",
                        help="also append the markdown to FILE (e.g. $GITHUB_STEP_SUMMARY)")
    parser.set_defaults(func=regress_command)

    parser = subparsers.add_parser(
        "profile", help="time scorers per batch size (warm-up, synchronize, median)",
        description="Time every (space, scorer, batch size) on a few seeded archs and print "
                    "the cost table (seconds per trial, peak memory, OOM cells).",
        epilog=PROFILE_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spaces", type=_names, required=True, help="space names, comma separated")
    parser.add_argument("--scorers", type=_names, default=None,
                        help="scorer names, comma separated (default: all that apply)")
    parser.add_argument("--batch-sizes", type=_int_list, default=[16, 32, 48, 64, 80, 96])
    parser.add_argument("--archs", type=int, default=3, help="archs per space (seeded sample)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs per trial")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per trial (median)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--seed", type=int, default=0, help="arch sample and run seed")
    parser.add_argument("--data-dir", default=None, help="data folder (default: HARNESS_DATA_DIR)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for profile.json and profile.md")
    parser.set_defaults(func=profile_command)


def regress_command(args: argparse.Namespace) -> int:
    """``harness regress``: write a baseline, or compare and return the documented exit code."""
    from harness.reports import build_report

    if args.write_baseline:
        path = regression.write_baseline(build_report(args.run_dir), args.write_baseline)
        print(f"wrote baseline {path}")
        return regression.EXIT_OK
    try:
        result = regression.regress(args.run_dir, args.baseline, fail_if=args.fail_if,
                                    allow_missing=args.allow_missing)
    except HarnessError as exc:  # unreadable baseline, bad --fail-if, broken store
        print(f"error: {exc}", file=sys.stderr)
        return regression.EXIT_USAGE
    text = result.markdown()
    print(text)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.summary:
        with open(args.summary, "a") as handle:
            handle.write(text)
    return result.exit_code


def profile_command(args: argparse.Namespace) -> int:
    """``harness profile``: print the cost table; write profile.json/.md under ``--out``."""
    from harness.reports.profile import cost_table, profile, write_profile
    from harness.reports.render import markdown

    settings = {k: v for k, v in vars(args).items() if k != "func"}
    cells = profile(args.spaces, args.batch_sizes, scorers=args.scorers, archs=args.archs,
                    warmup=args.warmup, repeats=args.repeats, device=args.device,
                    seed=args.seed, data_dir=args.data_dir)
    print(markdown(cost_table(cells)))
    if args.out:
        for path in write_profile(cells, args.out, settings):
            print(f"wrote {path}")
    return 0
