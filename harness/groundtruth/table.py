"""The prepared ground-truth table of one space: one row per arch, one column per metric.

Every reader of an official benchmark file ends by saving one of these as parquet under the
data dir; the driver (``harness.execute``) copies the rows of the sampled archs into the run's
store, so every correlation in a report is a join inside one SQLite file. The file's provenance
(source file name, version, sha256, recipe) travels in the parquet schema metadata.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import BenchmarkFileError, DataNotPreparedError

if TYPE_CHECKING:  # pyarrow hands out pandas frames; `harness data status` needs neither
    import pandas as pd

TABLE_FILE = "ground_truth.parquet"
_METADATA_KEY = b"harness"


@dataclass(frozen=True)
class MetricInfo:
    """One ground-truth column.

    ``dataset`` is the trial dataset (a key of ``Space.datasets``) whose models this metric
    measures; ``higher_is_better`` is False for errors and perplexities (metrics flip them).
    """

    name: str
    dataset: str
    higher_is_better: bool = True
    description: str = ""


@dataclass
class GroundTruthTable:
    """``frame``: index ``arch_id`` (str), metric columns plus any extra columns (params, flops).

    ``default_metric`` maps each dataset to the metric reports use unless told otherwise.
    ``source`` records where the numbers came from (file, version, sha256, recipe, ...).
    """

    space: str
    frame: pd.DataFrame
    metrics: list[MetricInfo]
    default_metric: dict[str, str]
    source: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [m.name for m in self.metrics if m.name not in self.frame.columns]
        if missing:
            raise BenchmarkFileError(f"ground-truth table for {self.space!r} lacks metric "
                                     f"columns {missing}")
        for dataset, metric in self.default_metric.items():
            if metric not in {m.name for m in self.metrics}:
                raise BenchmarkFileError(f"default metric {metric!r} for dataset {dataset!r} "
                                         f"is not a metric of the {self.space!r} table")

    @property
    def datasets(self) -> list[str]:
        """Datasets that have at least one metric, in first-seen order."""
        return list(dict.fromkeys(m.dataset for m in self.metrics))

    def metric(self, name: str) -> MetricInfo:
        for info in self.metrics:
            if info.name == name:
                return info
        known = ", ".join(m.name for m in self.metrics)
        raise DataNotPreparedError(f"the {self.space!r} ground truth has no metric {name!r}; "
                                   f"known metrics: {known}")

    def save(self, path: Path) -> Path:
        """Write atomically: a crash leaves either the old table or the new one, never a part.
        The file gets the user's umask (e.g. 0644 or 0664), so a team's shared data dir works."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path.parent.mkdir(parents=True, exist_ok=True)
        frame = self.frame.copy(deep=False)  # shares the columns: a big table is not doubled
        frame.index = frame.index.astype(str)
        frame.index.name = "arch_id"
        arrow = pa.Table.from_pandas(frame, preserve_index=True)
        metadata = {
            "space": self.space,
            "metrics": [asdict(m) for m in self.metrics],
            "default_metric": self.default_metric,
            "source": self.source,
        }
        arrow = arrow.replace_schema_metadata(
            {**(arrow.schema.metadata or {}), _METADATA_KEY: json.dumps(metadata).encode()})
        tmp_name = _new_file_beside(path)
        try:
            pq.write_table(arrow, tmp_name)
            os.replace(tmp_name, path)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
        return path

    @classmethod
    def load(cls, path: Path) -> GroundTruthTable:
        """Read a table written by ``save``; a damaged file is a ``BenchmarkFileError``."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            arrow = pq.read_table(path)
            metadata = json.loads(arrow.schema.metadata[_METADATA_KEY])
        except FileNotFoundError:
            raise
        except Exception as exc:
            raise BenchmarkFileError(
                f"prepared ground-truth table {path} is unreadable ({exc}); delete it and run "
                f"`harness data prepare` again") from exc
        # One pandas block per column, each freed from the arrow table as it is converted: the
        # load peaks near the table's own size, not twice it (dictionary columns -> categorical).
        frame = arrow.to_pandas(split_blocks=True, self_destruct=True)
        del arrow
        # The parquet reader's decompression buffers stay in arrow's allocator (mimalloc) after
        # the read, about the table's size again; hand them back to the system.
        pa.default_memory_pool().release_unused()
        return cls(space=metadata["space"], frame=frame,
                   metrics=[MetricInfo(**m) for m in metadata["metrics"]],
                   default_metric=metadata["default_metric"], source=metadata["source"])


def read_harness_table(path: Path) -> GroundTruthTable | None:
    """The table at ``path`` if the harness wrote it (``GroundTruthTable.save``: a parquet file
    with the harness metadata), else None; a damaged harness table is a ``BenchmarkFileError``."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file() or not path.name.lower().endswith(".parquet"):
        return None
    try:
        metadata = pq.read_schema(path).metadata or {}
    except Exception:  # not parquet at all: another reader will say what is wrong
        return None
    return GroundTruthTable.load(path) if _METADATA_KEY in metadata else None


def _new_file_beside(path: Path) -> str:
    """Create an empty, uniquely named file next to ``path`` with mode 0666 less the umask (what
    ``open`` gives; ``tempfile.mkstemp`` would force 0600) and return its name."""
    for _ in range(100):
        name = str(path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp"))
        try:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return name
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {path}")


def prepared_table_path(data_dir: Path, space: str) -> Path:
    """Where ``harness data prepare SPACE`` writes the space's table."""
    return Path(data_dir) / space / TABLE_FILE


def file_sha256(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """Checksum of a source file (or of every file of a directory, in name order)."""
    digest = hashlib.sha256()
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as handle:
            while block := handle.read(chunk_bytes):
                digest.update(block)
    return digest.hexdigest()


# Where a prepared table came from (``harness data fetch``: the URL; ``data prepare``: the file
# the user named), beside the table. It names the table file's size and modification time, so a
# table replaced since (``data build --replace``) is never credited to the old origin.
ORIGIN_FILE = "origin.json"


def write_table_origin(table: Path, *, origin: str, kind: str,
                       checksum_origin: str | None = None) -> Path | None:
    """Record ``origin`` (a URL when ``kind`` is ``"fetched"``, a path when ``"named"``) beside
    the prepared ``table``, with the source checksum the table records; None when there is no
    table file there (a space that keeps its table elsewhere)."""
    if not table.is_file():
        return None
    stat = table.stat()
    record = {"origin": origin, "kind": kind, "sha256": table_source(table).get("sha256"),
              "checksum_origin": checksum_origin, "table_bytes": stat.st_size,
              "table_mtime_ns": stat.st_mtime_ns}
    path = table.with_name(ORIGIN_FILE)
    temporary = path.with_name(f".{ORIGIN_FILE}.tmp")
    temporary.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(temporary, path)
    return path


def table_origin(table: Path) -> dict[str, Any] | None:
    """The origin recorded beside the prepared ``table``, or None (none recorded, an unreadable
    record, or the table was replaced after it was written)."""
    try:
        record = json.loads(table.with_name(ORIGIN_FILE).read_text())
        stat = table.stat()
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or (record.get("table_bytes"), record.get(
            "table_mtime_ns")) != (stat.st_size, stat.st_mtime_ns):
        return None
    return record


def table_source(path: Path) -> dict[str, Any]:
    """The ``source`` a table written by ``save`` records, read from its schema alone."""
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_schema(path).metadata or {}
        return json.loads(metadata[_METADATA_KEY]).get("source", {})
    except Exception:  # not a harness table: it records no source
        return {}
