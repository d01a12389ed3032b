"""Commands on a finished run: ``report``, ``export``, ``predict`` (few-label combination),
``regress`` (the CI gate) and ``profile`` (scorer cost per batch size)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from harness.cli.parsers import command_parser
from harness.errors import ConfigError, HarnessError
from harness.names import split_names

REPORT_EXAMPLE = ("harness report runs/first --format md,csv,tex,json,html --bootstrap 1000\n"
                  "  harness report runs/first --metric cifar10-valid/ori-test --out "
                  "runs/first/test-acc   # another report beside the first\n"
                  "  harness report runs/first --aggregate 'rank(synflow,snip)=synflow,snip' "
                  "--aggregate snip,naswot:log_rank --top-k 5,10")
EXPORT_EXAMPLE = ("harness export runs/first --format parquet\n"
                  "  harness export runs/first --format naslib-zc --output zc_nasbench201.json")
PREDICT_EXAMPLE = "harness predict runs/first --train 10,20,50,100 --splits 20"
REGRESS_EXAMPLE = """examples:
  harness regress runs/ci --write-baseline .ci/baselines/bundled.json
  harness regress runs/ci --baseline .ci/baselines/bundled.json \\
      --fail-if kendall:-0.02,spearman:-0.02,retrieval@10:-0.05 --summary "$GITHUB_STEP_SUMMARY"

