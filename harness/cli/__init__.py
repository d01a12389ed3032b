"""The ``harness`` command line: parse, call the library, print.

One module per group of commands: ``compare``, ``data`` (status, prepare, build, fetch),
``reports`` (report, export, regress, profile), ``exchange`` (import), ``search`` and ``study``
(run, report, list, show); ``parsers`` holds what they share. Commands
import the library inside their function, and plugins' registration modules import nothing
heavy, so ``harness --help``, ``--version`` and ``harness data status`` never load torch or scipy.

Every ``HarnessError`` and every argument error becomes one line on stderr and exit status 2
(no traceback); any other exception is a harness bug: its traceback, then how to report it.
Plugins add sub-commands through the ``harness_register_commands`` hook.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import sys
import traceback
import warnings
from collections.abc import Sequence

from harness.cli.compare import add_compare_command
from harness.cli.data import add_data_commands
from harness.cli.exchange import add_exchange_commands
from harness.cli.parsers import OneLineParser, command_parser
from harness.cli.reports import add_report_commands
from harness.cli.search import add_search_commands
from harness.cli.study import add_study_commands
from harness.errors import HarnessError

# What the machine refuses (permissions, a read-only or full disk): the user's to fix, not a bug.
ENVIRONMENT_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT)

EXAMPLE = ("harness compare --spaces nb201 --scorers synflow,naswot --samples 100 --seeds 0-2 "
           "--out runs/first\n  harness report runs/first --format md,html\n  harness plugins")


def cmd_plugins(args: argparse.Namespace) -> int:
    """``harness plugins``: every registered object with its plugin, distribution, version."""
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


def build_parser() -> argparse.ArgumentParser:
    """The ``harness`` parser: the built-in commands, then the plugins' commands."""
    from harness.registry import get_registry
    from harness.version import __version__

    parser = OneLineParser(
        prog="harness", description="Benchmark harness for NAS proxy scorers: how well does "
        "scorer X rank the architectures of space Y?", epilog=f"examples:\n  {EXAMPLE}",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    # Also accepted before the sub-command (`harness --data-dir X data status`); every
    # sub-command's own --data-dir wins when both are given.
    parser.add_argument("--data-dir", dest="global_data_dir", metavar="DATA_DIR",
                        help="benchmark data folder for any command (default: "
                             "$HARNESS_DATA_DIR, else ~/.cache/harness)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    plugins = command_parser(sub, "plugins", "list installed plugins (name, kind, distribution, "
                             "version) and load warnings", "harness plugins --json")
    plugins.add_argument("--json", action="store_true", help="machine-readable output")
    plugins.set_defaults(func=cmd_plugins)
    add_compare_command(sub)
    add_report_commands(sub)
    add_exchange_commands(sub)
    add_data_commands(sub)
    add_search_commands(sub)
    add_study_commands(sub)
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
        if args.global_data_dir and getattr(args, "data_dir", None) is None:
            args.data_dir = args.global_data_dir
        if getattr(args, "func", None) is None:
            parser.print_help()
            return 0
        args.argv = argv
        if args.command != "plugins":
            from harness.registry import get_registry

            for message in get_registry().load_warnings:
                print(f"harness: warning: {message}", file=sys.stderr)
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return status
    except BrokenPipeError:
        return _stdout_closed()
    except HarnessError as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - anything else is a bug of the harness: say so
        if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS:
            print(f"harness: error: {exc.filename or 'a file'}: {exc.strerror}", file=sys.stderr)
            return 2
        traceback.print_exc()
        print("harness: internal error: this is a bug of the harness, not your mistake; please "
              "report it with the command you ran, the traceback above and the output of "
              "`harness --version`", file=sys.stderr)
        return 1


def _stdout_closed() -> int:
    """The reader of our output went away (``harness plugins --json | head``): stop quietly, as
    a process killed by SIGPIPE would, with status 128 + SIGPIPE. Standard output is pointed at
    the null device so that the interpreter's final flush does not raise again."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, sys.stdout.fileno())
    os.close(null)
    return 128 + signal.SIGPIPE
