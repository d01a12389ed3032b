"""Downloading an official dataset archive, then extracting it safely.

The transfer is ``harness.download.download`` (pooch: MD5-checked, retried, a progress bar; an
archive already at the target with the right MD5 is not downloaded again, which is also how a
manual download is installed).

Extraction stays here: ``safe_extract`` refuses absolute paths, ``..``, links and special files,
and unpacks into a staging folder before moving the result into place, so an interrupted or
refused extraction leaves no half-written dataset folder (pooch's ``Untar`` extracts whatever
the archive names). A failed fetch removes the folders it created, so nothing empty is left.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from harness.download import download, first_missing_folder, remove_empty_folders
from harness.errors import DatasetError


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
                  retries: int = 3, progress: bool = True) -> Path:
    """Download ``url`` as ``archive`` (skipped when ``archive`` is there with the right MD5),
    extract ``expected_folder`` into ``target``, then delete the archive; return the extracted
    folder. On failure, the folders this call created are removed again."""
    created = first_missing_folder(target)
    target.mkdir(parents=True, exist_ok=True)
    try:
        download(url, archive, known_hash=f"md5:{md5}", retries=retries, progress=progress)
        folder = safe_extract(archive, target, expected_folder=expected_folder)
    except DatasetError:
        if created is not None:
            remove_empty_folders(target, created)
        raise
    archive.unlink()
    return folder