exit codes: 0 within thresholds; 1 a statistic fell below its threshold; 2 usage error
(missing or malformed baseline, bad --fail-if, or a run over other archs or other ground truth
than the baseline's: --allow-different-archs compares anyway); 3 baseline entries missing from
the run (--allow-missing: 0). Device or version differences are warnings only."""
PROFILE_EXAMPLE = """example:
  harness profile --spaces nb201 --scorers gennas-combo --batch-sizes 16,32,48,64,80,96 \\
      --device cuda --archs 3 --repeats 5 --out runs/profile"""


def add_report_commands(sub: Any) -> None:
    """Add ``report``, ``export``, ``regress`` and ``profile`` to the ``harness`` sub-commands
    (``func`` -> exit code)."""
    report = command_parser(sub, "report", "write a run's report (correlations with ground "
                            "truth)", REPORT_EXAMPLE)
    report.add_argument("run_dir", help="run folder written by harness compare")
    report.add_argument("--format", default="md,csv,json,tex,html",
                        help="comma-separated formats: md,csv,tex,json,html")
    report.add_argument("--metric", help="ground-truth metric (NAME or SPACE=NAME,...)")
    add_bootstrap_argument(report)
    report.add_argument("--paper", action="store_true",
                        help="add published reference values (GenNAS appendix, zero-cost-nas)")
    report.add_argument("--aggregate", action="append", default=[],
                        metavar="NAME=SCORERS[:METHOD]",
                        help="add a rank combination of scorers already in the run as one more "
                             "scorer (methods mean_rank (default), log_rank, lexicographic; "
                             "NAME= optional; or a named aggregate such as az_nas); repeatable")
    report.add_argument("--top-k", type=_int_list, default=None, metavar="K,K,...",
                        help="K (archs) of nDCG@K, precision@K, kendall_top@K, best_rank@K "
                             "(default 10)")
    report.add_argument("--out", type=Path, metavar="DIR",
                        help="folder for the report files (default: RUN_DIR), so a second "
                             "report does not overwrite the first")
    report.add_argument("--verbose", action="store_true", help="list every file written")
    report.set_defaults(func=cmd_report)

    export = command_parser(sub, "export", "write a run's trials as parquet, csv or json, or "
                            "its scores in another tool's layout (an exchange format)",
                            EXPORT_EXAMPLE)
    export.add_argument("run_dir")
    export.add_argument("--format", default="csv",
                        help="parquet, csv, json, or an exchange format (harness plugins lists "
                             "them, e.g. naslib-zc)")
    export.add_argument("--output", help="file to write (default: RUN_DIR/trials.FORMAT)")
    export.set_defaults(func=cmd_export)
    _add_predict_command(sub)
    _add_regress_command(sub)
    _add_profile_command(sub)


def add_bootstrap_argument(parser: argparse.ArgumentParser) -> None:
    """``--bootstrap N``: resamples of the 95 % intervals; left out, the report's default
    (``harness.reports.assemble.default_resamples``)."""
    parser.add_argument("--bootstrap", type=int, default=None, metavar="N",
                        help="bootstrap resamples for the 95 %% intervals of Kendall and "
                             "Spearman; 0 = none (default: 1000 when every space/dataset has "
                             "fewer than 300 archs, else none)")


def check_bootstrap(resamples: int | None) -> None:
    """Refuse a negative ``--bootstrap`` in one line, before anything runs."""
    if resamples is not None and resamples < 0:
        raise ConfigError(f"--bootstrap {resamples}: give 0 (no intervals) or a number of "
                          f"resamples, e.g. 1000")


def write_report(run_dir: Path, formats: str, metric: str | None, bootstrap: int | None,
                 paper: bool = False, out: Path | None = None, verbose: bool = False,
                 **settings: Any) -> Any:
    """Build the report of ``run_dir``, write it in every format of ``formats`` under ``out``
    (default: the run folder), print its answer (``print_answer``), return the report.
    ``settings``: more ``build_report`` keywords (``aggregates``, ``top_ks``)."""
    report, written = report_files(run_dir, formats, metric, bootstrap, paper, out, **settings)
    print_answer(report, out or run_dir, written, verbose)
    return report


def report_files(run_dir: Path, formats: str, metric: str | None, bootstrap: int | None,
                 paper: bool = False, out: Path | None = None,
                 **settings: Any) -> tuple[Any, list[Path]]:
    """``write_report`` without printing: the report and the files written."""
    from harness.reports import build_report, parse_metric_choice, write_reports

    report = build_report(run_dir, metric=parse_metric_choice(metric), bootstrap=bootstrap,
                          paper=paper, **settings)
    return report, write_reports(report, out or run_dir, formats)


def print_answer(report: Any, folder: Path, written: list[Path], verbose: bool) -> None:
    """What a reader wants after a run, and no more: the Kendall table (intervals, published
    values and whether they lie inside), the report's notes (archs left out and why), then one
    line naming the report; every file written only with ``verbose``."""
    from harness.reports.render import markdown

    if verbose:
        for path in written:
            print(f"wrote {path}")
    print(f"\n{markdown(report.table('answer_kendall'))}")
    for note in report.notes:
        print(f"note: {note}")
    pages = [path for path in written if path.name == "report.html"] or written[:1]
    shown = f"{pages[0]}, " if pages else ""
    print(f"report: {shown}{len(written)} files in {folder}"
          + ("" if verbose else " (--verbose lists them)"))


def cmd_report(args: argparse.Namespace) -> int:
    from harness.preflight import check_run_dir

    if args.out is not None:
        check_run_dir(args.out)  # a file, or a folder that cannot be made: one line
    check_bootstrap(args.bootstrap)
    settings: dict[str, Any] = {"aggregates": args.aggregate}
    if args.top_k:
        settings["top_ks"] = tuple(args.top_k)
    write_report(Path(args.run_dir), args.format, args.metric, args.bootstrap, args.paper,
                 args.out, args.verbose, **settings)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from harness.exchange import export_format_names, export_scores
    from harness.export import EXPORT_FORMATS, export_trials
    from harness.preflight import check_writable_folder

    if args.format not in export_format_names():
        raise ConfigError(f"--format {args.format!r}: use one of "
                          f"{', '.join(export_format_names())}")
    if args.output:
        check_writable_folder(Path(args.output).parent, f"--output {args.output}")
    if args.format in EXPORT_FORMATS:
        print(f"wrote {export_trials(Path(args.run_dir), args.format, args.output)}")
        return 0
    path, notes = export_scores(Path(args.run_dir), args.format, args.output)
    print(f"wrote {path}")
    for note in notes:
        print(f"note: {note}")
    return 0


# -- predict ----------------------------------------------------------------------------------
def _add_predict_command(sub: Any) -> None:
    predict = command_parser(sub, "predict", "fit gradient boosting on the scores of k archs "
                             "with known accuracy; rank the rest (held-out Kendall, Spearman)",
                             PREDICT_EXAMPLE)
    predict.add_argument("run_dir", type=Path, help="run folder written by harness compare")
    predict.add_argument("--train", type=_int_list, required=True, metavar="K,K,...",
                         help="archs with known accuracy to fit on (each k a row)")
    predict.add_argument("--splits", type=int, default=10,
                         help="random draws of the k archs per k (default 10)")
    predict.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    predict.add_argument("--metric", help="ground-truth metric (default: each dataset's)")
    predict.add_argument("--no-encoding", action="store_true",
                         help="fit on the scores alone, without the space's arch encoding")
    predict.add_argument("--scorers", type=split_names, metavar="NAME,...",
                         help="fit on these scorers' scores only (default: every scorer of the "
                              "run)")
    predict.add_argument("--json", action="store_true", help="print the rows as JSON")
    predict.set_defaults(func=cmd_predict)


def cmd_predict(args: argparse.Namespace) -> int:
    """``harness predict``: print the held-out table (or JSON) and the notes."""
    from harness.reports.predict import PredictSettings, predict, predict_table
    from harness.reports.render import json_safe, markdown

    notes: list[str] = []
    settings = PredictSettings(tuple(args.train), args.splits, args.seed, args.metric,
                               not args.no_encoding,
                               tuple(args.scorers) if args.scorers else None)
    frame = predict(args.run_dir, settings, notes)
    if args.json:
        print(json.dumps({"format": "harness-predict/1", "notes": notes,
                          "rows": json_safe(frame.to_dict(orient="records"))}, indent=1))
    else:
        print(markdown(predict_table(frame)))
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
    return 0


# -- regress ----------------------------------------------------------------------------------
def _add_regress_command(sub: Any) -> None:
    parser = sub.add_parser(
        "regress", help="compare a run's correlations with a committed baseline (CI gate)",
        description="Compare a run's ranking quality with a baseline; print a markdown table "
                    "of deltas and exit non-zero on a regression.",
        epilog=REGRESS_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="run folder (holds trials.sqlite)")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--baseline", type=Path, help="baseline JSON to compare with")
    mode.add_argument("--write-baseline", type=Path, metavar="FILE",
                      help="write the run's baseline to FILE and exit")
    # The default lives in harness.reports.regress, which imports scipy: resolved when run.
    parser.add_argument("--fail-if", help="STATISTIC:CHANGE list (default: the thresholds of "
                        "the example below)")
    parser.add_argument("--allow-missing", action="store_true",
                        help="baseline entries missing from the run do not fail")
    parser.add_argument("--allow-different-archs", action="store_true",
                        help="compare even when the run covers other archs or other ground "
                             "truth than the baseline (each difference is a warning)")
    parser.add_argument("--json", action="store_true",
                        help="print the result as JSON (verdict, exit_code, deltas, warnings, "
                             "missing and new entries) instead of markdown")
    parser.add_argument("--summary", type=Path, metavar="FILE",
                        help="also append the markdown to FILE (e.g. $GITHUB_STEP_SUMMARY)")
    parser.set_defaults(func=regress_command)


def regress_command(args: argparse.Namespace) -> int:
    """``harness regress``: write a baseline, or compare and return the documented exit code."""
    from harness.reports import build_report
    from harness.reports import regress as regression

    if args.write_baseline:
        path = regression.write_baseline(build_report(args.run_dir, bootstrap=0),
                                         args.write_baseline)
        print(f"wrote baseline {path}")
        return regression.EXIT_OK
    try:
        result = regression.regress(args.run_dir, args.baseline,
                                    fail_if=args.fail_if or regression.DEFAULT_FAIL_IF,
                                    allow_missing=args.allow_missing,
                                    allow_different_archs=args.allow_different_archs)
    except HarnessError as exc:  # bad baseline or --fail-if, other archs, broken store
        message = " ".join(str(exc).split())
        print(f"harness regress: error: {message}", file=sys.stderr)
        if args.json:
            print(json.dumps({"exit_code": regression.EXIT_USAGE, "error": message}))
        return regression.EXIT_USAGE
    text = result.markdown()
    print(json.dumps(result.to_json(), indent=1) if args.json else text)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.summary:
        with open(args.summary, "a") as handle:
            handle.write(text)
    return result.exit_code


# -- profile ----------------------------------------------------------------------------------
def _int_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write integers separated by commas") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give positive whole numbers, e.g. 16,32,64")
    return values


def _add_profile_command(sub: Any) -> None:
    parser = sub.add_parser(
        "profile", help="time scorers per batch size (warm-up, synchronize, median)",
        description="Time every (space, scorer, batch size) on a few seeded archs and print "
                    "the cost table (seconds per trial, peak memory, OOM cells).",
        epilog=PROFILE_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spaces", type=split_names, required=True,
                        help="space names, comma separated")
    parser.add_argument("--scorers", type=split_names, default=None,
                        help="scorer names, comma separated (default: all that apply)")
    parser.add_argument("--batch-sizes", type=_int_list, default=[16, 32, 48, 64, 80, 96])
    parser.add_argument("--archs", type=int, default=3, help="archs per space (seeded sample)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs per trial")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per trial (median)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    parser.add_argument("--seed", type=int, default=0, help="arch sample and run seed")
    parser.add_argument("--images", default=None,
                        help="file or folder of images that replace the datasets' inputs (as "
                             "in compare), e.g. enough images for the batch sizes profiled")
    parser.add_argument("--data-dir", default=None, help="data folder (default: HARNESS_DATA_DIR)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for profile.json and profile.md")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--workers-per-gpu", type=_int_list, default=None, metavar="K,K,...",
                        help="also measure archs per second with K trials sharing each GPU "
                             "(default 1,2,4,8 with --device cuda; on CPU: K worker processes, "
                             "only when given)")
    parser.add_argument("--throughput-archs", type=int, default=32, metavar="N",
                        help="archs per throughput measurement (at least 4 per worker)")
    parser.set_defaults(func=profile_command)


def profile_command(args: argparse.Namespace) -> int:
    """``harness profile``: print the cost table; write profile.json/.md under ``--out``."""
    from harness.preflight import check_run_dir
    from harness.profiling import (
        cpu_table,
        profile,
        profile_table,
        throughput,
        throughput_table,
        write_profile,
    )
    from harness.reports.render import markdown

    if args.out:
        check_run_dir(args.out)  # before the measurements, not after them
    settings = {k: v for k, v in vars(args).items() if k not in ("func", "quiet")}
    cells = profile(args.spaces, args.batch_sizes, scorers=args.scorers, archs=args.archs,
                    warmup=args.warmup, repeats=args.repeats, device=args.device,
                    seed=args.seed, data_dir=args.data_dir, images=args.images,
                    progress=not args.quiet)
    print(markdown(profile_table(cells)))
    print(markdown(cpu_table(cells)))
    ks = args.workers_per_gpu or ([1, 2, 4, 8] if args.device == "cuda" else [])
    rates = throughput(args.spaces, ks, scorers=args.scorers, archs=args.throughput_archs,
                       device=args.device, seed=args.seed, data_dir=args.data_dir) if ks else []
    if rates:
        print(markdown(throughput_table(rates)))
    if args.out:
        for path in write_profile(cells, args.out, settings, rates):
            print(f"wrote {path}")
    return 0
