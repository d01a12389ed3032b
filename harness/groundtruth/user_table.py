"""A table of accuracies a user already has, imported as ground truth: the steps every space shares.

``harness data prepare SPACE --source FILE --columns NAME=COLUMN,...`` reads a ``.csv``, ``.tsv``
or ``.parquet`` file with one row per arch. What does not depend on the space lives here:

- ``parse_columns``: the ``--columns`` mapping ``{harness name: file column}``, from the CLI's
  ``"NAME=COLUMN,..."`` (or its items as a list) or a mapping; a bare ``COLUMN`` keeps the file's
  column under its own name; an empty side and a name given twice are refused;
- ``read_table_file``: the file as a frame, CSV and TSV cells kept as text so that
  ``harness.groundtruth.table_checks.parse_numbers`` alone decides what is a number and what is an
  explicit missing marker (``MISSING_MARKERS``); parquet columns as stored;
- ``require_columns``: every mapped column exists, or one error listing the file's columns;
- ``read_metrics``: the metric columns as numbers, each with at least one value, and, for
  accuracies, the one scale they share (percent in [0, 100] or fractions in [0, 1],
  ``detect_accuracy_scale``), which the table records so that every report shows it.

A space keeps what is its own: which columns name the arch and how an arch is checked, what its
metrics are called, what it guesses when ``--columns`` names no metric. It ends, like every
reader, with ``validate_table(table, str(path), metrics.ranges())``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from harness.errors import BenchmarkFileError, ConfigError
from harness.groundtruth.table_checks import (
    ACCURACY_SCALES,
    ValueRange,
    detect_accuracy_scale,
    parse_numbers,
)

if TYPE_CHECKING:
    import pandas as pd

TABLE_SUFFIXES = (".csv", ".tsv", ".parquet")
# ``--columns`` as the CLI gives it (a string, or its comma-separated items) or as a mapping.
ColumnsOption = Mapping[str, str] | Sequence[str] | str | None


def is_table_file(path: Path) -> bool:
    """Whether ``path`` names a user table by its suffix (``TABLE_SUFFIXES``)."""
    return Path(path).name.lower().endswith(TABLE_SUFFIXES)


def parse_columns(columns: ColumnsOption) -> dict[str, str]:
    """``{harness name: file column}`` from ``"NAME=COLUMN,COLUMN"``, its items as a list (the
    CLI's ``--columns``) or a mapping; None gives ``{}``. A bare ``COLUMN`` keeps the file's
    column under its own name."""
    if columns is None:
        return {}
    if isinstance(columns, Mapping):
        return {str(name): str(column) for name, column in columns.items()}
    items = columns.split(",") if isinstance(columns, str) else [str(item) for item in columns]
    mapping: dict[str, str] = {}
    for item in filter(None, (item.strip() for item in items)):
        name, sep, column = (part.strip() for part in item.partition("="))
        if sep and not (name and column):
            raise ConfigError(f"--columns item {item!r} is not NAME=COLUMN or COLUMN (a bare "
                              f"COLUMN keeps the file's column under its own name)")
        if name in mapping:
            raise ConfigError(f"--columns names {name!r} twice ({mapping[name]!r} and "
                              f"{column or name!r}); give each name one column")
        mapping[name] = column or name
    return mapping


def read_table_file(path: Path) -> pd.DataFrame:
    """A user table as a frame: ``.parquet`` as stored, ``.tsv`` split at tabs, anything else
    as CSV, every CSV/TSV cell as text (``parse_numbers`` reads it)."""
    import pandas as pd

    path = Path(path)
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            return pd.read_parquet(path)
        return pd.read_csv(path, sep="\t" if name.endswith(".tsv") else ",", dtype=str,
                           keep_default_na=False)
    except FileNotFoundError:
        raise BenchmarkFileError(f"{path} does not exist") from None
    except Exception as exc:  # pandas/pyarrow raise many parser error types
        raise BenchmarkFileError(f"{path} is not a readable table ({type(exc).__name__}: "
                                 f"{exc})") from exc


def require_columns(frame: pd.DataFrame, columns: Iterable[str], path: Path) -> None:
    """Refuse a mapping that names a column ``frame`` (read from ``path``) does not have."""
    missing = [column for column in dict.fromkeys(columns) if column not in frame.columns]
    if missing:
        raise BenchmarkFileError(f"{path} has no column(s) {missing}; its columns are "
                                 f"{list(frame.columns)}")


@dataclass(frozen=True)
class Metrics:
    """Metric columns read from a user table: ``values`` by harness name, and ``scale``, the
    accuracies' shared scale (``"percent"`` / ``"fraction"``), None for metrics that are not
    accuracies (errors, losses: only required finite)."""

    values: dict[str, np.ndarray]
    scale: str | None

    def ranges(self) -> dict[str, ValueRange]:
        """What ``validate_table`` checks each metric against (accuracies: the file's scale)."""
        if self.scale is None:
            return {}
        return {name: ACCURACY_SCALES[self.scale] for name in self.values}

    def meaning(self) -> str:
        """``"accuracy as percent"`` (or fraction), or ``"lower is better"``, for descriptions."""
        return f"accuracy as {self.scale}" if self.scale else "lower is better"


def read_metrics(frame: pd.DataFrame, columns: Mapping[str, str], path: Path, *,
                 accuracies: bool = True) -> Metrics:
    """The columns ``{harness name: file column}`` of ``frame`` (read from ``path``) as numbers.

    A cell that is neither a number nor a missing marker, and a column without one number, are
    errors naming the column; ``accuracies`` (the default) also requires one scale for all.
    """
    values = {}
    for name, column in columns.items():
        values[name] = parse_numbers(frame[column], str(path))
        if len(values[name]) and np.isnan(values[name]).all():
            raise BenchmarkFileError(f"{path}: metric column {column!r} has no numbers")
    scale = detect_accuracy_scale(values, str(path)) if accuracies else None
    return Metrics(values, scale)
