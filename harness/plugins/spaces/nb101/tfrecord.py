"""Reads ``nasbench_only108.tfrecord`` / ``nasbench_full.tfrecord`` without TensorFlow.

Each record's payload is JSON text, ``[module_hash, epochs, adjacency, operations,
base64(ModelMetrics)]`` (as ``nasbench/api.py`` reads it), not a ``tf.train.Example``. The adjacency
and operations strings are kept once per cell; the metrics blob gives the parameter count and
the halfway (evaluation 1) and final (evaluation 2) numbers of the run.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

from harness.errors import BenchmarkFileError
from harness.groundtruth.tfrecord import iter_record_batches
from harness.plugins.spaces.nb101.protobuf import ProtobufError, decode_model_metrics
from harness.plugins.spaces.nb101.table import NB101Accumulator

_NAN = float("nan")
_MISSING = (_NAN,) * 5


def _run_values(evaluations: list) -> tuple[float, ...]:
    """The API's eight keys, in ``KEYS`` order, from evaluations 1 (halfway) and 2 (final)."""
    halfway = evaluations[1] if len(evaluations) > 1 else _MISSING
    final = evaluations[2] if len(evaluations) > 2 else _MISSING
    return (halfway[1], halfway[2], halfway[3], halfway[4],
            final[1], final[2], final[3], final[4])


def read_tfrecord(path: Path, accumulator: NB101Accumulator, *, verify_crc: bool = True,
                  digest: Any = None) -> int:
    """Add every record of ``path`` to ``accumulator``; return the number of records read."""
    path = Path(path)
    rows = accumulator.rows
    count = 0
    for batch in iter_record_batches(path, verify_crc=verify_crc, digest=digest):
        for offset, payload in batch:
            try:
                module_hash, epochs, adjacency, operations, blob = json.loads(
                    payload.decode("utf-8"))
                metrics = decode_model_metrics(base64.b64decode(blob, validate=True))
            except (ValueError, TypeError, binascii.Error, ProtobufError) as exc:
                raise BenchmarkFileError(
                    f"{path}: the record at byte {offset} is not a NAS-Bench-101 record "
                    f"(expected a JSON array [hash, epochs, adjacency, operations, base64 "
                    f"ModelMetrics]): {exc}") from exc
            row = rows.get(module_hash)
            if row is None:
                row = accumulator.add_cell(module_hash, adjacency, operations,
                                           metrics.trainable_parameters)
            accumulator.add_repeat(row, epochs, _run_values(metrics.evaluations),
                                   f"{path}: record at byte {offset}")
            count += 1
    return count


def encode_payload(module_hash: str, epochs: int, adjacency: str, operations: str,
                   metrics: bytes) -> bytes:
    """One record's payload as the benchmark wrote it (test fixtures, synthetic files)."""
    return json.dumps([module_hash, epochs, adjacency, operations,
                       base64.b64encode(metrics).decode("ascii")]).encode("utf-8")
