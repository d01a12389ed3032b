"""Reading benchmark pickles without executing code from them, and without torch.

Benchmark files are pickles (NATS-Bench: bz2 pickles; NAS-Bench-201: ``torch.save`` files).
Unpickling can run arbitrary code, so ``RestrictedUnpickler`` resolves only the handful of
globals these files contain (containers, numpy scalars and arrays); anything else is a
``BenchmarkFileError`` naming the file and the unexpected object. Tensors, which the NB201
files never hold (``net_state_dict`` is ``None``), would load as ``OmittedTensor`` markers.

``read_torch_file`` reads both ``torch.save`` layouts: the legacy stream written by torch < 1.6
(and by ``_use_new_zipfile_serialization=False``) — magic number, protocol version, sys-info,
then the object, then the storage keys, each a pickle, then raw storage bytes — and the zip layout
(``<name>/data.pkl``). It does not call ``torch.load``, so no ``weights_only=False`` is needed.
"""

from __future__ import annotations

import bz2
import pickle
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from harness.errors import BenchmarkFileError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001

_ALLOWED = {
    ("collections", "OrderedDict"),
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "slice"),
    # Protocol-2 pickles (torch's default) name builtins by their Python 2 module.
    ("__builtin__", "set"), ("__builtin__", "frozenset"), ("__builtin__", "slice"),
    ("_codecs", "encode"),  # protocol-2 pickles spell bytes as _codecs.encode(str, 'latin1')
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
}


class OmittedTensor:
    """Stands in for a tensor or storage of a torch file; benchmark tables never need them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that can only build containers, numpy values and tensor placeholders."""

    def __init__(self, file: IO[bytes], source: Path) -> None:
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        if module.startswith("torch") and (name.startswith("_rebuild") or name.endswith("Storage")):
            return OmittedTensor
        raise BenchmarkFileError(
            f"{self.source}: holds an object of type {module}.{name}, which no NAS-Bench-201 / "
            f"NATS-Bench file contains; refusing to unpickle it (is this the right file?)")

    def persistent_load(self, pid: Any) -> Any:
        return OmittedTensor()


@contextmanager
def quiet_excepthook() -> Iterator[None]:
    """Silence ``sys.excepthook`` while a possibly corrupt pickle loads.

    Given a corrupt length for a bytearray (opcode ``BYTEARRAY8``), CPython's C unpickler prints
    "SystemError: deallocated bytearray object has exported buffers" through the hook before it
    raises ``MemoryError``; the caller reports that error as a corrupt file in one line, so the
    interpreter's extra line must not reach the user's stderr.
    """
    hook, sys.excepthook = sys.excepthook, lambda *args: None
    try:
        yield
    finally:
        sys.excepthook = hook


def _unpickle(handle: IO[bytes], source: Path, expected: str) -> Any:
    """One object from ``handle``. A corrupt stream fails in many ways (unpickling errors, bz2
    and zip CRC errors, bad lengths, absurd nesting), all of them a ``BenchmarkFileError``."""
    try:
        with quiet_excepthook():
            return RestrictedUnpickler(handle, source).load()
    except BenchmarkFileError:
        raise
    except Exception as exc:
        raise BenchmarkFileError(f"{source} is truncated or corrupt: expected {expected} "
                                 f"({type(exc).__name__}: {exc})") from exc


def _read_to_end(handle: IO[bytes], path: Path) -> None:
    """Consume what follows the pickle, so the compressed stream's end marker and final CRC
    (bz2, zip) are checked: a pickle ends where it ends, so a stream cut after it would
    otherwise go unnoticed. Data after the pickle is an error too."""
    try:
        rest = handle.read(1 << 16)
    except Exception as exc:
        raise BenchmarkFileError(f"{path} is truncated or corrupt after its pickle "
                                 f"({type(exc).__name__}: {exc})") from exc
    if rest:
        raise BenchmarkFileError(f"{path} holds {len(rest)}+ unexpected bytes after its pickle; "
                                 f"is this the right file?")


def read_bz2_pickle(path: Path) -> Any:
    """Load one bz2-compressed pickle (NATS-Bench ``*.pickle.pbz2``)."""
    try:
        with bz2.open(path, "rb") as handle:
            value = _unpickle(handle, path, "a bz2-compressed pickle (NATS-Bench *.pickle.pbz2)")
            _read_to_end(handle, path)
            return value
    except FileNotFoundError:
        raise BenchmarkFileError(f"{path} does not exist") from None


def read_torch_file(path: Path) -> Any:
    """Load the object of a ``torch.save`` file (legacy stream or zip) without torch."""
    if not path.is_file():
        raise BenchmarkFileError(f"{path} does not exist or is not a file")
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                names = [name for name in archive.namelist() if name.endswith("/data.pkl")]
                if len(names) != 1:
                    raise BenchmarkFileError(f"{path} is a zip file but not a torch.save "
                                             f"archive (expected one */data.pkl member)")
                with archive.open(names[0]) as handle:
                    value = _unpickle(handle, path, "the pickled object of a torch.save archive")
                    _read_to_end(handle, path)
                    return value
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
            raise BenchmarkFileError(f"{path} is a damaged zip archive ({exc}); download it "
                                     f"again") from exc
    expected = "a legacy torch.save stream (magic number, protocol 1001, sys info, object)"
    with open(path, "rb") as handle:
        header = [_unpickle(handle, path, expected) for _ in range(3)]
        if header[0] != LEGACY_MAGIC or header[1] != LEGACY_PROTOCOL:
            raise BenchmarkFileError(f"{path} is not a torch.save file: expected {expected}, "
                                     f"found header {header[:2]!r}")
        value = _unpickle(handle, path, expected)
        # The stream ends with the list of storage keys (then the storages, none in benchmark
        # files): reading it is what notices a file cut after the object.
        keys = _unpickle(handle, path, "the storage-key list that ends a torch.save stream")
        if not isinstance(keys, list):
            raise BenchmarkFileError(f"{path} is not a torch.save file: expected the storage-key "
                                     f"list after the object, found a {type(keys).__name__}")
        return value
