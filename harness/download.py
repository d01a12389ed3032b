"""Downloading an official file with pooch, checksummed: the datasets' archives and the benchmarks'
files share this one copy.

``download`` hands the transfer to pooch (https://www.fatiando.org/pooch, the downloader SciPy,
scikit-image and MetPy use): it streams the file to a temporary name beside the target, checks
its checksum (``"md5:..."`` or ``"sha256:..."``) before moving it into place, retries a dropped
connection or a corrupt transfer ``retries`` times, and draws a progress bar on stderr. A file
already at the target with the right checksum is not downloaded again, which is also how a
manual download is installed. pooch does not resume a partial transfer: an interrupted download
starts again from the first byte.

``download_checked`` is for files whose publisher gives no checksum (``published=None``): the
SHA-256 of what arrived the first time is recorded in ``RECORDS_FILE`` (JSON) beside the file,
and every later fetch of that name must match it. Files whose publisher gives one are checked
against it, and recorded too, so ``harness data status`` can say where a table came from.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harness.errors import DatasetError

CHUNK_BYTES = 1 << 20
RECORDS_FILE = "downloads.json"
PUBLISHED = "published"
RECORDED = "recorded on first download"
ALGORITHM_NAMES = {"md5": "MD5", "sha256": "SHA-256"}


@dataclass(frozen=True)
class OfficialDownload:
    """One file a benchmark's authors publish, as a plugin declares it (``harness data fetch``).

    ``checksum``: ``"sha256:HEX"`` (or ``"md5:HEX"``) where the publisher states one, else None
    (the SHA-256 of the first download is recorded and checked on later ones). ``size``: as the
    publisher states it (``"~499 MB"``), else None. ``citation``: where the URL is published.
    ``browser_steps``: None for a plain HTTP download; for a page that needs a browser (Google
    Drive), what to do there, ``url`` being that page. ``prepare_source``: what ``harness data
    prepare --source`` takes once those steps are done (the unpacked folder of a tar), when it
    is not ``file_name``.
    """

    url: str
    file_name: str
    citation: str
    size: str | None = None
    checksum: str | None = None
    browser_steps: str | None = None
    prepare_source: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Downloaded:
    """A file ``download_checked`` put in place, its SHA-256 and where that checksum is from;
    ``first``: its SHA-256 was recorded by this download (no checksum was known)."""

    path: Path
    url: str
    sha256: str
    checksum_origin: str
    first: bool = False


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """The hex digest of ``path`` (``md5`` or ``sha256``), read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _describe(known_hash: str) -> tuple[str, str]:
    """``"md5:HEX"`` -> ("MD5", "HEX")."""
    algorithm, _, value = known_hash.partition(":")
    return ALGORITHM_NAMES.get(algorithm, algorithm.upper()), value


def _manual_steps(url: str, dest: Path, known_hash: str | None) -> str:
    check = ""
    if known_hash:
        name, value = _describe(known_hash)
        check = f"check that its {name} is {value}, "
    return (f"to install it by hand, download {url} on a machine with a connection, {check}copy "
            f"it to {dest}, and run the command again (it checks the file and installs it)")


def download(url: str, dest: Path, *, known_hash: str | None, retries: int = 3,
             timeout_s: float = 60.0, progress: bool = True, manual_steps: str | None = None,
             expected: str = "expected") -> Path:
    """Download ``url`` to ``dest`` through pooch, checking ``known_hash`` (``"md5:HEX"``,
    ``"sha256:HEX"``, or None: any content); ``DatasetError`` on failure (no network, an HTTP
    error, a transfer cut ``retries + 1`` times, a wrong checksum). ``manual_steps`` replaces
    the default how-to-install-by-hand text of the offline message; ``expected`` says where
    the checksum comes from in the wrong-checksum message."""
    import pooch
    import requests

    steps = manual_steps or _manual_steps(url, dest, known_hash)
    pooch.get_logger().setLevel("WARNING")  # our own messages say what happened
    fetcher = pooch.create(path=dest.parent, base_url="", registry={dest.name: known_hash},
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
                           f"{steps}") from None
    except requests.exceptions.RequestException as exc:
        raise DatasetError(f"download of {url} was cut off {retries + 1} times "
                           f"({type(exc).__name__}); nothing was kept. Run the command again, "
                           f"or {steps}") from None
    except ValueError:  # pooch: the checksum of what arrived is not the known one
        name, value = _describe(known_hash or "")
        raise DatasetError(f"download of {url} is corrupt: its {name} is not the {expected} "
                           f"{value} (after {retries + 1} tries); nothing was kept, run the "
                           f"command again later") from None


def read_records(folder: Path) -> dict[str, dict]:
    """``RECORDS_FILE`` in ``folder``: file name -> url, sha256, bytes, checksum, fetched."""
    path = folder / RECORDS_FILE
    if not path.is_file():
        return {}
    try:
        records = json.loads(path.read_text())
    except ValueError as exc:
        raise DatasetError(f"{path} is not valid JSON ({exc}); fix or delete it (deleting "
                           f"forgets the checksums recorded on first download)") from None
    return records if isinstance(records, dict) else {}


def _write_records(folder: Path, records: dict[str, dict]) -> None:
    path = folder / RECORDS_FILE
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(records, indent=1, sort_keys=True) + "\n")
    os.replace(temporary, path)


def download_checked(url: str, dest: Path, *, published: str | None, retries: int = 3,
                     timeout_s: float = 60.0, progress: bool = True,
                     manual_steps: str | None = None) -> Downloaded:
    """``download`` against the ``published`` checksum, else against the SHA-256 recorded on
    the first download of ``dest.name`` (recorded now when there is none); the record in
    ``RECORDS_FILE`` beside ``dest`` names the URL, the SHA-256 and where the check came from."""
    records = read_records(dest.parent)
    recorded = records.get(dest.name, {})
    if published:
        known, origin, expected = published, PUBLISHED, "published"
    elif recorded.get("sha256") and recorded.get("checksum") == RECORDED:
        known, origin = f"sha256:{recorded['sha256']}", RECORDED
        expected = (f"SHA-256 recorded on its first download ({recorded.get('fetched', '?')}, "
                    f"in {dest.parent / RECORDS_FILE}; delete that entry if the publisher "
                    f"replaced the file):")
    else:
        known, origin, expected = None, RECORDED, "expected"
    path = download(url, dest, known_hash=known, retries=retries, timeout_s=timeout_s,
                    progress=progress, manual_steps=manual_steps, expected=expected)
    sha256 = file_digest(path)
    first = recorded.get("fetched") if recorded.get("sha256") == sha256 else None
    records[dest.name] = {
        "url": url, "sha256": sha256, "bytes": path.stat().st_size, "checksum": origin,
        "fetched": first or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    _write_records(dest.parent, records)
    return Downloaded(path, url, sha256, origin, first=known is None)


def forget_download(path: Path) -> None:
    """Delete ``path`` and its record: a first download that turned out not to be the file
    wanted must not become the checksum later downloads are held to."""
    records = read_records(path.parent)
    if records.pop(path.name, None) is not None:
        _write_records(path.parent, records)
    path.unlink(missing_ok=True)


def first_missing_folder(path: Path) -> Path | None:
    """The outermost folder of ``path`` that does not exist yet (None: ``path`` exists)."""
    missing = None
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing = folder
    return missing


def remove_empty_folders(path: Path, up_to: Path) -> None:
    """Remove ``path`` and its parents up to ``up_to`` while they are empty."""
    for folder in (path, *path.parents):
        try:
            folder.rmdir()
        except OSError:  # not empty (or gone): keep it and everything above
            return
        if folder == up_to:
            return
