"""Downloading an official dataset archive: resumable, checksummed, extracted safely.

``download`` writes to ``<archive>.part`` and, when that file exists, asks the server for the
rest only (HTTP ``Range: bytes=N-``); a server that ignores the range gets a fresh download.
A dropped connection is retried ``retries`` times, each retry resuming where the last stopped;
after that the ``.part`` file stays, and running the command again resumes it. The archive is
renamed into place only once its MD5 matches. ``safe_extract`` refuses absolute paths, ``..``,
links and special files, and unpacks into a staging folder before moving the result into place,
so an interrupted or refused extraction leaves no half-written dataset folder behind.
"""

from __future__ import annotations

import hashlib
import http.client
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath

from harness.errors import DatasetError

CHUNK_BYTES = 1 << 20


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _content_range_start(header: str | None) -> int | None:
    """The first byte of ``Content-Range: bytes START-END/TOTAL``, or None if unparsable."""
    if not header or not header.startswith("bytes "):
        return None
    try:
        return int(header[len("bytes "):].split("-", 1)[0])
    except ValueError:
        return None


def _download_once(url: str, part: Path, timeout_s: float) -> None:
    """Append the missing bytes of ``url`` to ``part``; raise on a dropped connection."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                          timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to send: the checksum decides
            return
        raise
    with response:
        resuming = response.status == 206
        if resuming and _content_range_start(response.headers.get("Content-Range")) != have:
            part.unlink(missing_ok=True)
            raise ConnectionError("the server resumed at another offset than asked; restarting")
        expected = response.headers.get("Content-Length")
        received = 0
        with open(part, "ab" if resuming else "wb") as out:
            while chunk := response.read(CHUNK_BYTES):
                out.write(chunk)
                received += len(chunk)
    if expected is not None and received < int(expected):
        raise ConnectionError(f"connection closed after {received} of {expected} bytes")


def _failure_message(url: str, part: Path, exc: Exception) -> str:
    """Why the download stopped, and what it leaves: the bytes kept for a resume, or none."""
    cause = f"{type(exc).__name__}: {exc}"
    have = part.stat().st_size if part.exists() else 0
    if have:
        return (f"download of {url} was interrupted ({cause}); {have} bytes are kept in {part}. "
                f"Run the command again to resume")
    return (f"download of {url} failed before any byte arrived ({cause}); is this machine "
            f"offline? Run the command again when it can reach the server")


def download(url: str, dest: Path, *, md5: str, retries: int = 3, timeout_s: float = 60.0) -> Path:
    """Download ``url`` to ``dest``, resuming ``dest.part``; ``DatasetError`` on failure."""
    part = dest.with_name(dest.name + ".part")
    failures = 0
    while True:
        try:
            _download_once(url, part, timeout_s)
            break
        except urllib.error.HTTPError as exc:
            raise DatasetError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from None
        except (OSError, http.client.HTTPException) as exc:
            failures += 1
            if failures > retries:
                raise DatasetError(_failure_message(url, part, exc)) from None
    digest = md5_of(part)
    if digest != md5.lower():
        part.unlink()
        raise DatasetError(
            f"download of {url} is corrupt: MD5 {digest}, expected {md5}; the partial file was "
            f"deleted, run the command again to download it afresh")
    part.replace(dest)
    return dest


def safe_extract(archive: Path, target: Path, *, expected_folder: str) -> Path:
    """Extract the tar ``archive`` (any compression) whose members all lie under
    ``expected_folder`` into ``target``; return ``target / expected_folder``."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                parts = PurePosixPath(member.name).parts
                if (PurePosixPath(member.name).is_absolute() or ".." in parts
                        or not (member.isfile() or member.isdir())):
                    raise DatasetError(
                        f"{archive}: refusing to extract {member.name!r} (absolute path, '..', "
                        f"link or special file); the archive is not the official one")
                if not parts or parts[0] != expected_folder:
                    raise DatasetError(
                        f"{archive}: member {member.name!r} lies outside {expected_folder}/; "
                        f"the archive is not the official one")
            staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=target))
            try:
                tar.extractall(staging, members=members, filter="data")
                final = target / expected_folder
                (staging / expected_folder).replace(final)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DatasetError(f"{archive} could not be extracted: {type(exc).__name__}: {exc}") \
            from None
    return final


def fetch_archive(url: str, md5: str, archive: Path, target: Path, *, expected_folder: str,
                  retries: int = 3) -> Path:
    """Download ``url`` as ``archive`` (resuming), extract ``expected_folder`` into ``target``,
    then delete the archive; return the extracted folder."""
    target.mkdir(parents=True, exist_ok=True)
    if not (archive.is_file() and md5_of(archive) == md5.lower()):
        download(url, archive, md5=md5, retries=retries)
    folder = safe_extract(archive, target, expected_folder=expected_folder)
    archive.unlink()
    return folder
