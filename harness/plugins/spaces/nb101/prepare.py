"""``harness data prepare nb101 --source PATH``: any supported NB101 source -> the prepared table.

Sources, by what ``PATH`` is:

- a directory: its ``nasbench_full.tfrecord`` (all four budgets) if present, else its
  ``nasbench_only108.tfrecord``; nothing else in it is read;
- ``*.tfrecord``: an official file (TFRecord framing, CRC-checked unless ``verify_crc`` is
  false; every record validated, and the record count checked for the official file names
  unless ``allow_partial`` is true: see ``nb101.nasbench_tfrecord``);
- ``*.pkl`` / ``*.pickle``: the official API's in-memory dict as pickled by other tools;
- ``*.json``: that same layout as a JSON list of records, or GenNAS' ``[[matrix, ops], acc]``
  list (imported as a user table);
- ``*.csv``, ``*.tsv``, ``*.parquet``: a user table (``columns``, ``dataset``, ``description``,
  ``duplicates``, ``higher_is_better``; see ``nb101.user_table``).

The table is written atomically once everything has been read, so a failing source leaves the
previous table (or none) in place, never a partial one. Every reader ends with the shared
``harness.groundtruth.table_checks`` step (ranges, finite-or-NaN, non-empty, unique arch ids).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from harness.errors import BenchmarkFileError, ConfigError
from harness.groundtruth.table import GroundTruthTable, file_sha256, prepared_table_path
from harness.groundtruth.user_table import is_table_file
from harness.plugins.spaces.nb101.api_files import (
    looks_like_api_json,
    read_api_json,
    read_api_pickle,
)
from harness.plugins.spaces.nb101.nasbench_tfrecord import read_tfrecord
from harness.plugins.spaces.nb101.official_table import SPACE, NB101Accumulator
from harness.plugins.spaces.nb101.user_table import import_user_table, read_gennas_json

OFFICIAL_FILES = ("nasbench_full.tfrecord", "nasbench_only108.tfrecord")
TFRECORD_OPTIONS = ("verify_crc", "allow_partial")
USER_TABLE_OPTIONS = ("columns", "dataset", "description", "duplicates", "higher_is_better")


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"option {name} must be true or false, not {value!r}")


def _official_file(directory: Path) -> Path:
    for name in OFFICIAL_FILES:
        if (directory / name).is_file():
            return directory / name
    raise BenchmarkFileError(f"{directory} holds neither {' nor '.join(OFFICIAL_FILES)}; "
                             f"download one from the NAS-Bench-101 README or name a file")


def build_table(source: Path, **options: Any) -> GroundTruthTable:
    """Read ``source`` (module docstring) into a ground-truth table, writing nothing."""
    source = Path(source).expanduser()
    if not source.exists():
        raise BenchmarkFileError(f"NB101 source {source} does not exist")
    if source.is_dir():
        source = _official_file(source)
    suffix = source.suffix.lower()
    user_options = {k: v for k, v in options.items() if k in USER_TABLE_OPTIONS}
    if "higher_is_better" in user_options:
        user_options["higher_is_better"] = _flag(user_options["higher_is_better"],
                                                 "higher_is_better")
    unknown = set(options) - set(USER_TABLE_OPTIONS) - set(TFRECORD_OPTIONS)
    if unknown:
        raise ConfigError(f"unknown nb101 prepare option(s) {sorted(unknown)}; known: "
                          f"{', '.join(TFRECORD_OPTIONS + USER_TABLE_OPTIONS)}")
    if suffix != ".tfrecord" and set(options) & set(TFRECORD_OPTIONS):
        raise ConfigError(f"option(s) {sorted(set(options) & set(TFRECORD_OPTIONS))} apply to "
                          f".tfrecord files, not to {source.name}")
    if is_table_file(source):
        return import_user_table(source, sha256=file_sha256(source), **user_options)
    if user_options and suffix != ".json":
        raise ConfigError(f"option(s) {sorted(user_options)} apply to user tables (.csv, .tsv, "
                          f".parquet, GenNAS .json), not to {source.name}")
    accumulator = NB101Accumulator()
    record = {"file": source.name, "space_version": "NAS-Bench-101 (Ying et al. 2019)"}
    if suffix == ".tfrecord":
        verify_crc = _flag(options.get("verify_crc", True), "verify_crc")
        digest = hashlib.sha256()
        complete = read_tfrecord(source, accumulator, verify_crc=verify_crc, digest=digest,
                                 allow_partial=_flag(options.get("allow_partial", False),
                                                     "allow_partial"))
        record.update(format="nasbench101-tfrecord", sha256=digest.hexdigest(),
                      crc_checked=verify_crc, complete=complete)
    elif suffix in (".pkl", ".pickle"):
        read_api_pickle(source, accumulator)
        record.update(format="nasbench101-api-pickle", sha256=file_sha256(source))
    elif suffix == ".json":
        try:
            value = json.loads(source.read_text())
        except ValueError as exc:
            raise BenchmarkFileError(f"{source}: not valid JSON ({exc})") from exc
        if not looks_like_api_json(value):
            return import_user_table(source, frame=read_gennas_json(source),
                                     sha256=file_sha256(source), **user_options)
        if user_options:
            raise ConfigError(f"option(s) {sorted(user_options)} apply to user tables, not to "
                              f"the API-layout records of {source.name}")
        read_api_json(source, accumulator)
        record.update(format="nasbench101-api-json", sha256=file_sha256(source))
    else:
        raise BenchmarkFileError(f"{source}: unknown NB101 source type {suffix!r}; give a "
                                 f".tfrecord, .pkl, .json, .csv, .tsv or .parquet file, or a "
                                 f"directory")
    return accumulator.table(record)


def prepare(source: Path, data_dir: Path, **options: Any) -> Path:
    """Convert ``source`` and save it as the space's prepared table; return the table's path."""
    return build_table(source, **options).save(prepared_table_path(data_dir, SPACE))
