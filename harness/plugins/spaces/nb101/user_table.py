"""Imports a user's NAS-Bench-101 accuracy table (CSV, TSV, parquet, or GenNAS'
``[[matrix, ops], acc]`` JSON).

``columns`` maps roles to the file's column names: ``hash``, ``adjacency`` (row-major 0/1
string) and ``operations`` (comma-joined labels) identify the cell — a hash column alone is
trusted, adjacency + operations are pruned and hashed, and when all three are given they must
agree; ``params`` is optional; **every other key is a metric** named by the key, read from the
column given as value (a bare ``COLUMN`` item keeps the column under its own name). Roles not
given are guessed from the usual names (``module_hash``, ``adjacency_rowmajor`` /
``adjacency``, ``operations``); without any metric, every column whose name contains ``acc``
becomes a metric of the same name.

A user file seldom says what its numbers are (split, repeat, epochs). Unless the user gives a
``description``, each metric is described as coming from the named file with an
*undocumented* meaning, so reports never pass it off as the benchmark's own ground truth.
Rows that name the same cell are an error unless ``duplicates`` is ``first`` or ``mean``.

The ``--columns`` syntax, reading the file and the metric columns (numbers or explicit missing
markers, at least one number each; accuracies, unless ``higher_is_better`` is false, in one
scale, percent in [0, 100] or fractions in [0, 1], recorded in the table's source as
``accuracy_scale``) are shared with every space: ``harness.groundtruth.user_table``. Errors and
losses (``higher_is_better`` false) are only required finite. A table without rows is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from harness.errors import BenchmarkFileError, ConfigError
from harness.groundtruth.table import GroundTruthTable, MetricInfo
from harness.groundtruth.table_checks import NON_NEGATIVE, parse_numbers, validate_table
from harness.groundtruth.user_table import (
    ColumnsOption,
    parse_columns,
    read_metrics,
    read_table_file,
    require_columns,
)
from harness.plugins.spaces.nb101.cell import cell_from_strings, make_cell
from harness.plugins.spaces.nb101.official_table import DATASET, SPACE, is_module_hash

ROLES = ("hash", "adjacency", "operations", "params")
_GUESSES = {"hash": ("module_hash", "hash", "arch_id"),
            "adjacency": ("adjacency_rowmajor", "adjacency", "module_adjacency"),
            "operations": ("operations", "ops", "module_operations"),
            "params": ("params", "trainable_parameters")}
DUPLICATE_POLICIES = ("error", "first", "mean")


def _resolve_columns(frame: pd.DataFrame, columns: dict[str, str], path: Path) -> dict[str, str]:
    for role, names in _GUESSES.items():
        found = next((name for name in names if name in frame.columns), None)
        if role not in columns and found:
            columns[role] = found
    if not set(columns) - set(ROLES):
        for name in frame.columns:
            if "acc" in name.lower() and name not in columns.values():
                columns[name] = name
    require_columns(frame, columns.values(), path)
    if "hash" not in columns and not {"adjacency", "operations"} <= set(columns):
        raise ConfigError(f"{path}: say which columns identify the cell: --columns "
                          f"hash=COLUMN, or adjacency=COLUMN,operations=COLUMN")
    if not set(columns) - set(ROLES):
        raise ConfigError(f"{path}: no metric column; add METRIC=COLUMN to --columns "
                          f"(columns: {list(frame.columns)})")
    return columns


def _arch_ids(frame: pd.DataFrame, columns: dict[str, str], path: Path) -> tuple[list, list, list]:
    count = len(frame)
    given = ([str(h).lower() for h in frame[columns["hash"]]] if "hash" in columns
             else [None] * count)
    malformed = next((n for n, h in enumerate(given, 1) if h is not None
                      and not is_module_hash(h)), None)
    if malformed is not None:
        raise BenchmarkFileError(f"{path}: data row {malformed}: hash {given[malformed - 1]!r} "
                                 f"is not 32 hex digits")
    if not ("adjacency" in columns and "operations" in columns):
        return given, [None] * count, [None] * count
    hashes, adjacency, operations = [], [], []
    for row_number, (bits, ops, stated) in enumerate(zip(
            frame[columns["adjacency"]], frame[columns["operations"]], given, strict=True), 1):
        try:
            cell = cell_from_strings(str(bits), str(ops))
        except ConfigError as exc:
            raise BenchmarkFileError(f"{path}: data row {row_number}: {exc}") from exc
        module_hash = cell.module_hash()
        if stated is not None and stated != module_hash:
            raise BenchmarkFileError(
                f"{path}: data row {row_number}: hash {stated} does not match its cell, "
                f"which hashes to {module_hash} by the benchmark's rules")
        hashes.append(module_hash)
        adjacency.append(cell.adjacency_string)
        operations.append(cell.operations_string)
    return hashes, adjacency, operations


def read_gennas_json(path: Path) -> pd.DataFrame:
    """GenNAS' ``[[matrix, ops], accuracy]`` list as a frame: adjacency, operations, accuracy."""
    try:
        items = json.loads(Path(path).read_text())
        cells = [(make_cell(item[0][0], item[0][1]), float(item[1])) for item in items]
    except (ValueError, TypeError, IndexError, KeyError, ConfigError) as exc:
        raise BenchmarkFileError(f"{path}: expected a JSON list of [[matrix, ops], accuracy] "
                                 f"({exc})") from exc
    return pd.DataFrame({"adjacency": [c.adjacency_string for c, _ in cells],
                         "operations": [c.operations_string for c, _ in cells],
                         "accuracy": [acc for _, acc in cells]})


