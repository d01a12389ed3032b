"""Downloading an official dataset archive with pooch, then extracting it safely.

``download`` hands the transfer to pooch (https://www.fatiando.org/pooch, the downloader SciPy,
scikit-image and MetPy use): it streams the file to a temporary name beside the target, checks
its MD5 before moving it into place, retries a dropped connection or a corrupt transfer
``retries`` times, and draws a progress bar on stderr. An archive already at the target with
the right MD5 is not downloaded again, which is also how a manual download is installed. pooch
does not resume a partial transfer: an interrupted download starts again from the first byte.

Extraction stays here: ``safe_extract`` refuses absolute paths, ``..``, links and special files,
and unpacks into a staging folder before moving the result into place, so an interrupted or
refused extraction leaves no half-written dataset folder (pooch's ``Untar`` extracts whatever
the archive names). A failed fetch removes the folders it created, so nothing empty is left.
"""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from harness.errors import DatasetError

CHUNK_BYTES = 1 << 20


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _manual_steps(url: str, dest: Path, md5: str) -> str:
    return (f"to install it by hand, download {url} on a machine with a connection, check that "
            f"its MD5 is {md5}, copy it to {dest}, and run the command again (it checks the "
            f"file and extracts it)")


def download(url: str, dest: Path, *, md5: str, retries: int = 3, timeout_s: float = 60.0,
             progress: bool = True) -> Path:
    """Download ``url`` to ``dest`` through pooch, checking its MD5; ``DatasetError`` on failure
    (no network, an HTTP error, a transfer cut ``retries + 1`` times, a wrong checksum)."""
    import pooch
    import requests

    pooch.get_logger().setLevel("WARNING")  # our own messages say what happened
    fetcher = pooch.create(path=dest.parent, base_url="", registry={dest.name: f"md5:{md5}"},
                           urls={dest.name: url}, retry_if_failed=retries)
    downloader = pooch.HTTPDownloader(progressbar=progress, timeout=timeout_s)
    try:
        return Path(fetcher.fetch(dest.name, downloader=downloader))
    except requests.exceptions.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "error"
        reason = exc.response.reason if exc.response is not None else str(exc)
        raise DatasetError(f"download of {url} failed: HTTP {status} {reason}") from None
    except (requests.exceptions.ConnectionError, requests.exceptions.ConnectTimeout) as exc:
        # Raised before any byte arrived (a break mid-transfer is a ChunkedEncodingError).
        raise DatasetError(f"no network: {url} could not be reached ({type(exc).__name__}); "
                           f"{_manual_steps(url, dest, md5)}") from None
    except requests.exceptions.RequestException as exc:
        raise DatasetError(f"download of {url} was cut off {retries + 1} times "
                           f"({type(exc).__name__}); nothing was kept. Run the command again, "
                           f"or {_manual_steps(url, dest, md5)}") from None
    except ValueError:  # pooch: the checksum of what arrived is not the known one
        raise DatasetError(f"download of {url} is corrupt: its MD5 is not the expected {md5} "
                           f"(after {retries + 1} tries); nothing was kept, run the command "
                           f"again later") from None


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
    created = _first_missing(target)
    target.mkdir(parents=True, exist_ok=True)
    try:
        download(url, archive, md5=md5, retries=retries, progress=progress)
        folder = safe_extract(archive, target, expected_folder=expected_folder)
    except DatasetError:
        if created is not None:
            _remove_empty_folders(target, created)
        raise
    archive.unlink()
    return folder


def _first_missing(path: Path) -> Path | None:
    """The outermost folder of ``path`` that does not exist yet (None: ``path`` exists)."""
    missing = None
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing = folder
    return missing


def _remove_empty_folders(path: Path, up_to: Path) -> None:
    """Remove ``path`` and its parents up to ``up_to`` while they are empty."""
    for folder in (path, *path.parents):
        try:
            folder.rmdir()
        except OSError:  # not empty (or gone): keep it and everything above
            return
        if folder == up_to:
            return
