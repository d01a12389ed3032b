"""The one validation step every ground-truth reader runs before its table is saved.

Readers differ in how they parse (TFRecord, pickles, CSV), but what a prepared table may hold
is the same for all of them, so it is checked here, once:

- the table has at least one row (a header-only user file fails at prepare time, not later in a
  report);
- arch ids are unique and non-empty;
- every numeric column holds finite numbers or NaN (an explicit "missing"); ``inf`` is refused;
- every column named in ``ranges`` stays within its ``ValueRange`` (accuracies in percent or as
  fractions, non-negative sizes and times), so 1e300 or -55 never reaches a report;
- a metric column is numeric (a bool column is not), and each dataset's default metric (its
  target) holds at least one value: a table whose target is NaN in every row has no usable
  ground truth (other metrics may be all NaN: a subset of a benchmark lacks some budgets);
- an integer fits an int64 column (the parquet file and the store hold no wider one).

Readers of record-by-record formats (JSON logs and sweeps) check each value as they read it,
with the same rules: ``check_number`` (a number, not a bool; finite, or NaN where that means "no
value"; within a ``ValueRange``), ``check_count`` (a non-negative integer an int64 holds) and
``check_unique`` (a key claimed by two files of one source is refused, naming both, since
keeping either would drop the other silently).

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
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
INT64_MAX = int(np.iinfo(np.int64).max)
SHOWN_CHARS = 40


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
    _check_metrics(table, where)
    ranges = {**{info.name: FINITE for info in table.metrics}, **(ranges or {})}
    for column in frame.columns:
        if _is_numeric(frame[column]):
            _check_column(frame[column], ranges.get(column, FINITE), where)
        else:
            _check_not_numbers(frame[column], column in ranges, where)
    return table


def _check_metrics(table: GroundTruthTable, where: str) -> None:
    """Metric columns hold numbers (not bools), and each dataset's target some value."""
    for info in table.metrics:
        if table.frame[info.name].dtype.kind not in "iuf":
            raise BenchmarkFileError(f"{where}: metric column {info.name!r} is not numeric")
    for dataset, metric in table.default_metric.items():
        if table.frame[metric].isna().all():
            raise BenchmarkFileError(f"{where}: {metric!r}, the target of dataset {dataset}, has "
                                     f"no value in any row (all NaN); the source holds no "
                                     f"usable ground truth")


def _is_numeric(series: pd.Series) -> bool:
    return series.dtype.kind in "iufb"


def _check_not_numbers(series: pd.Series, ranged: bool, where: str) -> None:
    """A non-numeric column: pandas keeps Python ints beyond int64 as objects, so the first such
    cell is named here rather than failing when the table is written; a column given a range
    must be numeric."""
    from pandas.api.types import infer_dtype

    text_only = infer_dtype(series, skipna=True) in ("string", "bytes", "empty")
    for arch, value in ([] if text_only else series.items()):
        if isinstance(value, int) and not isinstance(value, bool) \
                and not -INT64_MAX - 1 <= value <= INT64_MAX:
            raise BenchmarkFileError(f"{where}: column {series.name!r}, arch {arch}: value "
                                     f"{shown(value)} is beyond what an int64 column holds")
    if ranged:
        raise BenchmarkFileError(f"{where}: column {series.name!r} is not numeric (first value "
                                 f"{shown(series.iloc[0])})")


def shown(value: Any, chars: int = SHOWN_CHARS) -> str:
    """``repr(value)`` cut to ``chars`` for a message (a 400-digit integer stays readable)."""
    text = repr(value)
    return text if len(text) <= chars else text[:chars - 3] + "..."


def _check_column(series: pd.Series, allowed: ValueRange, where: str) -> None:
    values = series.to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(values) & ~(np.isfinite(values) & (values >= allowed.low)
                                    & (values <= allowed.high))
    if series.dtype.kind == "u":  # beyond int64: exact on the integers, not on their floats
        bad |= series.to_numpy() > np.uint64(INT64_MAX)
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


def check_number(value: Any, what: str, where: str, allowed: ValueRange = FINITE, *,
                 missing_ok: bool = False) -> float:
    """``value`` read from a record, as a float: an int or a float (a bool is not a number,
    whatever JSON makes of ``true``), finite unless ``missing_ok`` lets NaN mean "no value", and
    within ``allowed``. Anything else is a ``BenchmarkFileError`` naming ``what`` at ``where``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BenchmarkFileError(f"{where}: {what} {shown(value)} is not a number")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float is out of every range
        number = math.inf
    if math.isnan(number) and missing_ok:
        return number
    if not (math.isfinite(number) and allowed.low <= number <= allowed.high):
        raise BenchmarkFileError(f"{where}: {what} {shown(value)} is not {allowed.describe()}"
                                 + (" or NaN" if missing_ok else ""))
    return number


def check_count(value: Any, what: str, where: str, *, least: int = 0) -> int:
    """``value`` read from a record as a count (parameters, FLOPs, epochs): an integer, not a
    bool nor a float, from ``least`` up to what an int64 column holds."""
    if isinstance(value, bool) or not isinstance(value, int) \
            or not least <= value <= INT64_MAX:
        raise BenchmarkFileError(f"{where}: {what} {shown(value)} is not an integer in "
                                 f"[{least}, {INT64_MAX}]")
    return value


def check_unique(keys: Iterable[tuple[Hashable, str]], what: str, where: str, fix: str) -> None:
    """Each key of ``keys`` ((key, the file it comes from) pairs, all files of one source) comes
    from one file; the first key two files claim is an error naming both, and ``fix``."""
    seen: dict[Hashable, str] = {}
    for key, origin in keys:
        if key in seen:
            raise BenchmarkFileError(f"{where}: {what} {key} is in both {seen[key]} and "
                                     f"{origin}; {fix}")
        seen[key] = origin
