"""The one validation step every ground-truth reader runs before its table is saved.

Readers differ in how they parse (TFRecord, pickles, CSV), but what a prepared table may hold
is the same for all of them, so it is checked here, once:

- the table has at least one row (a header-only user file fails at prepare time, not later in a
  report);
- arch ids are unique and non-empty;
- every numeric column holds finite numbers or NaN (an explicit "missing"); ``inf`` is refused;
- every column named in ``ranges`` stays within its ``ValueRange`` (accuracies in percent or as
  fractions, non-negative sizes and times), so 1e300 or -55 never reaches a report.

A new reader (NDS, NB-NLP, ...) ends with::

    table = GroundTruthTable(space, frame, metrics, default_metric, source)
    return validate_table(table, str(path), {**{m.name: PERCENT for m in metrics},
                                             "params": NON_NEGATIVE})

Metric columns without a range get ``FINITE`` (losses, perplexities, user metrics of unknown
meaning). User tables whose accuracy scale is unknown call ``detect_accuracy_scale`` first and
record the detected scale in the table's source. Text cells of a user file are turned into
numbers by ``parse_numbers``, which refuses anything that is neither a number nor an explicit
missing marker. Every failure is one ``BenchmarkFileError`` naming the file, the column, the arch
(or row) and the offending value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from harness.errors import BenchmarkFileError

if TYPE_CHECKING:
    import pandas as pd

    from harness.groundtruth.table import GroundTruthTable


@dataclass(frozen=True)
class ValueRange:
    """Closed interval ``[low, high]`` a column's non-NaN values must lie in; ``what`` names it."""

    low: float
    high: float
    what: str

    def describe(self) -> str:
        return f"{self.what} in [{self.low:g}, {self.high:g}]"


PERCENT = ValueRange(0.0, 100.0, "an accuracy in percent")
FRACTION = ValueRange(0.0, 1.0, "an accuracy as a fraction")
NON_NEGATIVE = ValueRange(0.0, math.inf, "a non-negative number")
FINITE = ValueRange(-math.inf, math.inf, "a finite number")
ACCURACY_SCALES = {"percent": PERCENT, "fraction": FRACTION}
# What a user file may write for "no value" (pandas' defaults, minus the ambiguous ones).
MISSING_MARKERS = frozenset({"", "nan", "na", "n/a", "null", "none", "-"})


def validate_table(table: GroundTruthTable, where: str,
                   ranges: Mapping[str, ValueRange] | None = None) -> GroundTruthTable:
    """Check ``table`` (module docstring) and return it; ``where`` names the source in errors."""
    frame = table.frame
    if len(frame) == 0:
        raise BenchmarkFileError(f"{where}: the table has no rows (only a header?); nothing "
                                 f"to prepare")
    ids = frame.index.astype(str)
    empty = frame.index.isna() | (ids.str.strip() == "")
    if empty.any():
        raise BenchmarkFileError(f"{where}: row {int(np.flatnonzero(empty)[0]) + 1} has no "
                                 f"arch id")
    if ids.has_duplicates:
        raise BenchmarkFileError(f"{where}: arch {ids[ids.duplicated()][0]} appears in more "
                                 f"than one row")
    ranges = dict(ranges or {})
    for info in table.metrics:
        if not _is_numeric(frame[info.name]):
            raise BenchmarkFileError(f"{where}: metric column {info.name!r} is not numeric")
        ranges.setdefault(info.name, FINITE)
    for column in frame.columns:
        if _is_numeric(frame[column]):
            _check_column(frame[column], ranges.get(column, FINITE), where)
    return table


def _is_numeric(series: pd.Series) -> bool:
    return series.dtype.kind in "iufb"


def _check_column(series: pd.Series, allowed: ValueRange, where: str) -> None:
    values = series.to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(values) & ~(np.isfinite(values) & (values >= allowed.low)
                                    & (values <= allowed.high))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise BenchmarkFileError(
            f"{where}: column {series.name!r}, arch {series.index[first]}: value "
            f"{float(values[first])!r} is not {allowed.describe()} or NaN ({int(bad.sum())} such "
            f"value(s))")


def detect_accuracy_scale(columns: Mapping[str, np.ndarray], where: str) -> str:
    """``"percent"`` or ``"fraction"``: the one scale every accuracy column of a user table uses.

    A column is a fraction if all its values lie in [0, 1], percent if they lie in [0, 100]
    with one above 1; anything else (negative, above 100, infinite) is an error, and so are
    columns that disagree (one in fractions, another in percent).
    """
    scales: dict[str, str] = {}
    for name, values in columns.items():
        finite = values[~np.isnan(values)]
        if finite.size == 0:
            continue
        if not np.isfinite(finite).all() or finite.min() < 0 or finite.max() > 100:
            outside = float(finite[~np.isfinite(finite) | (finite < 0) | (finite > 100)][0])
            raise BenchmarkFileError(f"{where}: accuracy column {name!r} holds {outside!r}; "
                                     f"accuracies must be percent in [0, 100] or fractions in "
                                     f"[0, 1] (or NaN)")
        scales[name] = "fraction" if finite.max() <= 1 else "percent"
    if len(set(scales.values())) > 1:
        fractions = [name for name, scale in scales.items() if scale == "fraction"]
        percents = [name for name, scale in scales.items() if scale == "percent"]
        raise BenchmarkFileError(f"{where}: accuracy columns mix scales: {fractions} look like "
                                 f"fractions in [0, 1], {percents} like percent; convert them "
                                 f"to one scale")
    return next(iter(scales.values()), "fraction")


def parse_numbers(series: pd.Series, where: str) -> np.ndarray:
    """Float values of a user-table column; a cell that is neither a number nor an explicit
    missing marker (``MISSING_MARKERS``, or a real NaN) is an error naming its row."""
    import pandas as pd

    numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
    unparsed = np.flatnonzero(np.isnan(numbers))
    for position in unparsed:
        value = series.iloc[position]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if str(value).strip().lower() not in MISSING_MARKERS:
            raise BenchmarkFileError(f"{where}, column {series.name!r}, data row "
                                     f"{position + 1}: {value!r} is not a number")
    return numbers
