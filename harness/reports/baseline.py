"""The regression baseline file of ``harness regress``: written from a report, read back checked.

A baseline is JSON: the harness and torch versions, devices and command of the run it was made
from, one entry per report cell with its statistics, and what the cells were computed over:
per (space, dataset) the arch set (count and SHA-256 of the sorted arch ids) and a digest of
the ground truth's source. ``load_baseline`` validates the file with the pydantic model
``Baseline``, so a malformed file is one ``HarnessError`` line naming the field, never a
``KeyError`` later. Baselines written before the arch sets were recorded still load.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any, Literal, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from harness.errors import HarnessError
from harness.reports.records import RETRIEVAL_PERCENTS, CellKey, CorrelationRow, Report
from harness.reports.render import json_value

BASELINE_FORMAT = "harness-baseline/1"
STATISTICS = ("kendall", "spearman", "pearson", "abs_kendall", "abs_spearman", "n",
              *(f"retrieval@{p}" for p in RETRIEVAL_PERCENTS))


# One cell's key: the fields of ``reports.records.CellKey``, each required, nothing else.
BaselineKey = create_model("BaselineKey", __config__=ConfigDict(extra="forbid"),
                           **{name: (kind, ...) for name, kind in get_type_hints(CellKey).items()})


class BaselineEntry(BaseModel):
    """One cell: its key and statistics (None where undefined, e.g. a constant score)."""

    model_config = ConfigDict(extra="allow")  # the statistics, by name

    key: BaselineKey
    n: int = Field(ge=0)
    scorer_label: str = ""


class ArchSet(BaseModel):
    """The archs a (space, dataset) was scored on: how many and which (hash of the ids)."""

    n: int = Field(ge=0)
    sha256: str


class Baseline(BaseModel):
    """A whole baseline file."""

    format: Literal["harness-baseline/1"]
    created_at: str = ""
    run_dir: str = ""
    command: str | None = None
    harness_version: str = "unknown"
    torch_version: str = "unknown"
    device: str = "unknown"
    metrics: dict[str, str] = Field(default_factory=dict)
    entries: dict[str, BaselineEntry]
    # Absent from baselines written before they were recorded.
    archs: dict[str, ArchSet] | None = None
    ground_truth_sources: dict[str, str] | None = None


def _statistic(row: CorrelationRow, name: str) -> float:
    return float(row.n) if name == "n" else row.value(name)


def _joined(values: list[str]) -> str:
    return ", ".join(str(v) for v in values) or "unknown"


def arch_sets(report: Report) -> dict[str, ArchSet]:
    """Per ``space/dataset``: the archs the report's trials cover."""
    sets: dict[str, ArchSet] = {}
    pairs = report.pairs
    if pairs.empty:
        return sets
    for (space, dataset), group in pairs.groupby(["space", "dataset"], sort=True):
        ids = sorted(set(map(str, group["arch_id"])))
        digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()
        sets[f"{space}/{dataset}"] = ArchSet(n=len(ids), sha256=digest)
    return sets


def ground_truth_sources(report: Report) -> dict[str, str]:
    """Per ``space/dataset``: a digest of where its ground truth came from (the source record
    of the table: file, checksum, reader, version)."""
    return {f"{use.space}/{use.dataset}": hashlib.sha256(
        json.dumps(use.source, sort_keys=True, default=str).encode()).hexdigest()[:16]
        for use in report.provenance.ground_truth}


def baseline_document(report: Report) -> dict[str, Any]:
    """The baseline JSON of ``report``: environment, command, every cell's statistics, and the
    arch sets and ground-truth sources the cells were computed over."""
    prov = report.provenance
    entries = {}
    for row in report.rows:
        entries[row.key.id()] = {
            "key": vars(row.key).copy(), "scorer_label": row.scorer_label,
            **{name: json_value(_statistic(row, name)) for name in STATISTICS}, "n": row.n}
    return {
        "format": BASELINE_FORMAT,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "run_dir": str(report.run_dir), "command": prov.command,
        "harness_version": _joined(prov.harness_versions),
        "torch_version": _joined(prov.torch_versions), "device": _joined(prov.devices),
        "metrics": {f"{use.space}/{use.dataset}": use.metric for use in prov.ground_truth},
        "archs": {name: arch.model_dump() for name, arch in arch_sets(report).items()},
        "ground_truth_sources": ground_truth_sources(report),
        "entries": entries,
    }


def write_baseline(report: Report, path: Path | str) -> Path:
    """Write ``report``'s baseline to ``path`` (sorted keys, so diffs in review are small)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(baseline_document(report), indent=1, sort_keys=True) + "\n")
    return path


def load_baseline(path: Path | str) -> Baseline:
    """Read and check a baseline file; a missing or malformed one is a ``HarnessError``."""
    path = Path(path)
    rewrite = f"write one with `harness regress RUN_DIR --write-baseline {path}`"
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise HarnessError(f"baseline {path} does not exist; {rewrite}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise HarnessError(f"baseline {path} is not valid JSON ({exc})") from None
    except OSError as exc:
        raise HarnessError(f"baseline {path} cannot be read ({exc.strerror})") from None
    if not isinstance(document, dict) or document.get("format") != BASELINE_FORMAT:
        raise HarnessError(f"{path} is not a harness baseline (format {BASELINE_FORMAT!r}); "
                           f"{rewrite}")
    try:
        baseline = Baseline.model_validate(document)
    except ValidationError as exc:
        raise HarnessError(f"baseline {path} is malformed: {_first_error(exc)}; {rewrite}") \
            from None
    for entry_id, entry in baseline.entries.items():
        for name in STATISTICS:
            value = getattr(entry, name, None) if name != "n" else entry.n
            if value is not None and not isinstance(value, int | float):
                raise HarnessError(f"baseline {path} is malformed: entries.{entry_id}.{name} is "
                                   f"{value!r}, not a number; {rewrite}")
    return baseline


def _first_error(exc: ValidationError) -> str:
    """``entries.X.key.seed: Input should be a valid integer`` (and how many more)."""
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "the file"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"
