"""``harness import FORMAT FILE`` and ``harness export RUN --format FORMAT``: other tools'
per-arch score files in and out of a run folder, through the exchange-format plugins
(``harness.protocols.ExchangeFormat``).

An imported score is an ordinary ``ok`` trial of the store (a non-finite one: ``nan`` or
``inf``), of the scorer the format names (``SOURCE:NAME``), keyed by a config that holds the
format, the file's name and its sha256, so importing the same file again adds nothing and the
report puts the imported scores beside the run's own. The imported archs' ground truth is saved
beside them as a run saves it, so ``harness report`` works on a folder that holds only imports.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import ConfigError, DataNotPreparedError, ExchangeFormatError
from harness.export import EXPORT_FORMATS, trials_with_truth
from harness.hashing import canonical_hash
from harness.protocols import BundledSpace, ExchangedScore, ExchangeFormat
from harness.registry import get_registry
from harness.runfolder import hold_run_folder, record_import
from harness.store import Trial, TrialResult, TrialStore
from harness.version import __version__

KIND = "exchangeformat"
# The trial key's parts a score file does not state: one trial per arch and scorer, at the
# harness's default inits, so the report's tables (at the primary init) show imported scores;
# batch size 0 = not stated.
IMPORTED_SEED, IMPORTED_INIT, IMPORTED_BATCH_SIZE = 0, "default", 0
IMPORTED_DEVICE = "imported"


@dataclass
class ImportSummary:
    """What one import did: scores read, trials added (the rest were already stored), the
    scorers and (space, dataset) cells they went to, and the format's notes."""

    read: int
    added: int
    scorers: list[str]
    cells: list[str]
    notes: list[str] = field(default_factory=list)


def exchange_format(name: str) -> ExchangeFormat:
    """The registered exchange format ``name`` (``UnknownPluginError`` lists the known ones)."""
    return get_registry().get(KIND, name)


def export_format_names() -> list[str]:
    """Every format ``harness export`` writes: the tables', then the exchange formats'."""
    return [*EXPORT_FORMATS, *get_registry().names(KIND)]


def parse_dataset_choices(texts: Sequence[str]) -> dict[str, str | None] | None:
    """``["cifar10", "cifar100=cifar100"]`` -> ``{"cifar10": None, "cifar100": "cifar100"}``
    (the file's dataset, and the trial dataset it maps to; None: the format's mapping)."""
    if not texts:
        return None
    chosen: dict[str, str | None] = {}
    for text in (part.strip() for item in texts for part in item.split(",")):
        theirs, sep, ours = text.partition("=")
        if not theirs.strip() or (sep and not ours.strip()):
            raise ConfigError(f"--dataset {text!r}: write THEIRS or THEIRS=OURS")
        chosen[theirs.strip()] = ours.strip() or None
    return chosen


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_scores(format_name: str, path: Path | str, run_dir: Path | str, *,
                  datasets: dict[str, str | None] | None = None,
                  data_dir: Path | str | None = None,
                  command: Sequence[str] | None = None) -> ImportSummary:
    """Read ``path`` with the exchange format ``format_name`` into ``run_dir``'s store."""
    from harness.datadir import resolve_data_dir

    path, run_dir = Path(path), Path(run_dir)
    fmt = exchange_format(format_name)
    if not path.is_file():
        raise ExchangeFormatError(f"{path}: no such file to import")
    registry = get_registry()
    read = fmt.read(path, space=lambda name: registry.get("space", name), datasets=datasets)
    if not read.scores:
        raise ExchangeFormatError(f"{path}: no score to import"
                                  + (f" ({'; '.join(read.notes)})" if read.notes else ""))
    config = {"exchange_format": fmt.name, "source": path.name, "sha256": file_sha256(path)}
    config_hash = canonical_hash(config)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    results = [_imported_result(score, config_hash, now) for score in read.scores]
    notes = list(read.notes)
    command = list(command) if command else ["harness", "import", fmt.name, str(path)]
    with hold_run_folder(run_dir, command), TrialStore.for_run(run_dir) as store:
        for scorer in sorted({score.scorer for score in read.scores}):
            store.save_scorer_config(config_hash, scorer, config)
        added = store.add_results(results)
        archs: dict[str, list[str]] = {}
        for score in read.scores:
            archs.setdefault(score.space, []).append(score.arch_id)
        for space_name, arch_ids in archs.items():
            table = _ground_truth(registry.get("space", space_name),
                                  resolve_data_dir(data_dir), notes)
            if table is not None:
                store.save_ground_truth(table, arch_ids)
        record_import(run_dir, {"command": command, "import": {
            **config, "file": str(path.resolve()), "n_scores": len(results), "added": added}})
    cells = sorted({f"{s.space}/{s.dataset}" for s in read.scores})
    return ImportSummary(len(results), added, sorted({s.scorer for s in read.scores}), cells,
                         notes)


