"""Importing an NB201 accuracy table a user already has (``harness data prepare nb201 --source
table.csv --columns ...``).

Accepted files: ``.csv``, ``.tsv`` or ``.parquet``, one row per arch. Expected columns:

- the arch: official arch strings in a column named ``arch_str`` or ``arch`` (or mapped with
  ``arch=<column>``); required, because benchmark indices alone cannot be resolved without the
  official ``meta_archs`` order;
- optionally the official benchmark index, ``index`` (or ``index=<column>``); with it, the
  ``nb201`` space accepts indices in ``parse_arch`` / ``--arch-list``;
- metrics: columns named as harness metrics, ``<dataset>/<what>`` with ``<dataset>`` one of
  ``cifar10-valid``, ``cifar10``, ``cifar100``, ``imagenet16-120`` (e.g.
  ``cifar10-valid/x-valid``; see ``nb201_files`` for the names the official readers write),
  taken as they are when ``--columns`` names no values; otherwise exactly the mapped columns;
- optionally ``params_m/<dataset>`` and ``flops_m/<dataset>`` (millions).

``columns``: a mapping ``{harness name: file column}`` or the CLI string
``"name=column,name=column"`` (``harness.groundtruth.user_table``, which also reads the file and
the accuracy columns; this module names and checks the arch and the metrics). Example for
``nb201_all_15625.csv``::

    --columns "cifar10-valid/x-valid=cifar10_valid_xvalid_mean,\
cifar10-valid/ori-test=cifar10_valid_oritest_mean,cifar10/ori-test=cifar10_test_mean_natstss,\
cifar100/x-valid=cifar100_xvalid_mean,cifar100/x-test=cifar100_xtest_mean_natstss,\
imagenet16-120/x-valid=imagenet16_120_xvalid_mean,\
imagenet16-120/x-test=imagenet16_120_xtest_mean_natstss,params_m/cifar10=params_mb_cifar10"

Accuracies are kept in the file's scale, which must be one for all metric columns: percent in
[0, 100] (as the official files) or fractions in [0, 1]; the detected scale is recorded in the
table's source (``accuracy_scale``) and in each metric's description. Cells must be numbers or
explicit missing markers (empty, ``nan``, ``NA``); ``inf``, out-of-range values, an accuracy
column without a number and a table without rows are refused (``harness.groundtruth.table_checks``).
The table records the mapping, file name and sha256 so the choice of column stays visible in
every report.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import BenchmarkFileError, ConfigError
from harness.groundtruth.table import GroundTruthTable, MetricInfo, file_sha256
from harness.groundtruth.table_checks import NON_NEGATIVE, parse_numbers, validate_table
from harness.groundtruth.user_table import (
    ColumnsOption,
    parse_columns,
    read_metrics,
    read_table_file,
    require_columns,
)
from harness.plugins.spaces.nb201.arch import NUM_ARCHS, ops_to_str, str_to_ops
from harness.plugins.spaces.nb201.files import DATASET_ORDER, SPACE, default_metrics

EXTRA_PREFIXES = ("params_m", "flops_m")


def _is_value_name(name: str) -> bool:
    head = name.split("/")[0]
    return "/" in name and (head in DATASET_ORDER or head in EXTRA_PREFIXES)


def _is_accuracy_name(name: str) -> bool:
    return name.split("/")[0] in DATASET_ORDER


def read_user_table(path: Path, columns: ColumnsOption = None) -> GroundTruthTable:
    """The prepared table from a user CSV/TSV/parquet (see the module docstring)."""
    mapping = parse_columns(columns)
    for name in mapping:
        if name not in ("arch", "index") and not _is_value_name(name):
            raise ConfigError(f"--columns name {name!r} is not arch, index, "
                              f"<dataset>/<metric> with dataset in {', '.join(DATASET_ORDER)}, "
                              f"or params_m/<dataset> / flops_m/<dataset>")
    raw = read_table_file(path)
    require_columns(raw, mapping.values(), path)
    arch_column = mapping.get("arch") or next(
        (c for c in ("arch_str", "arch") if c in raw.columns), None)
    if arch_column is None:
        raise BenchmarkFileError(f"{path}: no arch column (expected 'arch_str' or 'arch', or "
                                 f"map one with --columns arch=COLUMN); benchmark indices alone "
                                 f"cannot be resolved without the official meta_archs list")
    values = {name: column for name, column in mapping.items() if name not in ("arch", "index")}
    if not values:
        values = {str(c): c for c in raw.columns if _is_value_name(str(c))}
    if not any(_is_accuracy_name(name) for name in values):
        raise BenchmarkFileError(f"{path}: no metric columns; name them <dataset>/<metric> or "
                                 f"map them with --columns (see `harness data prepare --help`)")

    try:
        arch_ids = [ops_to_str(str_to_ops(str(text))) for text in raw[arch_column]]
    except ConfigError as exc:
        raise BenchmarkFileError(f"{path}, column {arch_column!r}: {exc}") from None
    frame = pd.DataFrame(index=pd.Index(arch_ids, name="arch_id"))
    if frame.index.has_duplicates:
        twice = frame.index[frame.index.duplicated()][0]
        raise BenchmarkFileError(f"{path}: arch {twice} appears in more than one row")
    index_column = mapping.get("index") or ("index" if "index" in raw.columns else None)
    if index_column is not None:
        index = pd.to_numeric(raw[index_column], errors="coerce").to_numpy()
        if (np.isnan(index).any() or (index % 1 != 0).any() or (index < 0).any()
                or (index >= NUM_ARCHS).any() or len(set(index)) != len(index)):
            raise BenchmarkFileError(f"{path}, column {index_column!r}: benchmark indices must "
                                     f"be distinct integers 0..{NUM_ARCHS - 1}")
        frame["index"] = index.astype(np.int64)
    accuracies = read_metrics(raw, {name: column for name, column in values.items()
                                    if _is_accuracy_name(name)}, path)
    for name, column in values.items():
        frame[name] = (accuracies.values[name] if name in accuracies.values
                       else parse_numbers(raw[column], str(path)))
    metrics = [MetricInfo(name, name.split("/")[0], True,
                          f"imported from column {values[name]!r} ({accuracies.meaning()})")
               for name in accuracies.values]
    source = {"kind": "user-table", "file": path.name, "version": "user", "sha256":
              file_sha256(path), "reader": __name__, "arch_column": arch_column,
              "index_column": index_column, "columns": values,
              "accuracy_scale": accuracies.scale}
    ranges = {**{n: NON_NEGATIVE for n in values if n not in accuracies.values},
              **accuracies.ranges(), "index": NON_NEGATIVE}
    table = GroundTruthTable(space=SPACE, frame=frame, metrics=metrics,
                             default_metric=default_metrics(metrics), source=source)
    return validate_table(table, str(path), ranges)
