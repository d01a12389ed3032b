"""NAS-Bench-101's ``ModelMetrics`` protobuf, decoded with a minimal wire-format reader.

Why not the ``protobuf`` package: it needs generated ``_pb2`` code (or a descriptor built at
run time) for a three-field message, and its runtime/generated-code version pairing is a
frequent source of breakage; the wire format needed here is four rules (varint, 64-bit,
length-delimited, skip unknown fields by wire type). This reader is ~80 lines, has no
dependency, raises on malformed input instead of guessing, and, with a fast path for the
canonical field order the benchmark wrote, decodes a record in ~10 µs (about a third of the
prepare time per record). Field numbers (from the benchmark's
``nasbench/lib/model_metrics.proto``, github.com/google-research/nasbench):

- ``ModelMetrics``: 1 ``evaluation_data`` (repeated message), 2 ``trainable_parameters``
  (int32), 3 ``total_time`` (double);
- ``EvaluationData``: 1 ``current_epoch``, 2 ``training_time``, 3 ``train_accuracy``,
  4 ``validation_accuracy``, 5 ``test_accuracy`` (doubles), 6 ``checkpoint_path`` (string,
  not needed and skipped).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

_DOUBLE = struct.Struct("<d")
# EvaluationData fields 1..5 in order, each a one-byte tag (field << 3 | 1) and a double
_CANONICAL = struct.Struct("<xdxdxdxdxd")
_CANONICAL_BYTES = _CANONICAL.size
_CANONICAL_TAGS = bytes(field << 3 | 1 for field in range(1, 6))
_NAN = float("nan")
VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5


class ProtobufError(ValueError):
    """The bytes are not a well-formed ``ModelMetrics`` message."""


class Evaluation(NamedTuple):
    """One ``EvaluationData``: index 0 at initialisation, 1 halfway, 2 end of training."""

    current_epoch: float
    training_time: float
    train_accuracy: float
    validation_accuracy: float
    test_accuracy: float


class ModelMetrics(NamedTuple):
    evaluations: list[Evaluation]
    trainable_parameters: int
    total_time: float


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if position >= len(data) or shift > 63:
            raise ProtobufError(f"unterminated varint at byte {position}")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, position
        shift += 7


def _skip(data: bytes, position: int, wire: int) -> int:
    if wire == VARINT:
        return _varint(data, position)[1]
    if wire == FIXED64:
        return position + 8
    if wire == FIXED32:
        return position + 4
    if wire == LENGTH_DELIMITED:
        length, position = _varint(data, position)
        return position + length
    raise ProtobufError(f"unsupported wire type {wire} at byte {position}")


def _evaluation(data: bytes, position: int, end: int) -> Evaluation:
    values = [_NAN] * 5
    if data[position:position + _CANONICAL_BYTES:9] == _CANONICAL_TAGS \
            and position + _CANONICAL_BYTES <= end:
        # fast path: fields 1..5 written in order, as the benchmark's writer does
        values = list(_CANONICAL.unpack_from(data, position))
        position += _CANONICAL_BYTES
    while position < end:
        tag, position = _varint(data, position)
        field, wire = tag >> 3, tag & 7
        if 1 <= field <= 5 and wire == FIXED64:
            values[field - 1] = _DOUBLE.unpack_from(data, position)[0]
            position += 8
        else:
            position = _skip(data, position, wire)
    if position != end:
        raise ProtobufError("EvaluationData overruns its length")
    return Evaluation(*values)


def decode_model_metrics(data: bytes) -> ModelMetrics:
    """Decode one serialized ``ModelMetrics``; absent doubles are NaN, absent ints 0."""
    evaluations: list[Evaluation] = []
    parameters, total_time, position, end = 0, _NAN, 0, len(data)
    try:
        while position < end:
            tag = data[position]  # one-byte tags and lengths are read inline: the common case
            if tag < 0x80:
                position += 1
            else:
                tag, position = _varint(data, position)
            field, wire = tag >> 3, tag & 7
            if field == 1 and wire == LENGTH_DELIMITED:
                length = data[position]
                if length < 0x80:
                    position += 1
                else:
                    length, position = _varint(data, position)
                evaluations.append(_evaluation(data, position, position + length))
                position += length
            elif field == 2 and wire == VARINT:
                parameters, position = _varint(data, position)
                if parameters >= 1 << 63:  # negative int32s are sign-extended to 64 bits
                    parameters -= 1 << 64
            elif field == 3 and wire == FIXED64:
                total_time = _DOUBLE.unpack_from(data, position)[0]
                position += 8
            else:
                position = _skip(data, position, wire)
    except (struct.error, IndexError) as exc:
        raise ProtobufError(f"message ends inside a field ({exc})") from exc
    if position != end:
        raise ProtobufError("last field overruns the message")
    return ModelMetrics(evaluations, parameters, total_time)


def _tag(field: int, wire: int) -> bytes:
    return _encode_varint(field << 3 | wire)


def _encode_varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_model_metrics(metrics: ModelMetrics) -> bytes:
    """Serialize ``metrics`` in field order (tests and synthetic benchmark files)."""
    out = bytearray()
    for evaluation in metrics.evaluations:
        body = b"".join(_tag(field, FIXED64) + _DOUBLE.pack(value)
                        for field, value in enumerate(evaluation, start=1))
        out += _tag(1, LENGTH_DELIMITED) + _encode_varint(len(body)) + body
    out += _tag(2, VARINT) + _encode_varint(metrics.trainable_parameters)
    out += _tag(3, FIXED64) + _DOUBLE.pack(metrics.total_time)
    return bytes(out)