def import_user_table(path: Path, *, frame: pd.DataFrame | None = None,
                      columns: ColumnsOption = None, dataset: str = DATASET,
                      description: str | None = None, higher_is_better: bool = True,
                      duplicates: str = "error", sha256: str = "") -> GroundTruthTable:
    """Ground-truth table from a user file (module docstring); ``frame`` if already parsed."""
    path = Path(path)
    if duplicates not in DUPLICATE_POLICIES:
        raise ConfigError(f"duplicates must be one of {DUPLICATE_POLICIES}, not {duplicates!r}")
    frame = (read_table_file(path) if frame is None else frame).rename(columns=str)
    mapping = _resolve_columns(frame, parse_columns(columns), path)
    hashes, adjacency, operations = _arch_ids(frame, mapping, path)
    metric_names = [key for key in mapping if key not in ROLES]
    read = read_metrics(frame, {name: mapping[name] for name in metric_names}, path,
                        accuracies=higher_is_better)
    table = pd.DataFrame({"adjacency": adjacency, "operations": operations},
                         index=pd.Index(hashes, name="arch_id"))
    if "params" in mapping:
        table["params"] = parse_numbers(frame[mapping["params"]], str(path))
    for name, values in read.values.items():
        table[name] = values
    table = _deduplicate(table, duplicates, path)
    metrics = [MetricInfo(name, dataset, higher_is_better, description or (
        f"column {mapping[name]!r} of the user table {path.name} ({read.meaning()}); its "
        f"meaning (which split, which repeat, how many epochs) is undocumented"))
        for name in metric_names]
    source = {"format": "user-table", "file": path.name, "sha256": sha256, "columns": mapping,
              "duplicates": duplicates, "cells": len(table), "rows": len(frame),
              "accuracy_scale": read.scale,
              "ground_truth": f"{metric_names[0]} from the user table (meaning undocumented)"
              if description is None else f"{metric_names[0]}: {description}"}
    ranges = {"params": NON_NEGATIVE, **read.ranges()}
    return validate_table(GroundTruthTable(SPACE, table, metrics, {dataset: metric_names[0]},
                                           source), str(path), ranges)


def _deduplicate(table: pd.DataFrame, policy: str, path: Path) -> pd.DataFrame:
    repeated = table.index.duplicated(keep="first")
    if not repeated.any():
        return table
    if policy == "error":
        examples = list(dict.fromkeys(table.index[repeated]))[:3]
        raise BenchmarkFileError(
            f"{path}: {int(repeated.sum())} rows repeat a cell already listed (e.g. "
            f"{examples}); different raw matrices can prune to the same cell. Choose "
            f"duplicates=first or duplicates=mean")
    if policy == "first":
        return table[~repeated]
    numeric = table.select_dtypes("number").groupby(level=0, sort=False).mean()
    text = table[["adjacency", "operations"]].groupby(level=0, sort=False).first()
    return text.join(numeric)
