"""``harness data``: see which spaces have ground truth (``status``), convert official files
(``prepare``), train a small benchmark of your own (``build``), download datasets (``fetch``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from harness.cli.parsers import command_parser, names
from harness.errors import ConfigError

EXAMPLES = {
    "data": "harness data status",
    "status": "harness data status --data-dir ~/nas-data",
    "prepare": "harness data prepare nb201 --source NATS-tss-v1_0-3ffb9-simple --data-dir "
               "~/nas-data",
    "build": "harness data build nb201 --dataset digits --archs 200 --seeds 3 --epochs 1 "
             "--width 8 --cells 1 --image-size 16",
    "fetch": "harness data fetch cifar10",
}


def add_data_commands(sub: Any) -> None:
    """Add ``data`` and its sub-commands to the ``harness`` sub-commands."""
    data = command_parser(sub, "data", "prepare and inspect benchmark data", EXAMPLES["data"])
    data_sub = data.add_subparsers(dest="data_command", metavar="DATA_COMMAND")
    data.set_defaults(func=lambda args: (data.print_help(), 0)[1])
    status = command_parser(data_sub, "status", "per space: prepared or not, source file and "
                            "checksum, or the command that prepares it", EXAMPLES["status"])
    status.set_defaults(func=cmd_data_status)
    prepare = command_parser(data_sub, "prepare", "convert an official benchmark file into the "
                             "space's prepared table (other --name VALUE options go to the "
                             "space)", EXAMPLES["prepare"])
    prepare.add_argument("space")
    prepare.add_argument("--source", required=True, help="official benchmark file or folder")
    prepare.add_argument("--columns", help="comma-separated columns to keep (where supported)")
    prepare.set_defaults(func=cmd_data_prepare, allows_extra=True)
    _add_build_command(data_sub)
    fetch = command_parser(data_sub, "fetch", "download a dataset into the data dir "
                           "(checksummed)", EXAMPLES["fetch"])
    fetch.add_argument("dataset")
    fetch.set_defaults(func=cmd_data_fetch)


def _add_build_command(data_sub: Any) -> None:
    build = command_parser(data_sub, "build", "train a seeded sample of archs into a small "
                           "benchmark", EXAMPLES["build"])
    build.add_argument("space")
    build.add_argument("--dataset", default="digits")
    build.add_argument("--archs", default="200", help="how many to sample, or a file of ids")
    build.add_argument("--seeds", type=int, default=3)
    build.add_argument("--epochs", type=int, default=8)
    build.add_argument("--width", type=int)
    build.add_argument("--cells", type=int)
    build.add_argument("--seed", type=int, default=0, help="sampling and training seed")
    build.add_argument("--image-size", type=int,
                       help="train and test at this image side (the digits recipe in "
                            "docs/compare.md uses 16)")
    build.add_argument("--out", help="table path (default: the space's prepared table)")
    build.set_defaults(func=cmd_data_build)


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

    space = get_registry().get("space", args.space)
    options = _extra_options(args.extra)
    if args.columns:
        options["columns"] = names(args.columns)
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
    dataset = get_registry().get("dataset", args.dataset)
    path = build_benchmark(space, dataset=dataset, archs=archs, seeds=args.seeds,
                           epochs=args.epochs, width=args.width, cells=args.cells,
                           seed=args.seed, data_dir=_data_dir(args),
                           out=Path(args.out) if args.out else None,
                           image_size=args.image_size)
    print(f"built {args.space} benchmark on {args.dataset} -> {path}")
    return 0


def cmd_data_fetch(args: argparse.Namespace) -> int:
    from harness.protocols import FetchableDataset
    from harness.registry import get_registry

    plugin = get_registry().get("dataset", args.dataset)
    if not isinstance(plugin, FetchableDataset):
        raise ConfigError(f"dataset {args.dataset!r} cannot be downloaded by harness (its "
                          f"plugin has no fetch method); place its files under the data dir "
                          f"as its documentation says")
    print(f"fetched {args.dataset} -> {plugin.fetch(_data_dir(args))}")
    return 0
