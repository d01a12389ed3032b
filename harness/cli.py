"""The ``harness`` command line: parse, call the library, print.

Every ``HarnessError`` becomes one line on stderr and exit status 2 (no traceback). Plugins add
sub-commands through the ``harness_register_commands`` hook.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, HarnessError

EXAMPLES = {
    "harness": "harness compare --spaces nb201 --scorers synflow,naswot --samples 100 "
               "--seeds 0-2 --out runs/first\n  harness report runs/first --format md,html\n"
               "  harness plugins",
    "plugins": "harness plugins --json",
    "compare": "harness compare --spaces nb201 --scorers synflow,naswot --samples 100 "
               "--seeds 0-2 --out runs/first\n  harness compare --config runs/first/run.json"
               "      # repeat (or resume) a run\n  harness compare"
               "                                   # every scorer on the prepared data or demo",
    "report": "harness report runs/first --format md,csv,tex,json,html --bootstrap 1000",
    "data": "harness data status",
    "status": "harness data status --data-dir ~/nas-data",
    "prepare": "harness data prepare nb201 --source NATS-tss-v1_0-3ffb9-simple --data-dir "
               "~/nas-data",
    "build": "harness data build nb201 --dataset digits --archs 200 --seeds 3 --epochs 1 "
             "--width 8 --cells 1 --image-size 16",
    "fetch": "harness data fetch cifar10",
    "export": "harness export runs/first --format parquet",
}


def _parser(sub: Any, name: str, help_text: str, example: str, **kwargs: Any) -> Any:
    parser = sub.add_parser(name, help=help_text, description=help_text,
                            epilog=f"example:\n  {example}",
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            allow_abbrev=False, **kwargs)
    parser.add_argument("--data-dir", default=argparse.SUPPRESS,
                        help="benchmark data folder (default: $HARNESS_DATA_DIR, else "
                             "~/.cache/harness)")
    return parser


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


# -- plugins ----------------------------------------------------------------------------------
def cmd_plugins(args: argparse.Namespace) -> int:
    from harness.registry import TABLES, get_registry

    registry = get_registry()
    rows = [{"name": e.name, "kind": e.kind, "plugin": e.plugin, "distribution": e.distribution,
             "version": e.version}
            for kind in TABLES for e in registry.entries(kind)]
    if args.json:
        print(json.dumps({"plugins": rows, "warnings": registry.load_warnings}, indent=2))
        return 0
    from tabulate import tabulate

    print(tabulate([list(r.values()) for r in rows],
                   headers=["name", "kind", "plugin", "distribution", "version"]))
    for message in registry.load_warnings:
        print(f"warning: {message}")
    return 0


# -- compare ----------------------------------------------------------------------------------
def _add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--config", help="a run.json written by an earlier run; flags given here override it")
    add("--spaces", help="comma-separated space names, or all (default: all prepared, else the "
                         "bundled demo)")
    add("--scorers", help="comma-separated scorer names, or all (default)")
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
    add("--executor", help="executor plugin (default: local)")
    add("--out", help="run folder (default: runs/compare-<hash of the selection>)")
    add("--retry-failed", action="store_true", default=None,
        help="run error / oom / timeout trials of the run folder again")


def config_from_args(args: argparse.Namespace) -> Any:
    """The ``RunConfig`` an argument namespace asks for (``--config`` first, flags on top)."""
    from harness.config import RunConfig, add_option, parse_seeds, read_run_config

    config = read_run_config(Path(args.config)) if args.config else RunConfig()
    given = {k: v for k, v in vars(args).items() if v is not None}
    lists = {"spaces": "spaces", "scorers": "scorers", "datasets": "datasets",
             "weight_inits": "weight_inits", "bias_inits": "bias_inits"}
    for arg, field_name in lists.items():
        if arg in given:
            setattr(config, field_name, _names(given[arg]))
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
              "retry_failed": "retry_failed"}
    for arg, field_name in simple.items():
        if arg in given:
            setattr(config, field_name, given[arg])
    return config


def _write_report(run_dir: Path, formats: str, metric: str | None, bootstrap: int,
                  paper: bool = False) -> None:
    from harness.reports import build_report, parse_metric_choice, write_reports

    report = build_report(run_dir, metric=parse_metric_choice(metric), bootstrap=bootstrap,
                          paper=paper)
    for path in write_reports(report, run_dir, formats):
        print(f"wrote {path}")


def cmd_compare(args: argparse.Namespace) -> int:
    from harness.execute import execute_plan, status_line
    from harness.plan import plan_run

    config = config_from_args(args)
    plan = plan_run(config)
    for note in plan.notes:
        print(f"note: {note}", file=sys.stderr)
    for space, reason in plan.skipped_spaces.items():
        print(f"skipped space {space}: {reason}")
    summary = execute_plan(plan, progress=not args.quiet, command=["harness", *args.argv])
    print(status_line(summary))
    if summary.interrupted:
        print(f"interrupted: run the same command again to finish the remaining "
              f"{summary.total - summary.already_done - summary.ran} trials", file=sys.stderr)
        return 130
    if not args.no_report:
        _write_report(summary.run_dir, args.format, args.metric, args.bootstrap)
    return 0


# -- report / export --------------------------------------------------------------------------
def cmd_report(args: argparse.Namespace) -> int:
    _write_report(Path(args.run_dir), args.format, args.metric, args.bootstrap, args.paper)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from harness.export import export_trials

    print(f"wrote {export_trials(Path(args.run_dir), args.format, args.output)}")
    return 0


# -- data -------------------------------------------------------------------------------------
def _data_dir(args: argparse.Namespace) -> Path:
    from harness.datadir import resolve_data_dir

    return resolve_data_dir(getattr(args, "data_dir", None))


def cmd_data_status(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from harness.datastatus import data_status

    data_dir = _data_dir(args)
    rows = data_status(data_dir)
    print(f"data dir: {data_dir}")
    table = []
    for row in rows:
        if row.prepared:
            table.append([row.space, "prepared", row.source_file or "(unrecorded)",
                          row.checksum[:16] or "-", row.detail])
        else:
            demo = " (bundled demo available)" if row.bundled_demo else ""
            table.append([row.space, "missing" + demo, "-", "-", row.detail])
    print(tabulate(table, headers=["space", "ground truth", "source file", "sha256",
                                   "detail / how to prepare"]))
    if not rows:
        print("no space plugin is installed; `harness plugins` lists what is")
    return 0


def _extra_options(extra: list[str]) -> dict[str, Any]:
    """``--foo-bar VALUE`` / ``--flag`` leftovers -> {"foo_bar": VALUE, "flag": True}."""
    options: dict[str, Any] = {}
    index = 0
    while index < len(extra):
        token = extra[index]
        if not token.startswith("--") or token == "--":
            raise ConfigError(f"unexpected argument {token!r}; space options look like "
                              f"--name VALUE")
        key, sep, value = token[2:].partition("=")
        if not sep:
            if index + 1 < len(extra) and not extra[index + 1].startswith("--"):
                index += 1
                value = extra[index]
            else:
                value = "true"
        try:
            options[key.replace("-", "_")] = json.loads(value)
        except ValueError:
            options[key.replace("-", "_")] = value
        index += 1
    return options


def cmd_data_prepare(args: argparse.Namespace) -> int:
    from harness.registry import get_registry

    space = get_registry().get("space", args.space)
    options = _extra_options(args.extra)
    if args.columns:
        options["columns"] = _names(args.columns)
    source = Path(args.source).expanduser()
    if not source.exists():
        raise ConfigError(f"--source {source}: no such file or folder")
    path = space.prepare(source, _data_dir(args), **options)
    print(f"prepared {args.space} ground truth -> {path}")
    return 0


def cmd_data_build(args: argparse.Namespace) -> int:
    from harness.groundtruth.train_benchmark import build_benchmark
    from harness.registry import get_registry

    space = get_registry().get("space", args.space)
    archs: int | list[str]
    if args.archs.isdigit():
        archs = int(args.archs)
    else:
        lines = Path(args.archs).read_text().splitlines()
        archs = [space.parse_arch(line) for line in lines if line.strip()]
    path = build_benchmark(space, dataset=args.dataset, archs=archs, seeds=args.seeds,
                           epochs=args.epochs, width=args.width, cells=args.cells,
                           seed=args.seed, data_dir=_data_dir(args),
                           out=Path(args.out) if args.out else None,
                           image_size=args.image_size)
    print(f"built {args.space} benchmark on {args.dataset} -> {path}")
    return 0


def cmd_data_fetch(args: argparse.Namespace) -> int:
    from harness.registry import get_registry

    plugin = get_registry().get("dataset", args.dataset)
    fetch = getattr(plugin, "fetch", None)
    if not callable(fetch):
        raise ConfigError(f"dataset {args.dataset!r} cannot be downloaded by harness (its "
                          f"plugin has no fetch method); place its files under the data dir "
                          f"as its documentation says")
    print(f"fetched {args.dataset} -> {fetch(_data_dir(args))}")
    return 0


# -- parser -----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    from harness import __version__

    parser = argparse.ArgumentParser(
        prog="harness", description="Benchmark harness for NAS proxy scorers: how well does "
        "scorer X rank the architectures of space Y?", epilog=f"examples:\n  {EXAMPLES['harness']}",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    plugins = _parser(sub, "plugins", "list installed plugins (name, kind, distribution, "
                      "version) and load warnings", EXAMPLES["plugins"])
    plugins.add_argument("--json", action="store_true", help="machine-readable output")
    plugins.set_defaults(func=cmd_plugins)

    compare = _parser(sub, "compare", "score sampled archs with scorers, store every trial, "
                      "write the report", EXAMPLES["compare"])
    _add_selection_arguments(compare)
    compare.add_argument("--quiet", action="store_true", help="no progress bar")
    compare.add_argument("--no-report", action="store_true", help="store trials only")
    compare.add_argument("--format", default="md,csv,json,tex,html", help="report formats")
    compare.add_argument("--metric", help="ground-truth metric (NAME or SPACE=NAME,...)")
    compare.add_argument("--bootstrap", type=int, default=0, help="bootstrap resamples for "
                         "95%% intervals (e.g. 1000)")
    compare.set_defaults(func=cmd_compare)

    report = _parser(sub, "report", "write a run's report (correlations with ground truth)",
                     EXAMPLES["report"])
    report.add_argument("run_dir", help="run folder written by harness compare")
    report.add_argument("--format", default="md,csv,json,tex,html",
                        help="comma-separated formats: md,csv,tex,json,html")
    report.add_argument("--metric", help="ground-truth metric (NAME or SPACE=NAME,...)")
    report.add_argument("--bootstrap", type=int, default=0, help="bootstrap resamples")
    report.add_argument("--paper", action="store_true",
                        help="add published reference values (GenNAS appendix, zero-cost-nas)")
    report.set_defaults(func=cmd_report)

    export = _parser(sub, "export", "write a run's trials as parquet, csv or json",
                     EXAMPLES["export"])
    export.add_argument("run_dir")
    export.add_argument("--format", default="csv", choices=["parquet", "csv", "json"])
    export.add_argument("--output", help="file to write (default: RUN_DIR/trials.FORMAT)")
    export.set_defaults(func=cmd_export)

    data = _parser(sub, "data", "prepare and inspect benchmark data", EXAMPLES["data"])
    data_sub = data.add_subparsers(dest="data_command", metavar="DATA_COMMAND")
    data.set_defaults(func=lambda args: (data.print_help(), 0)[1])
    status = _parser(data_sub, "status", "per space: prepared or not, source file and "
                     "checksum, or the command that prepares it", EXAMPLES["status"])
    status.set_defaults(func=cmd_data_status)
    prepare = _parser(data_sub, "prepare", "convert an official benchmark file into the "
                      "space's prepared table (other --name VALUE options go to the space)",
                      EXAMPLES["prepare"])
    prepare.add_argument("space")
    prepare.add_argument("--source", required=True, help="official benchmark file or folder")
    prepare.add_argument("--columns", help="comma-separated columns to keep (where supported)")
    prepare.set_defaults(func=cmd_data_prepare, allows_extra=True)
    build = _parser(data_sub, "build", "train a seeded sample of archs into a small benchmark",
                    EXAMPLES["build"])
    build.add_argument("space")
    build.add_argument("--dataset", default="digits")
    build.add_argument("--archs", default="200", help="how many to sample, or a file of ids")
    build.add_argument("--seeds", type=int, default=3)
    build.add_argument("--epochs", type=int, default=8)
    build.add_argument("--width", type=int)
    build.add_argument("--cells", type=int)
    build.add_argument("--seed", type=int, default=0, help="sampling and training seed")
    build.add_argument("--image-size", type=int,
                       help="train and test at this image side (the bundled demo used 16)")
    build.add_argument("--out", help="table path (default: the space's prepared table)")
    build.set_defaults(func=cmd_data_build)
    fetch = _parser(data_sub, "fetch", "download a dataset into the data dir (checksummed)",
                    EXAMPLES["fetch"])
    fetch.add_argument("dataset")
    fetch.set_defaults(func=cmd_data_fetch)

    from harness.registry import get_registry
    from harness.reports.commands import add_report_commands

    add_report_commands(sub)
    get_registry().pm.hook.harness_register_commands(cli=sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``harness`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra and not getattr(args, "allows_extra", False):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.extra = extra
        if getattr(args, "func", None) is None:
            parser.print_help()
            return 0
        args.argv = argv
        if args.command != "plugins":
            from harness.registry import get_registry

            for message in get_registry().load_warnings:
                print(f"harness: warning: {message}", file=sys.stderr)
        return int(args.func(args) or 0)
    except HarnessError as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return 130
