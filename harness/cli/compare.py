"""``harness compare``: score sampled archs with scorers, store every trial, write the report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from harness.cli.parsers import command_parser
from harness.cli.reports import add_bootstrap_argument, check_bootstrap
from harness.errors import ConfigError, RunFailedError
from harness.names import split_names

EXAMPLE = ("harness compare --spaces nb201 --scorers synflow,naswot --samples 100 --seeds 0-2 "
           "--out runs/first\n  harness compare --config runs/first/run.json"
           "      # repeat (or resume) a run\n  harness compare"
           "                                   # every scorer on the prepared or bundled data")


def add_compare_command(sub: Any) -> None:
    """Add ``compare`` to the ``harness`` sub-commands."""
    compare = command_parser(sub, "compare", "score sampled archs with scorers, store every "
                             "trial, write the report", EXAMPLE)
    _add_selection_arguments(compare)
    compare.add_argument("--extend", action="store_true", help="add this selection's trials "
                         "to an --out folder that holds another selection (on purpose)")
    compare.add_argument("--quiet", action="store_true", help="no progress bar")
    compare.add_argument("--verbose", action="store_true", help="list every report file "
                         "written (by default one line names the report)")
    compare.add_argument("--json", action="store_true", help="print one JSON summary on stdout "
                         "(run folder, trial counts, report files, Kendall and retrieval per "
                         "scorer) instead of text; progress and notes stay on stderr")
    compare.add_argument("--no-report", action="store_true", help="store trials only")
    compare.add_argument("--format", default="md,csv,json,tex,html", help="report formats")
    compare.add_argument("--metric", help="ground-truth metric (NAME or SPACE=NAME,...)")
    add_bootstrap_argument(compare)
    compare.add_argument("--paper", action=argparse.BooleanOptionalAction, default=None,
                         help="the report's table of published values beside the measured "
                              "ones (default: on when the run uses ground truth bundled with "
                              "the package)")
    compare.set_defaults(func=cmd_compare)


def _add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--config", help="a run.json written by an earlier run; flags given here override it")
    add("--spaces", help="comma-separated space names, or all (default: all prepared, else the "
                         "NB-201 ground truth bundled with the package)")
    add("--scorers", help="comma-separated scorer names (a named aggregate such as az_nas runs "
                          "its parts), or all (default)")
    add("--datasets", help="trial datasets, or all (default: each table's first dataset)")
    add("--samples", help="archs sampled per space, or all (default: 100)")
    add("--sample-seed", type=int, help="seed of the arch sample (default: 0)")
    add("--arch-list", help="file with one arch id per line, instead of sampling")
    add("--seeds", help="run seeds, e.g. 0-2 or 0,3 (default: 0)")
    add("--weight-inits", help="weight init schemes, e.g. default,kaiming,xavier")
    add("--bias-inits", help="bias init schemes, e.g. default,zero")
    add("--option", action="append", metavar="SCORER.KEY=VALUE",
        help="override a scorer option (repeatable), e.g. naswot.batch_size=64")
    add("--images", help="file or folder of images that replace the datasets' inputs")
    add("--device", help="cpu (default), cuda or cuda:N")
    add("--workers", type=int, help="worker processes (default 1; 0 = in this process)")
    add("--trial-timeout", type=float, metavar="S", help="seconds before a trial is killed")
    add("--executor", help="executor plugin (default: local; ray and slurm with their extras)")
    add("--workers-per-gpu", type=int, metavar="K",
        help="with --device cuda: trials that share each GPU at once (default 1)")
    add("--out", help="run folder (default: runs/compare-<hash of the selection>)")
    add("--retry-failed", action="store_true", default=None,
        help="run error / oom / timeout trials of the run folder again")
    add_executor_options(parser)


# The namespace attribute of an executor's own option: the prefix, then ``ExecutorOption.name``.
EXECUTOR_OPTION = "executor_option:"


def add_executor_options(parser: argparse.ArgumentParser) -> None:
    """One argument group per executor that declares options (``ConfigurableExecutor``), e.g.
    ``--ray-address``; the executors' modules are light, so this loads neither torch nor Ray."""
    from harness.protocols import ConfigurableExecutor
    from harness.registry import get_registry

    added: set[str] = set()
    for entry in get_registry().entries("executor"):
        if not isinstance(entry.obj, ConfigurableExecutor) or not entry.obj.options:
            continue
        group = parser.add_argument_group(f"executor {entry.name}")
        for option in entry.obj.options:
            if option.name not in added:  # two executors may share an option
                added.add(option.name)
                group.add_argument(option.flag, dest=EXECUTOR_OPTION + option.name,
                                   type=option.type, metavar=option.metavar, help=option.help)


def config_from_args(args: argparse.Namespace) -> Any:
    """The ``RunConfig`` an argument namespace asks for (``--config`` first, flags on top)."""
    from harness.config import RunConfig, add_option, parse_seeds
    from harness.runfolder import read_run_config

    config = read_run_config(Path(args.config)) if args.config else RunConfig()
    given = {k: v for k, v in vars(args).items() if v is not None}
    lists = {"spaces": "spaces", "scorers": "scorers", "datasets": "datasets",
             "weight_inits": "weight_inits", "bias_inits": "bias_inits"}
    for arg, field_name in lists.items():
        if arg in given:
            setattr(config, field_name, split_names(given[arg]))
    if "samples" in given:
        text = given["samples"].strip()
        if text != "all" and not text.isdigit():
            raise ConfigError(f"--samples {text!r}: give a number or all")
        config.samples = None if text == "all" else int(text)
    if "seeds" in given:
        config.seeds = parse_seeds(given["seeds"])
    for option in given.get("option", []):
        add_option(config.options, option)
    simple = {"sample_seed": "sample_seed", "arch_list": "arch_list", "images": "images",
              "device": "device", "workers": "workers", "trial_timeout": "trial_timeout_s",
              "executor": "executor", "out": "out", "data_dir": "data_dir",
              "retry_failed": "retry_failed", "workers_per_gpu": "workers_per_gpu"}
    for arg, field_name in simple.items():
        if arg in given:
            setattr(config, field_name, given[arg])
    executor_options = {arg.removeprefix(EXECUTOR_OPTION): value for arg, value in given.items()
                        if arg.startswith(EXECUTOR_OPTION)}
    if executor_options:
        config.executor_options = {**config.executor_options, **executor_options}
    return config


