"""``harness data``: see which spaces have ground truth and where it came from (``status``),
convert official files (``prepare``), train a small benchmark of your own (``build``), download
datasets and benchmark files (``fetch``: a benchmark's file is prepared in the same step)."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from harness.cli.parsers import OneLineParser, command_parser
from harness.download import ALGORITHM_NAMES
from harness.errors import ConfigError
from harness.names import split_names

if TYPE_CHECKING:
    from harness.download import OfficialDownload


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

@runtime_checkable
class FetchableSpace(Protocol):
    """Optional: a space whose official files ``harness data fetch SPACE`` downloads and
    prepares in one step (a family name such as ``nds`` fetches the file its spaces share
    once). Each ``harness.download.OfficialDownload`` names the URL its benchmark's README
    gives, the file name, the published size and checksum (None where none is published: the
    SHA-256 of the first download is recorded), and the manual steps of a page that needs a
    browser."""

    def official_downloads(self) -> Sequence[OfficialDownload]:
        """The files the benchmark's authors publish, the default first."""


EXAMPLES = {
    "data": "harness data status",
    "status": "harness data status --data-dir ~/nas-data",
    "prepare": "harness data prepare nb201 --source NATS-tss-v1_0-3ffb9-simple --data-dir "
               "~/nas-data",
    "build": "harness data build nb201 --dataset digits --archs 200 --seeds 3 --epochs 1 "
             "--width 8 --cells 1 --image-size 16",
    "fetch": "harness data fetch nb101 --data-dir ~/nas-data",
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
    fetch = command_parser(data_sub, "fetch", "download a dataset, or a benchmark's official "
                           "file and prepare it, into the data dir (checksummed, retried, with "
                           "a progress bar; offline, or behind a page that needs a browser, it "
                           "prints the manual steps)", EXAMPLES["fetch"])
    fetch.add_argument("name", metavar="NAME",
                       help="a dataset (e.g. cifar10), or a space or family whose plugin "
                            "declares its official files (e.g. nb101, nds, nbnlp)")
    fetch.add_argument("--file", help="which of the benchmark's official files (default: the "
                                      "first; `--file list` lists them)")
    fetch.add_argument("--url", help="download from this address instead of the official one "
                                     "(a mirror); the official checksum still applies")
    fetch.add_argument("--keep", action="store_true",
                       help="keep the downloaded file under DATA_DIR/downloads once prepared "
                            "(by default it is deleted; its SHA-256 stays recorded)")
    fetch.add_argument("--retries", type=int, default=3,
                       help="how many times a cut or corrupt transfer is tried again")
    fetch.set_defaults(func=cmd_data_fetch, allows_extra=True)


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
            table.append([row.space, "prepared", _origin_cell(row), row.checksum[:16] or "-",
                          row.detail])
        else:
            state = "bundled" if row.bundled else "missing"
            source = "(shipped with the package)" if row.bundled else "-"
            table.append([row.space, state, source, "-", row.detail])
    print(tabulate(table, headers=["space", "ground truth", "source (fetched URL or file)",
                                   "sha256", "detail / how to prepare"]))
    if not rows:
        print("no space plugin is installed; `harness plugins` lists what is")
    return 0


def _origin_cell(row: Any) -> str:
    """Where a prepared table came from: the URL fetched, the file named, else the file name
    the table records."""
    if row.origin_kind == "fetched":
        return f"{row.origin} (fetched)"
    return row.origin or row.source_file or "(unrecorded)"


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
    prepared = _prepare_source(args.space, family, source, data_dir, options)
    _record_origins(prepared, origin=str(source.resolve()), kind="named")
    return 0


def _prepare_source(name: str, family: list[str], source: Path, data_dir: Path,
                    options: dict[str, Any]) -> dict[str, Path]:
    """Prepare ``source`` for space ``name`` (or every space of the family ``name``); print
    and return each prepared table."""
    from harness.registry import get_registry

    if family != [name]:
        return _prepare_family(name, family, source, data_dir, options)
    with _elapsed_bar(f"preparing {name} from {source.name}", source):
        path = _install_harness_table(name, source, data_dir, options)
        if path is None:
            path = get_registry().get("space", name).prepare(source, data_dir, **options)
    print(f"prepared {name} ground truth -> {path}")
    return {name: Path(path)}


def _record_origins(prepared: dict[str, Path], **origin: Any) -> None:
    """Note beside each prepared table where it came from (``data status`` shows it)."""
    from harness.groundtruth.table import write_table_origin

    for path in prepared.values():
        write_table_origin(path, **origin)


def _prepare_family(family: str, selected: list[str], source: Path, data_dir: Path,
                    options: dict[str, Any]) -> dict[str, Path]:
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
    return prepared


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
    from harness.selection import space_names

    registry = get_registry()
    if args.name in registry.names("dataset"):
        return _fetch_dataset(args, registry.get("dataset", args.name))
    if args.name == "all":
        raise ConfigError("name one benchmark to fetch (a space or a family), not all")
    return _fetch_benchmark(args, space_names([args.name], registry))


def _fetch_dataset(args: argparse.Namespace, plugin: Any) -> int:
    given = [flag for flag, value in (("--file", args.file), ("--url", args.url),
                                      ("--keep", args.keep)) if value] + list(args.extra)
    if given:
        raise ConfigError(f"{' '.join(given)}: only benchmark files take these; a dataset is "
                          f"fetched from the address its plugin knows")
    if isinstance(plugin, BundledDataset):
        print(f"{args.name}: nothing to fetch; its images are installed with "
              f"{plugin.installed_with()}")
        return 0
    if not isinstance(plugin, FetchableDataset):
        raise ConfigError(f"dataset {args.name!r} cannot be downloaded by harness (its "
                          f"plugin has no fetch method); place its files under the data dir "
                          f"as its documentation says")
    print(f"fetched {args.name} -> {plugin.fetch(_writable_data_dir(args))}")
    return 0


# Under the data dir: downloaded benchmark files while they are prepared (kept with --keep),
# and harness.download.RECORDS_FILE, the checksum of every file fetched there.
DOWNLOADS_FOLDER = "downloads"


def _official_downloads(name: str, family: list[str]) -> dict[str, OfficialDownload]:
    """File name -> download, over every space of ``family`` (spaces of a family share a file),
    in the order the plugins list them."""
    from harness.registry import get_registry

    downloads: dict[str, OfficialDownload] = {}
    for space_name in family:
        space = get_registry().get("space", space_name)
        if isinstance(space, FetchableSpace):
            for item in space.official_downloads():
                downloads.setdefault(item.file_name, item)
    if not downloads:
        raise ConfigError(f"{name}: its plugin declares no official download; download the "
                          f"benchmark's file as its README says, then run `harness data "
                          f"prepare {name} --source PATH`")
    return downloads


def _size_and_checksum(item: OfficialDownload) -> str:
    """``"~499 MB; SHA-256 4c39..."``, as the publisher states them."""
    if item.checksum:
        algorithm, _, value = item.checksum.partition(":")
        checksum = f"{ALGORITHM_NAMES.get(algorithm, algorithm)} {value}"
    else:
        checksum = "no published checksum"
    return f"{item.size or 'size unknown'}; {checksum}"


def _fetch_benchmark(args: argparse.Namespace, family: list[str]) -> int:
    from harness.download import (
        download_checked,
        first_missing_folder,
        forget_download,
        remove_empty_folders,
    )
    from harness.errors import HarnessError

    downloads = _official_downloads(args.name, family)
    if args.file == "list":
        for item in downloads.values():
            how = "needs a browser" if item.browser_steps else "downloadable"
            print(f"{item.file_name} ({_size_and_checksum(item)}): {item.description or '-'}; "
                  f"{how}; {item.url} (from {item.citation})")
        return 0
    if args.file and args.file not in downloads:
        raise ConfigError(f"--file {args.file}: {args.name} has no official file of that name; "
                          f"its files: {', '.join(downloads)}")
    item = downloads[args.file or next(iter(downloads))]
    options = _extra_options(args.extra)  # a mistyped option fails before a long download
    data_dir = _writable_data_dir(args)
    prepare = (f"harness data prepare {args.name} --source PATH/"
               f"{item.prepare_source or item.file_name} --data-dir {data_dir}")
    if item.browser_steps and not args.url:
        print(f"{args.name}: {item.file_name} ({_size_and_checksum(item)}) is behind a page "
              f"that needs a browser, so it cannot be fetched here: {item.url} (from "
              f"{item.citation}). By hand: {item.browser_steps}; then run `{prepare}`.")
        return 1
    url = args.url or item.url
    dest = data_dir / DOWNLOADS_FOLDER / item.file_name
    manual = (f"to install it by hand, download {url} on a machine with a connection "
              f"({_size_and_checksum(item)}), save it as {item.file_name}, then run "
              f"`{prepare}` (or copy it to {dest} and run this command again)")
    created = first_missing_folder(dest.parent)
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        downloaded = download_checked(url, dest, published=item.checksum,
                                      retries=args.retries, manual_steps=manual)
    except HarnessError:
        if created is not None:
            remove_empty_folders(dest.parent, created)
        raise
    print(f"fetched {url} -> {downloaded.path} (SHA-256 {downloaded.sha256}, "
          f"{downloaded.checksum_origin})")
    try:
        prepared = _prepare_source(args.name, family, downloaded.path, data_dir, options)
    except HarnessError:
        if downloaded.first:  # unchecked bytes that do not prepare are not worth recording
            forget_download(downloaded.path)
            print(f"{url} did not prepare: the download is deleted and its SHA-256 is not "
                  f"recorded", file=sys.stderr)
        else:
            print(f"the download is kept at {downloaded.path}; once the problem is fixed, "
                  f"`harness data prepare {args.name} --source {downloaded.path}` prepares it",
                  file=sys.stderr)
        raise
    _record_origins(prepared, origin=url, kind="fetched",
                    checksum_origin=downloaded.checksum_origin)
    if not args.keep:
        downloaded.path.unlink()
    return 0
