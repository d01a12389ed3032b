"""Reads ``nasbench_only108.tfrecord`` / ``nasbench_full.tfrecord`` without TensorFlow.

Each record's payload is JSON text, ``[module_hash, epochs, adjacency, operations,
base64(ModelMetrics)]`` (as ``nasbench/api.py`` reads it), not a ``tf.train.Example``. The adjacency
and operations strings are kept once per cell; the metrics blob gives the parameter count and
the halfway (evaluation 1) and final (evaluation 2) numbers of the run.

Every record is validated as strictly as the API-pickle path: the hash is 32 hex digits, the
adjacency and operations form a valid cell (``nb101.cell``) whose hash is the stored hash (and
later records of that hash store the same cell), the budget is one of the benchmark's, the
accuracies are in [0, 1] and the times non-negative (or NaN where an evaluation is absent).
The first bad record fails the whole file with one ``BenchmarkFileError`` naming the file, the
record number (counting from 1) and its byte offset.

Completeness. Framing checks cannot see a file cut exactly at a record boundary, so two more
checks run at the end:

- always: every cell has 3 records (repeats) at every budget the file holds;
- for a file named as an official one (``OFFICIAL_RECORDS``): the total number of cells and
  records is the published one (423,624 cells x 3 repeats x budgets).

The total is keyed on the file name because the name is what says "this is the official file";
small files in the official format under other names (subsets, test fixtures) are read as
subsets and their source records ``complete: false``. A subset that carries an official name
is read with ``allow_partial`` (CLI ``--allow-partial``), which skips only the total count.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

from harness.errors import BenchmarkFileError, ConfigError
from harness.groundtruth.tfrecord import iter_record_batches
from harness.plugins.spaces.nb101.cell import cell_from_strings
from harness.plugins.spaces.nb101.official_table import (
    BUDGETS,
    REPEATS,
    NB101Accumulator,
    is_module_hash,
)
from harness.plugins.spaces.nb101.protobuf import ProtobufError, decode_model_metrics

CELLS = 423_624
OFFICIAL_RECORDS = {"nasbench_only108.tfrecord": CELLS * REPEATS,
                    "nasbench_full.tfrecord": CELLS * REPEATS * len(BUDGETS)}
_NAN = float("nan")
_MISSING = (_NAN,) * 5


class RecordError(ValueError):
    """One record's content is wrong; the message says what."""


def _run_values(evaluations: list) -> tuple[float, ...]:
    """The API's eight keys, in ``KEYS`` order, from evaluations 1 (halfway) and 2 (final)."""
    halfway = evaluations[1] if len(evaluations) > 1 else _MISSING
    final = evaluations[2] if len(evaluations) > 2 else _MISSING
    return (halfway[1], halfway[2], halfway[3], halfway[4],
            final[1], final[2], final[3], final[4])


def _decode(payload: bytes) -> tuple[str, int, str, str, Any]:
    """The five fields of one payload, type-checked; ``RecordError`` if they are not."""
    try:
        fields = json.loads(payload.decode("utf-8"))
        module_hash, epochs, adjacency, operations, blob = fields
        metrics = decode_model_metrics(base64.b64decode(blob, validate=True))
    except (ValueError, TypeError, binascii.Error, ProtobufError) as exc:
        raise RecordError(f"not a NAS-Bench-101 record (expected a JSON array [hash, epochs, "
                          f"adjacency, operations, base64 ModelMetrics]): {exc}") from None
    if not is_module_hash(module_hash):
        raise RecordError(f"hash {module_hash!r} is not 32 lower-case hex digits")
    if type(epochs) is not int or epochs not in BUDGETS:
        raise RecordError(f"training budget {epochs!r} is not one of the benchmark's {BUDGETS}")
    if not isinstance(adjacency, str) or not isinstance(operations, str):
        raise RecordError("adjacency and operations must be strings")
    if metrics.trainable_parameters < 0:
        raise RecordError(f"trainable_parameters is {metrics.trainable_parameters}")
    return module_hash, epochs, adjacency, operations, metrics


def _add_record(accumulator: NB101Accumulator, payload: bytes) -> None:
    module_hash, epochs, adjacency, operations, metrics = _decode(payload)
    values = _run_values(metrics.evaluations)
    row = accumulator.rows.get(module_hash)
    if row is None:
        try:
            cell = cell_from_strings(adjacency, operations)
        except ConfigError as exc:
            raise RecordError(f"cell {module_hash}: {exc}") from None
        if cell.module_hash() != module_hash:
            raise RecordError(f"the cell stored under hash {module_hash} hashes to "
                              f"{cell.module_hash()} by the benchmark's rules")
        row = accumulator.add_cell(module_hash, cell.adjacency_string, cell.operations_string,
                                   metrics.trainable_parameters)
    elif (adjacency, operations) != (accumulator.adjacency[row], accumulator.operations[row]):
        raise RecordError(f"hash {module_hash} is stored with another cell than in its first "
                          f"record")
    accumulator.add_repeat(row, epochs, values, "")


def _check_total(path: Path, accumulator: NB101Accumulator, allow_partial: bool) -> bool:
    """True if the file is complete as an official file; raise if it should be and is not."""
    expected = OFFICIAL_RECORDS.get(path.name)
    if expected is None or allow_partial:
        return False
    cells = len(accumulator.adjacency)
    if accumulator.records != expected or cells != CELLS:
        raise BenchmarkFileError(
            f"{path}: holds {accumulator.records:,} records of {cells:,} cells; the official "
            f"{path.name} has {expected:,} records of {CELLS:,} cells "
            f"({expected - accumulator.records:,} records missing): the file is incomplete, "
            f"download it again (or pass --allow-partial to read a subset on purpose)")
    return True


def read_tfrecord(path: Path, accumulator: NB101Accumulator, *, verify_crc: bool = True,
                  digest: Any = None, allow_partial: bool = False) -> bool:
    """Add every record of ``path`` to ``accumulator`` after validating it (module docstring).

    Returns whether the file was checked complete against the official record count.
    """
    path = Path(path)
    number = 0
    for batch in iter_record_batches(path, verify_crc=verify_crc, digest=digest):
        for offset, payload in batch:
            number += 1
            try:
                _add_record(accumulator, payload)
            except (RecordError, BenchmarkFileError) as exc:
                detail = str(exc).removeprefix(": ")
                raise BenchmarkFileError(f"{path}: record {number} (at byte {offset}): "
                                         f"{detail}") from None
    accumulator.check_repeats(str(path))
    return _check_total(path, accumulator, allow_partial)


def encode_payload(module_hash: str, epochs: int, adjacency: str, operations: str,
                   metrics: bytes) -> bytes:
    """One record's payload as the benchmark wrote it (test fixtures, synthetic files)."""
    return json.dumps([module_hash, epochs, adjacency, operations,
                       base64.b64encode(metrics).decode("ascii")]).encode("utf-8")
