"""Reading members of a benchmark zip that may be damaged or hostile.

A zip is trusted for nothing: a flipped byte surfaces as any of ``READ_ERRORS`` (a CRC
mismatch, a broken deflate stream, a flag that asks for a password or an unknown compression),
which a reader turns into its one ``BenchmarkFileError``; ``read_member`` inflates at most
``limit`` bytes, so a small zip holding a huge entry is refused before it fills memory; and
``check_member_name`` refuses a name that is absolute or climbs out with ``..``, which no
release writes.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import PurePosixPath

from harness.errors import BenchmarkFileError

# What reading a damaged member raises (OSError covers the truncated-file cases).
READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
               RuntimeError)


def check_member_name(name: str, where: str) -> None:
    """``name`` is relative and stays inside the archive (no ``/x``, ``C:x``, ``a/../..``)."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or ":" in name:
        raise BenchmarkFileError(f"{where}: member {name!r} has an absolute or climbing path; "
                                 f"no benchmark release writes one, fetch the file again")


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int,
                where: str) -> bytes:
    """The inflated bytes of ``info``, refused beyond ``limit`` bytes (the stated size may lie,
    so at most one byte more is inflated)."""
    if info.file_size <= limit:
        with archive.open(info) as handle:
            data = handle.read(limit + 1)
        if len(data) <= limit:
            return data
    raise BenchmarkFileError(f"{where}: member {info.filename} inflates to more than "
                             f"{limit:,} bytes, far beyond what the format holds; the archive "
                             f"is damaged or not the release")
