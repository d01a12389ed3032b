"""``harness data``: see which spaces have ground truth (``status``), convert official files
(``prepare``), train a small benchmark of your own (``build``), download datasets (``fetch``)."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from harness.cli.parsers import OneLineParser, command_parser
from harness.errors import ConfigError
from harness.names import split_names


@runtime_checkable
class FetchableDataset(Protocol):
    """Optional: a dataset that ``harness data fetch NAME`` can download."""

    def fetch(self, data_dir: Path) -> Path:
        """Download (checksummed) into ``data_dir``; return where the files are."""


@runtime_checkable
class BundledDataset(Protocol):
    """Optional: a dataset whose images are installed with a package (scikit-learn's digits),
    so ``harness data fetch`` has nothing to download."""

    def installed_with(self) -> str:
        """The package that installs the images, e.g. ``"scikit-learn"``."""

EXAMPLES = {
    "data": "harness data status",
    "status": "harness data status --data-dir ~/nas-data",
    "prepare": "harness data prepare nb201 --source NATS-tss-v1_0-3ffb9-simple --data-dir "
               "~/nas-data",
    "build": "harness data build nb201 --dataset digits --archs 200 --seeds 3 --epochs 1 "
             "--width 8 --cells 1 --image-size 16",
    "fetch": "harness data fetch cifar10",
}
# What every space's prepare takes, before the options each space declares.
GENERIC_PREPARE_HELP = """
every --source:
  a table written by `harness data build --out` is installed as it is (same space only)"""


@runtime_checkable
class PrepareOptionsSpace(Protocol):
    """Optional: a space whose ``prepare`` takes options of its own (``harness data prepare
    SPACE --NAME VALUE``; the value is JSON where it parses, else text). ``prepare_options``
    maps each option as a user writes it (``"--columns NEW=OLD,..."``) to what it does; the
    list is read when ``data prepare --help`` is shown, so a third-party space's options show up
    beside the built-in ones."""

    prepare_options: dict[str, str]


class _HelpAppendixParser(OneLineParser):
    """A parser whose help ends with text computed only when the help is shown (so building
    the command line loads no plugin)."""

    appendix: Callable[[], str] | None = None

    def format_help(self) -> str:
        text = super().format_help()
        return text + self.appendix() + "\n" if self.appendix else text


def prepare_options_help() -> str:
    """Each installed space's prepare options, spaces with the same options under one heading."""
    from harness.registry import get_registry

    registry = get_registry()
    groups: dict[tuple[tuple[str, str], ...], list[str]] = {}
    for name in registry.names("space"):
        space = registry.get("space", name)
        options = space.prepare_options if isinstance(space, PrepareOptionsSpace) else {}
        groups.setdefault(tuple(options.items()), []).append(name)
    lines = [GENERIC_PREPARE_HELP]
    for options, spaces in groups.items():
        if options:
            lines += ["", f"{', '.join(spaces)} options:"]
            lines += [textwrap.fill(text, 92, initial_indent=f"  {flag:<24} ",
                                    subsequent_indent=" " * 27) for flag, text in options]
    bare = [name for options, spaces in groups.items() if not options for name in spaces]
    if bare:
        lines += ["", textwrap.fill(f"no options: {', '.join(bare)}", 92,
                                    subsequent_indent="  ")]
    return "\n".join(lines)


def add_data_commands(sub: Any) -> None:
    """Add ``data`` and its sub-commands to the ``harness`` sub-commands."""
    data = command_parser(sub, "data", "prepare and inspect benchmark data", EXAMPLES["data"])
    data_sub = data.add_subparsers(dest="data_command", metavar="DATA_COMMAND",
                                   parser_class=_HelpAppendixParser)
    data.set_defaults(func=lambda args: (data.print_help(), 0)[1])
    status = command_parser(data_sub, "status", "per space: prepared or not, source file and "
                            "checksum, or the command that prepares it", EXAMPLES["status"])
    status.add_argument("--json", action="store_true",
                        help="machine-readable output: the data dir and one object per space")
    status.set_defaults(func=cmd_data_status)
    prepare = command_parser(data_sub, "prepare", "convert an official benchmark file, a table "
                             "of your own, or a table written by `harness data build --out` into "
                             "the space's prepared table", EXAMPLES["prepare"])
    prepare.appendix = prepare_options_help
    prepare.add_argument("space")
    prepare.add_argument("--source", required=True,
                         help="official benchmark file or folder, a .csv/.tsv/.parquet table, "
                              "or a harness table (`data build --out`)")
    prepare.add_argument("--columns", metavar="NEW=OLD,...",
                         help="user tables: which file column holds each harness column, "
                              "e.g. arch=arch_str,cifar10-valid/x-valid=acc (a bare NAME keeps "
                              "that column as it is)")
    prepare.set_defaults(func=cmd_data_prepare, allows_extra=True)
    _add_build_command(data_sub)
    fetch = command_parser(data_sub, "fetch", "download a dataset into the data dir "
                           "(checksummed, retried, with a progress bar; offline, it prints "
                           "the manual steps)", EXAMPLES["fetch"])
    fetch.add_argument("dataset")
    fetch.set_defaults(func=cmd_data_fetch)


def _add_build_command(data_sub: Any) -> None:
    build = command_parser(data_sub, "build", "train a seeded sample of archs into a small "
                           "benchmark", EXAMPLES["build"])
    build.add_argument("space")
    build.add_argument("--dataset", required=True,
                       help="what to train on: a dataset whose plugin hands out whole train "
                            "and test splits (e.g. digits, installed with scikit-learn)")
    build.add_argument("--archs", default="200", help="how many to sample, or a file of ids")
    build.add_argument("--seeds", type=int, default=3)
    build.add_argument("--epochs", type=int, default=8)
    build.add_argument("--width", type=int)
    build.add_argument("--cells", type=int)
    build.add_argument("--seed", type=int, default=0, help="sampling and training seed")
    build.add_argument("--image-size", type=int,
                       help="train and test at this image side (the digits recipe in "
                            "docs/compare.md uses 16)")
    build.add_argument("--out", help="table path (default: the space's prepared table); "
                       "`harness data prepare SPACE --source FILE` installs it later")
    build.add_argument("--replace", action="store_true",
                       help="replace the table at the destination (the prepared table, or "
                            "--out) if one is there; without it, building refuses")
    build.set_defaults(func=cmd_data_build)


def _data_dir(args: argparse.Namespace) -> Path:
    from harness.datadir import resolve_data_dir

    return resolve_data_dir(getattr(args, "data_dir", None))


def _writable_data_dir(args: argparse.Namespace) -> Path:
    """The data dir of a command that writes there, checked (preflight) before any work."""
    from harness.preflight import check_writable_folder

    data_dir = _data_dir(args)
    given = getattr(args, "data_dir", None)
    check_writable_folder(data_dir, f"--data-dir {given}" if given else f"data dir {data_dir}")
    return data_dir


def cmd_data_status(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from harness.datastatus import data_status

    data_dir = _data_dir(args)
    rows = data_status(data_dir)
    if args.json:
        print(json.dumps({"data_dir": str(data_dir),
                          "spaces": [row.to_json() for row in rows]}, indent=1))
        return 0
    print(f"data dir: {data_dir}")
    table = []
    for row in rows:
        if row.prepared:
            table.append([row.space, "prepared", row.source_file or "(unrecorded)",
                          row.checksum[:16] or "-", row.detail])
        else:
            state = "bundled" if row.bundled else "missing"
            source = "(shipped with the package)" if row.bundled else "-"
            table.append([row.space, state, source, "-", row.detail])
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
    from harness.selection import space_names

    family = space_names([args.space], get_registry())
    options = _extra_options(args.extra)
    if args.columns:
        options["columns"] = split_names(args.columns)
    source = Path(args.source).expanduser()
    if not source.exists():
        raise ConfigError(f"--source {source}: no such file or folder")
    data_dir = _writable_data_dir(args)
    if family != [args.space]:
        return _prepare_family(args.space, family, source, data_dir, options)
    space = get_registry().get("space", args.space)
    with _elapsed_bar(f"preparing {args.space} from {source.name}", source):
        path = _install_harness_table(args.space, source, data_dir, options)
        if path is None:
            path = space.prepare(source, data_dir, **options)
    print(f"prepared {args.space} ground truth -> {path}")
    return 0


def _prepare_family(family: str, selected: list[str], source: Path, data_dir: Path,
                    options: dict[str, Any]) -> int:
    """Prepare each space of a family (``nds``: every ``nds-...`` space) that ``source`` has
    files for; the others are listed as skipped, and none at all is an error. Every space is
    prepared into a staging folder first, so one damaged file leaves no table of the others."""
    import shutil
    import tempfile

    from harness.errors import DataNotPreparedError
    from harness.registry import get_registry

    data_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".prepare-", dir=data_dir))
    try:
        prepared: dict[str, Path] = {}
        for name in selected:
            try:
                path = get_registry().get("space", name).prepare(source, staging, **options)
            except DataNotPreparedError as exc:
                print(f"skipped {name}: {exc}")
                continue
            prepared[name] = data_dir / Path(path).relative_to(staging)
        if not prepared:
            raise DataNotPreparedError(f"--source {source} holds no ground truth for any "
                                       f"{family} space ({', '.join(selected)})")
        _move_files(staging, data_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for name, path in prepared.items():
        print(f"prepared {name} ground truth -> {path}")
    return 0


def _move_files(staging: Path, data_dir: Path) -> None:
    """Move every file under ``staging`` to the same place under ``data_dir``, replacing what
    is there (one rename each: same file system)."""
    import os

    for file in sorted(path for path in staging.rglob("*") if path.is_file()):
        target = data_dir / file.relative_to(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(file, target)


def _install_harness_table(space: str, source: Path, data_dir: Path,
                           options: dict[str, Any]) -> Path | None:
    """Save ``source`` as ``space``'s prepared table when it is a table the harness wrote
    (``harness data build --out``); None when it is another kind of file."""
    from harness.groundtruth.table import prepared_table_path, read_harness_table

    table = read_harness_table(source)
    if table is None:
        return None
    if table.space != space:
        raise ConfigError(f"--source {source} is a harness table of space {table.space!r}, not "
                          f"{space!r}; run `harness data prepare {table.space} --source {source}`")
    if options:
        raise ConfigError(f"--source {source} is a harness table, installed as it is; it takes "
                          f"no options (got {', '.join(sorted(options))})")
    return table.save(prepared_table_path(data_dir, space))


# A source this big gets a bar of elapsed time while it is read (readers report no progress).
BIG_SOURCE_BYTES = 64 << 20


def _elapsed_bar(description: str, source: Path) -> Any:
    """A tqdm bar of elapsed time on stderr while a big ``source`` is prepared; a null context
    for small ones. The readers cannot report a fraction, so the bar shows none."""
    import contextlib

    size = sum(p.stat().st_size for p in source.rglob("*") if p.is_file()) \
        if source.is_dir() else source.stat().st_size
    if size < BIG_SOURCE_BYTES:
        return contextlib.nullcontext()
    from harness.cli.progress import ticking_bar

    return ticking_bar(description)


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
    dataset = get_registry().get("dataset", args.dataset)
    data_dir = _writable_data_dir(args)
    out = _build_destination(args.space, data_dir, args.out, args.replace)
    from tqdm import tqdm

    with tqdm(desc=f"training {args.space} archs", unit="arch", file=sys.stderr,
              dynamic_ncols=True) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        path = build_benchmark(space, dataset=dataset, archs=archs, seeds=args.seeds,
                               epochs=args.epochs, width=args.width, cells=args.cells,
                               seed=args.seed, data_dir=data_dir, out=out,
                               image_size=args.image_size, progress=progress)
    print(f"built {args.space} benchmark on {args.dataset} -> {path}")
    if args.out:
        print(f"install it as the {args.space} ground truth with `harness data prepare "
              f"{args.space} --source {path}`")
    return 0


def _build_destination(space: str, data_dir: Path, out: str | None, replace: bool) -> Path:
    """Where ``data build`` writes: ``--out``, else the prepared table; ``ConfigError`` when a
    file is there and ``--replace`` was not given (a build never destroys data silently)."""
    from harness.groundtruth.table import prepared_table_path

    path = Path(out).expanduser() if out else prepared_table_path(data_dir, space)
    if out:
        from harness.preflight import check_writable_folder

        check_writable_folder(path.parent, f"--out {out}")
    if path.exists() and not replace:
        what = f"--out {path}" if out else f"the prepared {space} ground truth {path}"
        raise ConfigError(f"{what} already exists and building would replace it; pass --out "
                          f"NEW_FILE to write elsewhere, or --replace to replace it")
    return path


def cmd_data_fetch(args: argparse.Namespace) -> int:
    from harness.registry import get_registry

    plugin = get_registry().get("dataset", args.dataset)
    if isinstance(plugin, BundledDataset):
        print(f"{args.dataset}: nothing to fetch; its images are installed with "
              f"{plugin.installed_with()}")
        return 0
    if not isinstance(plugin, FetchableDataset):
        raise ConfigError(f"dataset {args.dataset!r} cannot be downloaded by harness (its "
                          f"plugin has no fetch method); place its files under the data dir "
                          f"as its documentation says")
    print(f"fetched {args.dataset} -> {plugin.fetch(_writable_data_dir(args))}")
    return 0