def _imported_result(score: ExchangedScore, config_hash: str, now: str) -> TrialResult:
    trial = Trial(score.space, score.dataset, score.arch_id, score.scorer, config_hash,
                  IMPORTED_SEED, IMPORTED_INIT, IMPORTED_INIT, IMPORTED_BATCH_SIZE)
    finite = math.isfinite(score.score)
    status = "ok" if finite else ("nan" if math.isnan(score.score) else "inf")
    return TrialResult(trial, score.score if finite else None, status, score.origin,
                       float("nan") if score.wall_s is None else score.wall_s, None,
                       IMPORTED_DEVICE, __version__, "", now)


def _ground_truth(space: Any, data_dir: Path, notes: list[str]) -> Any:
    """The space's prepared table, else its bundled one, else None with a note."""
    try:
        return space.ground_truth(data_dir)
    except (DataNotPreparedError, FileNotFoundError) as exc:
        bundled = space.bundled_ground_truth() if isinstance(space, BundledSpace) else None
        if bundled is None:
            notes.append(f"{space.name}: no ground truth prepared under {data_dir} ({exc}); "
                         f"the imported scores are stored, and the report correlates them "
                         f"once the table is prepared and the import is run again")
        return bundled


def export_scores(run_dir: Path | str, format_name: str,
                  output: Path | str | None = None) -> tuple[Path, list[str]]:
    """Write the run's ``ok`` scores with the exchange format ``format_name`` (default
    ``RUN_DIR/trials.FORMAT``); return the path and the format's notes.

    Each (space, dataset, arch, scorer) must have one trial: a run of several seeds, inits or
    configs of a scorer is refused, since the tools' files hold one score per arch.
    """
    fmt = exchange_format(format_name)
    run_dir = Path(run_dir)
    frame = trials_with_truth(run_dir)
    ok = frame[frame.status == "ok"]
    cell = ["space", "dataset", "arch_id", "scorer"]
    repeated = ok[ok.duplicated(cell, keep=False)]
    if len(repeated):
        first = repeated.iloc[0]
        count = int(((repeated[cell] == first[cell]).all(axis=1)).sum())
        raise ConfigError(
            f"{run_dir}: scorer {first.scorer!r} has {count} ok trials of {first.space} arch "
            f"{first.arch_id} on {first.dataset} (seeds, inits or configs differ); "
            f"--format {fmt.name} holds one score per arch: export a run of one seed, init and "
            f"config per scorer")
    scores = [ExchangedScore(row.space, row.dataset, row.arch_id, row.scorer, float(row.score),
                             None if pd.isna(row.wall_s) else float(row.wall_s),
                             "" if pd.isna(row.message) else str(row.message))
              for row in ok.itertuples(index=False)]
    truth = {(row.space, row.dataset, row.arch_id): float(row.truth)
             for row in frame.drop_duplicates(["space", "dataset", "arch_id"])
             .itertuples(index=False) if not pd.isna(row.truth)}
    path = Path(output) if output else run_dir / f"trials.{fmt.name}"
    path.parent.mkdir(parents=True, exist_ok=True)
    registry = get_registry()
    notes = fmt.write(scores, path, space=lambda name: registry.get("space", name), truth=truth)
    return path, list(notes)
