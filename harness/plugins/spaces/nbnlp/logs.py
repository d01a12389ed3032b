"""Read NAS-Bench-NLP training logs (a ``logs.zip`` or a folder of ``log_stats_model_*.json``).

Each official log is one JSON object per training run (github.com/fmsnew/nas-bench-nlp-release:
``train_logs_single_run`` and ``train_logs_multi_runs`` for PTB, ``train_logs_wikitext-2``):
the AWD hyper-parameters, ``recepie_id``, ``recepie`` (the cell as JSON text), ``num_params``,
per-epoch ``train_losses`` / ``val_losses`` / ``test_losses`` (natural-log cross-entropy),
and ``status`` ("OK", or e.g. "loss is nan!" for a run stopped when its loss diverged). The
loss lists contain bare ``NaN`` tokens, which Python's ``json`` accepts as it is.

Logs are read one at a time in file-name order (the listing order of a zip or folder is not
stable), so a 14k-log PTB archive never sits in memory as text.
"""

from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import BenchmarkFileError, ConfigError
from harness.plugins.spaces.nbnlp.model import ModelSizes
from harness.plugins.spaces.nbnlp.recipe import parse_recipe

# The ``data`` path of a log -> the trial dataset name.
DATASETS = {"penn": "ptb", "ptb": "ptb", "wikitext-2": "wikitext2", "wikitext2": "wikitext2"}
REQUIRED = ("recepie_id", "recepie", "status", "num_params", "val_losses", "test_losses", "data")
OK_STATUS = "OK"


@dataclass(frozen=True)
class RunLog:
    """What the harness keeps of one training run."""

    file: str
    recipe_id: str
    recipe_json: str
    dataset: str
    status: str
    num_params: int
    val_losses: tuple[float, ...]
    test_losses: tuple[float, ...]
    sizes: ModelSizes

    @property
    def ok(self) -> bool:
        return self.status == OK_STATUS


def _log_names(source: Path) -> Iterator[tuple[str, Any]]:
    """(file name, opener) for every ``*.json`` log of the zip or folder, in name order."""
    if source.is_dir():
        for path in sorted(source.rglob("*.json")):
            yield str(path.relative_to(source)), path.open
        return
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BenchmarkFileError(f"{source} is not a readable zip of NAS-Bench-NLP logs "
                                 f"({exc}); pass the release's logs.zip or its unpacked folder"
                                 ) from exc
    with archive:
        for name in sorted(n for n in archive.namelist() if n.endswith(".json")):
            yield name, lambda name=name: archive.open(name)


def read_logs(source: Path) -> Iterator[RunLog]:
    """Every run of ``source`` (zip or folder), in file-name order; a damaged log is an error."""
    source = Path(source)
    if not source.exists():
        raise BenchmarkFileError(f"{source} does not exist; pass a NAS-Bench-NLP logs.zip or "
                                 f"a folder of log_stats_model_*.json files")
    found = False
    for name, opener in _log_names(source):
        found = True
        try:
            with opener() as handle:
                record = json.load(handle)
        except (json.JSONDecodeError, UnicodeDecodeError, zipfile.BadZipFile, OSError) as exc:
            raise BenchmarkFileError(f"{source}: log {name} is not valid JSON ({exc}); the "
                                     f"file is damaged, fetch the release again") from exc
        yield _run_log(record, f"{source.name}:{name}")
    if not found:
        raise BenchmarkFileError(f"{source} holds no *.json logs; pass the NAS-Bench-NLP "
                                 f"logs.zip or a folder of log_stats_model_*.json files")


def _losses(record: dict[str, Any], key: str, where: str) -> tuple[float, ...]:
    values = record[key]
    if not isinstance(values, list) or not all(isinstance(v, int | float) for v in values):
        raise BenchmarkFileError(f"{where}: {key} must be a list of numbers")
    return tuple(float(v) for v in values)


def _run_log(record: Any, where: str) -> RunLog:
    if not isinstance(record, dict):
        raise BenchmarkFileError(f"{where}: a log must be a JSON object")
    missing = [key for key in REQUIRED if key not in record]
    if missing:
        raise BenchmarkFileError(f"{where}: not a NAS-Bench-NLP training log (lacks "
                                 f"{', '.join(missing)})")
    folder = str(record["data"]).rstrip("/").rsplit("/", 1)[-1].lower()
    if folder not in DATASETS:
        raise BenchmarkFileError(f"{where}: unknown dataset {record['data']!r}; known: "
                                 f"{', '.join(sorted(DATASETS))}")
    try:
        recipe = parse_recipe(record["recepie"])
        sizes = ModelSizes(**{key: type(getattr(ModelSizes, key))(record[key])
                              for key in ModelSizes.__dataclass_fields__ if key in record})
    except (ConfigError, TypeError, ValueError) as exc:
        raise BenchmarkFileError(f"{where}: {exc}") from exc
    return RunLog(file=where.rsplit(":", 1)[-1], recipe_id=str(record["recepie_id"]),
                  recipe_json=recipe.to_json(), dataset=DATASETS[folder],
                  status=str(record["status"]), num_params=int(record["num_params"]),
                  val_losses=_losses(record, "val_losses", where),
                  test_losses=_losses(record, "test_losses", where), sizes=sizes)


def final_test_loss(run: RunLog) -> float:
    """The test loss after the last epoch (NaN for a run that did not finish)."""
    return run.test_losses[-1] if run.ok and run.test_losses else math.nan


def min_test_loss(run: RunLog) -> float:
    """The lowest finite test loss of any epoch (NaN when none is finite or the run failed)."""
    finite = [loss for loss in run.test_losses if math.isfinite(loss)]
    return min(finite) if run.ok and finite else math.nan


def best_val_test_loss(run: RunLog) -> float:
    """The test loss at the epoch of the lowest finite validation loss (first such epoch)."""
    epochs = [(loss, epoch) for epoch, loss in enumerate(run.val_losses) if math.isfinite(loss)]
    if not run.ok or not epochs:
        return math.nan
    return run.test_losses[min(epochs)[1]]
