"""Prepare the ``nb201`` table from whatever the user points at: an official file or a user table.

The official readers live in ``files``, the user-table reader in ``user_table``; this module only
picks one by what ``source`` is and saves the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import BenchmarkFileError, ConfigError
from harness.groundtruth.table import GroundTruthTable, prepared_table_path
from harness.groundtruth.user_table import is_table_file
from harness.plugins.spaces.nb201.files import (
    SPACE,
    read_nats_folder,
    read_nats_single,
    read_nb201_pth,
)
from harness.plugins.spaces.nb201.user_table import read_user_table


def read_source(source: Path, **options: Any) -> GroundTruthTable:
    """Pick the reader by what ``source`` is (see the module docstring)."""
    source = Path(source)
    suffix = source.name.lower()
    options = {key: value for key, value in options.items() if value is not None}
    is_table = source.is_file() and is_table_file(source)
    takes = ("columns",) if is_table else ("allow_missing",) if source.is_dir() else ()
    unknown = sorted(set(options) - set(takes))
    if unknown:
        raise ConfigError(f"option(s) {', '.join(unknown)} do not apply to {source.name}; "
                          f"it takes {', '.join(takes) or 'no options'} (columns: user tables "
                          f".csv/.tsv/.parquet; allow_missing: the NATS simple folder)")
    if is_table:
        return read_user_table(source, options.get("columns"))
    if source.is_dir():
        return read_nats_folder(source, allow_missing=bool(options.get("allow_missing")))
    if not source.is_file():
        raise BenchmarkFileError(f"{source} does not exist; pass a NAS-Bench-201 .pth, a "
                                 f"NATS-tss .pickle.pbz2 file or -simple folder, or a CSV table")
    if suffix.endswith((".pbz2", ".bz2")):
        return read_nats_single(source)
    return read_nb201_pth(source)


def prepare(source: Path, data_dir: Path, **options: Any) -> Path:
    """Read ``source`` completely, then save the table under ``data_dir``; return its path."""
    table = read_source(source, **options)
    return table.save(prepared_table_path(data_dir, SPACE))
