"""``harness data status``: which spaces have prepared ground truth under the data dir, where it
came from (the URL ``harness data fetch`` downloaded, or the file named to ``data prepare``) and
its source's checksum, and what to run for the others."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.groundtruth.table import prepared_table_path, table_origin
from harness.protocols import BundledSpace
from harness.registry import Registry, get_registry

SOURCE_FILE_KEYS = ("file", "files", "source_file", "source", "path")
CHECKSUM_KEYS = ("sha256", "source_sha256", "checksum")


@dataclass(frozen=True)
class SpaceDataStatus:
    """One space's data state. ``detail`` is the source file when prepared, else the reason;
    ``bundled``: the space ships ground truth that runs use while none is prepared. ``origin``:
    the URL the table's source was fetched from (``origin_kind`` ``"fetched"``) or the path
    named to ``data prepare`` (``"named"``), empty when unrecorded (a table prepared before
    origins were recorded, or one replaced since); ``checksum_origin``: whether the checksum
    was published or recorded on the first download."""

    space: str
    prepared: bool
    table_path: Path
    source_file: str
    checksum: str
    detail: str
    prepare_command: str
    bundled: bool
    origin: str = ""
    origin_kind: str = ""
    checksum_origin: str = ""

    def to_json(self) -> dict[str, object]:
        """The row for ``harness data status --json``: ``state`` is prepared, bundled (runs
        use the table shipped with the package) or missing."""
        state = "prepared" if self.prepared else "bundled" if self.bundled else "missing"
        return {"space": self.space, "state": state, "table_path": str(self.table_path),
                "source_file": self.source_file or None, "sha256": self.checksum or None,
                "origin": self.origin or None, "origin_kind": self.origin_kind or None,
                "checksum_origin": self.checksum_origin or None,
                "detail": self.detail, "prepare_command": self.prepare_command}


def _first(source: dict, keys: tuple[str, ...]) -> str:
    for key in keys:
        if source.get(key):
            value = source[key]
            return ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    return ""


def data_status(data_dir: Path, registry: Registry | None = None) -> list[SpaceDataStatus]:
    """The status of every installed space, sorted by name."""
    registry = registry or get_registry()
    rows = []
    for name in registry.names("space"):
        space = registry.get("space", name)
        command = f"harness data prepare {name} --source PATH --data-dir {data_dir}"
        bundled = isinstance(space, BundledSpace)
        path = prepared_table_path(data_dir, name)
        try:
            table = space.ground_truth(data_dir)
        except (HarnessError, FileNotFoundError) as exc:
            rows.append(SpaceDataStatus(name, False, path, "", "", " ".join(str(exc).split()),
                                        command, bundled))
            continue
        origin = table_origin(path) or {}
        rows.append(SpaceDataStatus(name, True, path, _first(table.source, SOURCE_FILE_KEYS),
                                    _first(table.source, CHECKSUM_KEYS),
                                    f"{len(table.frame)} archs; datasets "
                                    f"{', '.join(table.datasets)}", command, bundled,
                                    origin.get("origin") or "", origin.get("kind") or "",
                                    origin.get("checksum_origin") or ""))
    return rows
