"""Stream the records of one official NDS sweep JSON, keeping only what the table needs.

Layouts (spec: facebookresearch/nds ``data.zip``; NNI ``nni/nas/benchmark/nds/db_gen.py`` and
NASWOT ``nasspace.py`` read them the same way): a JSON list of records, or a dict
``{"top": [...], "mid": [...]}`` whose parts are read in file order (the ``*_reruns`` files).
Each record holds ``net`` (the architecture), ``params``, ``flops``, ``optim.max_ep`` and the
per-epoch ``test_ep_top1`` (top-1 **error** in percent), plus per-iteration curves that make the
CIFAR-10 files large (>= 4 MiB).

The file is parsed one record at a time (``json.JSONDecoder.raw_decode`` over a growing text
buffer), so peak memory is one record plus the buffer, whatever the file size. Python's json
reads the bare ``NaN`` tokens the files contain. Every problem (not JSON, truncated, another
layout, a record without its keys, a ``net`` no builder can build (``netspec.py``), a number that
is not one or is out of range) is one ``BenchmarkFileError`` naming the file and the record.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from harness.errors import BenchmarkFileError
from harness.groundtruth.table_checks import NON_NEGATIVE, ValueRange, check_count, check_number
from harness.plugins.spaces.nds.netspec import check_net

CHUNK_CHARS = 1 << 16
HASH_CHARS = 8
STATUS_OK = "ok"
STATUS_DIVERGED = "diverged"
TOP1_ERROR = ValueRange(0.0, 100.0, "a top-1 error in percent")


@dataclass(frozen=True)
class SweepRecord:
    """What the prepared table keeps of one record (errors in percent)."""

    position: int
    part: str
    net_json: str
    params: int
    flops: int
    max_ep: int
    final_error: float
    min_error: float
    epochs_run: int
    base_lr: float
    wd: float
    status: str

    @property
    def net_hash(self) -> str:
        return net_hash(self.net_json)


def canonical_net_json(net: Any) -> str:
    """The ``net`` dict as compact JSON with sorted keys: equal nets give equal text."""
    return json.dumps(net, sort_keys=True, separators=(",", ":"))


def net_hash(net_json: str) -> str:
    """A short stable hash of a canonical ``net`` JSON (the readable tail of an arch id)."""
    return hashlib.sha256(net_json.encode()).hexdigest()[:HASH_CHARS]


class _JsonStream:
    """A text stream read in chunks, parsed value by value."""

    def __init__(self, handle: TextIO, where: str) -> None:
        self.handle, self.where = handle, where
        self.buffer, self.pos, self.eof = "", 0, False
        self.decoder = json.JSONDecoder()

    def _more(self) -> bool:
        if self.eof:
            return False
        chunk = self.handle.read(max(CHUNK_CHARS, len(self.buffer) - self.pos))
        if not chunk:
            self.eof = True
            return False
        self.buffer = self.buffer[self.pos:] + chunk
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next non-blank character ('' at the end of the file)."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos].isspace():
                self.pos += 1
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._more():
                return ""

    def expect(self, chars: str, what: str) -> str:
        found = self.peek()
        if not found or found not in chars:
            shown = repr(found) if found else "the end of the file"
            raise BenchmarkFileError(f"{self.where}: expected {what}, found {shown}; the file "
                                     f"is truncated or not an NDS sweep file")
        self.pos += 1
        return found

    def value(self, what: str) -> Any:
        """The next complete JSON value (an object or a string: both end with a delimiter)."""
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as exc:
                if self._more():
                    continue
                raise BenchmarkFileError(f"{self.where}: {what} is not valid JSON or is cut "
                                         f"short ({exc.msg}); the file is truncated or "
                                         f"corrupt") from None
            self.pos = end
            return value


def iter_records(handle: TextIO, where: str) -> Iterator[SweepRecord]:
    """Every record of the sweep file open as ``handle`` (``where`` names it in errors)."""
    stream = _JsonStream(handle, where)
    opening = stream.expect("[{", "a JSON list of records or a {top, mid} object")
    if opening == "[":
        yield from _list_records(stream, "", 0)
    else:
        position = 0
        if stream.peek() == "}":
            stream.pos += 1
        else:
            while True:
                part = stream.value("a part name")
                if not isinstance(part, str):
                    raise BenchmarkFileError(f"{where}: expected a part name such as 'top'")
                stream.expect(":", "':' after a part name")
                stream.expect("[", f"a list of records under {part!r}")
                for record in _list_records(stream, part, position):
                    position += 1
                    yield record
                if stream.expect(",}", "',' or '}' after a part") == "}":
                    break
    if stream.peek():
        raise BenchmarkFileError(f"{where}: unexpected text after the records; the file is "
                                 f"not one NDS sweep")


def _list_records(stream: _JsonStream, part: str, first: int) -> Iterator[SweepRecord]:
    position = first
    if stream.peek() == "]":
        stream.pos += 1
        return
    while True:
        raw = stream.value(f"record {position}")
        yield read_record(raw, position, part, stream.where)
        position += 1
        if stream.expect(",]", "',' or ']' between records") == "]":
            return


def read_record(raw: Any, position: int, part: str, where: str) -> SweepRecord:
    """Check one record (its keys, its ``net``, every number: ``groundtruth.table_checks``); its
    final and best test errors and its status."""
    place = f"{where}: record {position}" + (f" (part {part!r})" if part else "")
    if not isinstance(raw, dict):
        raise BenchmarkFileError(f"{place} is a {type(raw).__name__}, not a record object")
    missing = [key for key in ("net", "params", "flops", "optim", "test_ep_top1")
               if key not in raw]
    if missing:
        raise BenchmarkFileError(f"{place} lacks {', '.join(missing)}; not an NDS sweep record")
    problem = check_net(raw["net"])
    if problem:
        raise BenchmarkFileError(f"{place}: {problem}")
    optim, curve = raw["optim"], raw["test_ep_top1"]
    if not isinstance(optim, dict) or "max_ep" not in optim:
        raise BenchmarkFileError(f"{place}: 'optim' must be an object with max_ep")
    max_ep = check_count(optim["max_ep"], "optim.max_ep", place, least=1)
    if not isinstance(curve, list) or not 0 < len(curve) <= max_ep:
        raise BenchmarkFileError(f"{place}: test_ep_top1 must be a list of 1 to optim.max_ep "
                                 f"({max_ep}) numbers")
    errors = [check_number(error, f"test_ep_top1[{epoch}]", place, TOP1_ERROR,
                           missing_ok=True)
              for epoch, error in enumerate(curve)]
    finite = [error for error in errors if not math.isnan(error)]
    return SweepRecord(
        position=position, part=part, net_json=canonical_net_json(raw["net"]),
        params=check_count(raw["params"], "params", place),
        flops=check_count(raw["flops"], "flops", place), max_ep=max_ep,
        final_error=errors[-1], min_error=min(finite) if finite else math.nan,
        epochs_run=len(errors), base_lr=_optional(optim, "base_lr", place),
        wd=_optional(optim, "wd", place), status=training_status(errors))


def _optional(optim: dict[str, Any], key: str, place: str) -> float:
    """``optim[key]``, a non-negative number, or NaN where the record has none."""
    if key not in optim:
        return math.nan
    return check_number(optim[key], f"optim.{key}", place, NON_NEGATIVE)


def training_status(errors: list[float]) -> str:
    """``diverged`` when the last error is NaN, or 100 % after lower errors; else ``ok``."""
    last = errors[-1]
    if not math.isfinite(last):
        return STATUS_DIVERGED
    if last >= 100.0 and any(error < 100.0 for error in errors[:-1]):
        return STATUS_DIVERGED
    return STATUS_OK