def print_skipped_spaces(skipped: dict[str, str]) -> None:
    """One line per run, not per space: a selection by ``all`` or a family skips every space
    without prepared ground truth (a dozen on a fresh machine); one space keeps its reason."""
    if len(skipped) == 1:
        [(space, reason)] = skipped.items()
        print(f"skipped space {space}: {reason}")
    elif skipped:
        print(f"skipped {len(skipped)} spaces without prepared ground truth: "
              f"{', '.join(skipped)} (`harness data status` says how to prepare each)")


def cmd_compare(args: argparse.Namespace) -> int:
    from harness.cli.reports import report_files, write_report
    from harness.execute import execute_plan, status_line
    from harness.plan import plan_run

    config = config_from_args(args)
    plan = plan_run(config)
    check_report_options(args, plan)
    for note in plan.notes:
        print(f"note: {note}", file=sys.stderr)
    if not args.json:
        print_skipped_spaces(plan.skipped_spaces)
    summary = execute_plan(plan, progress=not args.quiet, command=["harness", *args.argv],
                           extend=args.extend)
    if not args.json:
        print(status_line(summary))
    if summary.common_error is not None and summary.stop_signal is None:
        raise RunFailedError(f"all {summary.ran} trials run now failed with one error: "
                             f"{summary.common_error} -- fix it, then run the same command with "
                             f"--retry-failed (the trials are stored in {summary.run_dir})")
    if summary.stop_signal is not None:
        print(f"interrupted: run the same command again to finish the remaining "
              f"{summary.total - summary.already_done - summary.ran} trials", file=sys.stderr)
    report, written = None, []
    if summary.stop_signal is None and not args.no_report:
        paper = args.paper if args.paper is not None else any(p.bundled for p in plan.spaces)
        if args.json:
            report, written = report_files(summary.run_dir, args.format, args.metric,
                                           args.bootstrap, paper)
        else:
            report = write_report(summary.run_dir, args.format, args.metric, args.bootstrap,
                                  paper, verbose=args.verbose)
    if args.json:
        print(json.dumps(compare_summary(plan, summary, report, written), indent=1))
    if summary.stop_signal is not None:
        return 128 + summary.stop_signal  # the shell's status for a process a signal stopped
    return 0


def compare_summary(plan: Any, summary: Any, report: Any, written: list[Path]) -> dict[str, Any]:
    """``harness compare --json``: what the run did and its answer, for scripts.

    ``kendall`` and ``retrieval@10`` hold one record per scorer: its value per space/dataset
    (``COLUMN_low``/``COLUMN_high``: its 95 % interval; ``COLUMN published``: the published
    value where one exists, and ``COLUMN published in 95 %``: ``yes``/``no``, whether it lies
    inside the interval), as ``tables/answer_*.csv`` holds them.
    ``top_k``: one record per space/dataset/metric/scorer with the metrics that weigh the top
    (``tables/top_k.csv``).
    """
    from harness.reports.render import csv_records, json_safe

    answer = {}
    if report is not None:
        answer = {"kendall": csv_records(report.table("answer_kendall")),
                  "retrieval@10": csv_records(report.table("answer_retrieval")),
                  "top_k": csv_records(report.table("top_k"))}
    return json_safe({
        "format": "harness-compare/1", "run_dir": str(summary.run_dir),
        "state": "done" if summary.stop_signal is None else "interrupted",
        "stop_signal": summary.stop_signal, "trials": {
            "selected": summary.total, "already_done": summary.already_done,
            "ran": summary.ran, "statuses": dict(summary.status_counts)},
        "skipped_spaces": plan.skipped_spaces, "notes": plan.notes,
        "report_files": [str(path) for path in written], **answer})


def check_report_options(args: argparse.Namespace, plan: Any) -> None:
    """Refuse the report options that would fail only after every trial ran: an unknown
    ``--format``, a ``--metric`` that neither the selected spaces nor the run's store has, a
    negative ``--bootstrap``."""
    if args.no_report:
        return
    from harness.registry import get_registry
    from harness.reports import parse_metric_choice
    from harness.store import STORE_FILE, TrialStore

    check_bootstrap(args.bootstrap)
    for name in split_names(args.format):
        get_registry().get("reporter", name)
    metric = parse_metric_choice(args.metric)
    wanted = [metric] if isinstance(metric, str) else list((metric or {}).values())
    known = {info.name for space_plan in plan.spaces for info in space_plan.table.metrics}
    if wanted and (plan.run_dir / STORE_FILE).exists():
        with TrialStore.for_run(plan.run_dir) as store:
            known |= set(store.ground_truth_metrics().metric)
    for name in wanted:
        if name not in known:
            raise ConfigError(f"--metric {name!r}: no selected space has this ground-truth "
                              f"metric; known: {', '.join(sorted(known))}")
