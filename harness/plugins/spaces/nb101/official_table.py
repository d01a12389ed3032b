"""Collects NAS-Bench-101 training records into compact arrays and makes the ground-truth table.

One record = one (cell, budget, repeat). Records arrive in any order; per cell we keep the
pruned adjacency and operations strings and the parameter count, and per (budget, repeat) the
eight numbers the official API exposes (``halfway_`` / ``final_`` x training time, train,
validation and test accuracy), as float32 (the benchmark stored float32 values) in one
preallocated array — no Python object per record.

Table columns (``<key>`` as the official ``nasbench/api.py`` names it): ``adjacency``,
``operations``, ``params``; per budget B the repeat means ``eB_mean_<key>`` of all eight keys
and the repeat count ``eB_repeats``; per budget B and repeat R in 0..2 the raw values
``eB_rR_final_test_accuracy`` and ``eB_rR_final_validation_accuracy``; and
``max_final_test_accuracy`` (the NASWOT convention: maximum over all repeats and budgets). The
default ground truth is ``e108_mean_final_test_accuracy``: the 3-repeat mean of the final
CIFAR-10 test accuracy after 108 epochs. Accuracies are fractions in [0, 1]; the finished table
goes through ``harness.groundtruth.table_checks`` (accuracies in [0, 1], times and parameter counts
non-negative, all finite or NaN).

Compact (docs/performance.md: the full table loads in well under 200 MB): ``adjacency`` and
``operations`` are categorical (dictionary-encoded in the parquet file: few distinct strings);
``params`` is int32; every number is float32, the benchmark's own precision. A repeat mean is
computed in float64 and rounded to float32 once; rounding is monotone, so it never reverses
two archs' order (accuracies are multiples of 1/10,000, their 3-repeat means at least 3e-5
apart, ~500 float32 steps). The per-repeat values of the six keys that are not metrics (times,
train and halfway accuracies) are kept only as their repeat means: they were 72 of the table's
137 columns and no metric reads them.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from harness.errors import BenchmarkFileError
from harness.groundtruth.table import GroundTruthTable, MetricInfo
from harness.groundtruth.table_checks import (
    FINITE,
    FRACTION,
    NON_NEGATIVE,
    ValueRange,
    validate_table,
)

SPACE = "nb101"
DATASET = "cifar10"
BUDGETS = (4, 12, 36, 108)
REPEATS = 3
KEYS = ("halfway_training_time", "halfway_train_accuracy", "halfway_validation_accuracy",
        "halfway_test_accuracy", "final_training_time", "final_train_accuracy",
        "final_validation_accuracy", "final_test_accuracy")
ACCURACY_KEYS = tuple(key for key in KEYS if key.endswith("accuracy"))
REPEAT_KEYS = ("final_validation_accuracy", "final_test_accuracy")  # also kept per repeat
DEFAULT_METRIC = "e108_mean_final_test_accuracy"
_HASH = re.compile(r"[0-9a-f]{32}")
_DESCRIBE = {
    "train_accuracy": "train accuracy (fixed 10,000-image subset of the training set)",
    "validation_accuracy": "validation accuracy (10,000 held-out training images)",
    "test_accuracy": "CIFAR-10 test accuracy (10,000 test images)",
}


def is_module_hash(value: Any) -> bool:
    """True for a module hash as the benchmark writes it: 32 lower-case hex digits."""
    return isinstance(value, str) and _HASH.fullmatch(value) is not None


def value_range(column: str) -> ValueRange | None:
    """The allowed range of a table column (accuracies, times, counts), None for text."""
    if column.endswith("accuracy"):
        return FRACTION
    if column.endswith(("training_time", "_repeats")) or column == "params":
        return NON_NEGATIVE
    return None


_KEY_RANGES = tuple(value_range(key) or FINITE for key in KEYS)


class NB101Accumulator:
    """Grows with the number of cells; ~100 bytes per (cell, budget seen) for the numbers.

    Arrays are allocated per budget on first sight, so an only108 file costs a quarter of a
    full one.
    """

    def __init__(self, capacity: int = 1 << 16) -> None:
        self.rows: dict[str, int] = {}
        self.adjacency: list[str] = []
        self.operations: list[str] = []
        # One object per distinct string: the 423,624 cells share far fewer adjacency and
        # operations strings (at most 364 operations strings; ~90 MB of duplicates otherwise).
        self._distinct: dict[str, str] = {}
        self._params = np.zeros(capacity, dtype=np.int64)
        self._values: dict[int, np.ndarray] = {}  # budget -> (cells, REPEATS, KEYS) float32
        self._counts: dict[int, np.ndarray] = {}  # budget -> (cells,) repeats stored
        self.records = 0

    def add_cell(self, module_hash: str, adjacency: str, operations: str, params: int) -> int:
        """Row of ``module_hash``, created on first sight."""
        row = self.rows.get(module_hash)
        if row is not None:
            return row
        row = len(self.adjacency)
        if row == len(self._params):
            self._grow()
        self.rows[module_hash] = row
        self.adjacency.append(self._distinct.setdefault(adjacency, adjacency))
        self.operations.append(self._distinct.setdefault(operations, operations))
        self._params[row] = params
        return row

    def _grow(self) -> None:
        extra = len(self._params)
        self._params = np.concatenate([self._params, np.zeros(extra, np.int64)])
        for budget, values in self._values.items():
            self._values[budget] = np.concatenate([values, self._new_values(extra)])
            self._counts[budget] = np.concatenate([self._counts[budget],
                                                   np.zeros(extra, np.uint8)])

    @staticmethod
    def _new_values(cells: int) -> np.ndarray:
        return np.full((cells, REPEATS, len(KEYS)), np.nan, np.float32)

    def add_repeat(self, row: int, epochs: int, values: tuple[float, ...], where: str) -> None:
        """Store one training run's eight ``KEYS`` values; ``where`` locates it in errors.

        Each value is checked first (``value_range`` of its key, or NaN), so an error names the
        run's own number rather than a mean it went into.
        """
        for key, allowed, value in zip(KEYS, _KEY_RANGES, values, strict=True):
            if not (math.isnan(value) or (math.isfinite(value)
                                          and allowed.low <= value <= allowed.high)):
                raise BenchmarkFileError(f"{where}: {epochs} epochs: {key} {value!r} is not "
                                         f"{allowed.describe()} or NaN")
        counts = self._counts.get(epochs)
        if counts is None:
            if epochs not in BUDGETS:
                raise BenchmarkFileError(f"{where}: training budget {epochs!r} epochs is not "
                                         f"one of the benchmark's {BUDGETS}")
            self._values[epochs] = self._new_values(len(self._params))
            counts = self._counts[epochs] = np.zeros(len(self._params), np.uint8)
        repeat = int(counts[row])
        if repeat >= REPEATS:
            raise BenchmarkFileError(f"{where}: more than {REPEATS} records for one cell at "
                                     f"{epochs} epochs; the file is not a NAS-Bench-101 file")
        self._values[epochs][row, repeat] = values
        counts[row] = repeat + 1
        self.records += 1

    def check_repeats(self, where: str) -> None:
        """Every cell has ``REPEATS`` records at every budget seen, as in the official files.

        A file cut at a record boundary passes the framing checks; this is what catches it
        (a cell keeping 2 of its 3 repeats would silently change its mean).
        """
        cells = len(self.adjacency)
        hashes = list(self.rows)
        for budget in sorted(self._counts):
            counts = self._counts[budget][:cells]
            short = np.flatnonzero(counts < REPEATS)
            if short.size:
                missing = REPEATS * cells - int(counts.sum())
                raise BenchmarkFileError(
                    f"{where}: {short.size} cell(s) have fewer than {REPEATS} records at "
                    f"{budget} epochs (e.g. cell {hashes[short[0]]} has "
                    f"{int(counts[short[0]])}); {missing} record(s) are missing: the file is "
                    f"truncated or is not an official NAS-Bench-101 file")

    def table(self, source: dict[str, Any]) -> GroundTruthTable:
        """The ground-truth table of everything added (module docstring lists the columns)."""
        cells = len(self.adjacency)
        if cells == 0 or not self._values:
            raise BenchmarkFileError(f"{source.get('file', 'source')}: no NAS-Bench-101 "
                                     f"training records")
        columns: dict[str, Any] = {"adjacency": pd.Categorical(self.adjacency),
                                   "operations": pd.Categorical(self.operations),
                                   "params": _int32(self._params[:cells])}
        metrics: list[MetricInfo] = []
        budgets = sorted(self._values)
        for budget in budgets:
            values = self._values[budget][:cells]
            present = ~np.isnan(values)
            columns[f"e{budget}_repeats"] = self._counts[budget][:cells]
            with np.errstate(invalid="ignore", divide="ignore"):
                means = np.where(present, values, 0).sum(axis=1, dtype=np.float64) \
                    / present.sum(axis=1)
            for k, key in enumerate(KEYS):
                name = f"e{budget}_mean_{key}"
                columns[name] = means[:, k].astype(np.float32)
                if key in ACCURACY_KEYS:
                    metrics.append(MetricInfo(name, DATASET, True, _describe(key, budget, None)))
            for repeat in range(REPEATS):
                for key in REPEAT_KEYS:
                    name = f"e{budget}_r{repeat}_{key}"
                    columns[name] = values[:, repeat, KEYS.index(key)]
                    metrics.append(MetricInfo(name, DATASET, True,
                                              _describe(key, budget, repeat)))
        final_test = np.concatenate([self._values[b][:cells, :, KEYS.index("final_test_accuracy")]
                                     for b in budgets], axis=1)
        columns["max_final_test_accuracy"] = np.fmax.reduce(final_test, axis=1)
        metrics.append(MetricInfo(
            "max_final_test_accuracy", DATASET, True,
            "maximum of the final CIFAR-10 test accuracy over all repeats and budgets "
            "(the NASWOT paper's convention; optimistic)"))
        frame = pd.DataFrame(columns, index=pd.Index(list(self.rows), name="arch_id"))
        default = DEFAULT_METRIC if 108 in budgets else f"e{budgets[-1]}_mean_final_test_accuracy"
        source = {**source, "cells": cells, "records": self.records, "budgets": budgets,
                  "ground_truth": f"{default}: mean over the repeats of the final test "
                                  f"accuracy (official files: 3 repeats)"}
        table = GroundTruthTable(SPACE, frame, metrics, {DATASET: default}, source)
        ranges = {name: found for name in frame.columns
                  if (found := value_range(str(name))) is not None}
        return validate_table(table, str(source.get("file", "source")), ranges)


def _int32(counts: np.ndarray) -> np.ndarray:
    """Parameter counts as int32 (NB-101's largest is ~50 M), int64 if one does not fit."""
    fits = counts.size == 0 or int(counts.max()) <= np.iinfo(np.int32).max
    return counts.astype(np.int32) if fits else counts


def _describe(key: str, budget: int, repeat: int | None) -> str:
    phase, _, quantity = key.partition("_")
    when = f"after {budget} epochs" if phase == "final" else f"halfway through {budget} epochs"
    which = "mean over the repeats" if repeat is None else f"repeat {repeat} only"
    return f"{_DESCRIBE[quantity]} {when}, {which}; fraction in [0, 1]"
