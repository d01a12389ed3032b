"""TFRecord framing, read with ``struct`` and no TensorFlow (TensorFlow's "TFRecords Format
Details", tensorflow/docs ``site/en/api_guides/python/python_io.md``).

A record is: length (uint64 LE), masked CRC-32C of the 8 length bytes (uint32 LE), the
payload, masked CRC-32C of the payload (uint32 LE); records are concatenated. The file is read
in large blocks (a few Python calls per record, bounded memory whatever the file size) and the
checksums are verified per batch of records, vectorised (``harness.groundtruth.crc32c``).
Every framing or checksum failure is a ``BenchmarkFileError`` naming the record's byte offset.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from harness.errors import BenchmarkFileError
from harness.groundtruth.crc32c import crc32c, crc32c_many, mask, mask_many

HEADER_BYTES = 12  # uint64 length + uint32 masked CRC of the length
FOOTER_BYTES = 4  # uint32 masked CRC of the payload
BLOCK_BYTES = 8 << 20
_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")


class _PendingChecks:
    """Checksums of the records read since the last verification."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offsets: list[int] = []
        self.length_fields: list[bytes] = []
        self.length_crcs: list[int] = []
        self.payloads: list[bytes] = []
        self.payload_crcs: list[int] = []

    def add(self, offset: int, length_field: bytes, length_crc: int, payload: bytes,
            payload_crc: int) -> None:
        self.offsets.append(offset)
        self.length_fields.append(length_field)
        self.length_crcs.append(length_crc)
        self.payloads.append(payload)
        self.payload_crcs.append(payload_crc)

    def verify(self) -> None:
        if not self.offsets:
            return
        for what, chunks, stored in (("length field", self.length_fields, self.length_crcs),
                                     ("payload", self.payloads, self.payload_crcs)):
            bad = np.flatnonzero(mask_many(crc32c_many(chunks)) != np.array(stored, np.uint32))
            if bad.size:
                raise BenchmarkFileError(
                    f"{self.path}: CRC mismatch in the {what} of the record at byte "
                    f"{self.offsets[bad[0]]}; the file is corrupt: download it again and "
                    f"compare its SHA-256 with the one the benchmark publishes")
        self.__init__(self.path)


class _RecordReader:
    """Reads one record after another from an open file, in ``BLOCK_BYTES`` blocks.

    ``buffer[position:]`` holds the bytes read but not consumed yet; ``base`` is the file
    offset of ``buffer[0]``. With ``verify_crc`` each record's checksums are queued in
    ``pending`` for the caller to verify per batch.
    """

    def __init__(self, path: Path, handle: BinaryIO, *, verify_crc: bool, digest: Any) -> None:
        self.path, self.handle, self.verify_crc, self.digest = path, handle, verify_crc, digest
        self.size = os.fstat(handle.fileno()).st_size
        self.pending = _PendingChecks(path)
        self.buffer, self.position, self.base = b"", 0, 0

    def fill(self, needed: int) -> bool:
        """Have ``needed`` unconsumed bytes in the buffer; False when the file ends first."""
        while len(self.buffer) - self.position < needed:
            block = self.handle.read(max(BLOCK_BYTES, needed))
            if not block:
                return False
            if self.digest is not None:
                self.digest.update(block)
            self.buffer, self.base, self.position = (self.buffer[self.position:] + block,
                                                     self.base + self.position, 0)
        return True

    def next_record(self) -> tuple[int, bytes] | None:
        """The next ``(byte_offset, payload)``; None at a clean end of the file."""
        offset = self.base + self.position
        if not self.fill(HEADER_BYTES):
            if len(self.buffer) == self.position:
                return None
            raise self.truncated(offset, f"only {self.size - offset} of the {HEADER_BYTES} "
                                         f"header bytes are present")
        length, length_crc = _HEADER.unpack_from(self.buffer, self.position)
        record_bytes = HEADER_BYTES + length + FOOTER_BYTES
        if offset + record_bytes > self.size or not self.fill(record_bytes):
            raise self.truncated(offset, f"the header announces {length} payload bytes but "
                                         f"the file ends at byte {self.size}")
        buffer, position = self.buffer, self.position
        start = position + HEADER_BYTES
        payload = buffer[start:start + length]
        if self.verify_crc:
            self.pending.add(offset, buffer[position:position + 8], length_crc, payload,
                             _FOOTER.unpack_from(buffer, start + length)[0])
        self.position = position + record_bytes
        return offset, payload

    def truncated(self, offset: int, detail: str) -> BenchmarkFileError:
        """The error for the record at ``offset`` that the file cuts short.

        With ``verify_crc``, an earlier corrupt record or a corrupt length field is the better
        diagnosis (a flipped length bit also "truncates"), so those are checked first.
        """
        if self.verify_crc:
            self.pending.verify()
            buffer, position = self.buffer, self.position
            length_field = buffer[position:position + 8]
            if len(buffer) - position >= HEADER_BYTES and mask(crc32c(length_field)) != \
                    _HEADER.unpack_from(buffer, position)[1]:
                return BenchmarkFileError(
                    f"{self.path}: CRC mismatch in the length field of the record at byte "
                    f"{offset}; the file is corrupt: download it again")
        return BenchmarkFileError(f"{self.path}: truncated record at byte {offset}: {detail}; "
                                  f"the file is incomplete: download it again")


def iter_record_batches(path: Path, *, verify_crc: bool = True, batch_records: int = 4096,
                        digest: Any = None) -> Iterator[list[tuple[int, bytes]]]:
    """Yield lists of ``(byte_offset, payload)``; each list is CRC-checked before it is yielded.

    ``digest``: an optional ``hashlib`` object updated with every byte of the file, so the
    source checksum costs no second pass.
    """
    path = Path(path)
    batch: list[tuple[int, bytes]] = []
    with open(path, "rb") as handle:
        reader = _RecordReader(path, handle, verify_crc=verify_crc, digest=digest)
        while (record := reader.next_record()) is not None:
            batch.append(record)
            if len(batch) >= batch_records:
                reader.pending.verify()
                yield batch
                batch = []
    reader.pending.verify()
    if batch:
        yield batch


def encode_records(payloads: list[bytes]) -> bytes:
    """Records in the TFRecord framing (tests and synthetic benchmark files write these)."""
    length_fields = [struct.pack("<Q", len(payload)) for payload in payloads]
    length_crcs = mask_many(crc32c_many(length_fields)).tolist()
    payload_crcs = mask_many(crc32c_many(payloads)).tolist()
    return b"".join(
        length_field + _FOOTER.pack(length_crc) + payload + _FOOTER.pack(payload_crc)
        for length_field, length_crc, payload, payload_crc
        in zip(length_fields, length_crcs, payloads, payload_crcs, strict=True))
