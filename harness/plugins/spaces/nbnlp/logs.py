"""Read NAS-Bench-NLP training logs (a ``logs.zip`` or a folder of ``log_stats_model_*.json``).

Each official log is one JSON object per training run (github.com/fmsnew/nas-bench-nlp-release:
``train_logs_single_run`` and ``train_logs_multi_runs`` for PTB, ``train_logs_wikitext-2``):
the AWD hyper-parameters, ``recepie_id``, ``recepie`` (the cell as JSON text), ``num_params``,
per-epoch ``train_losses`` / ``val_losses`` / ``test_losses`` (natural-log cross-entropy),
and ``status`` ("OK", or e.g. "loss is nan!" for a run stopped when its loss diverged). The
loss lists contain bare ``NaN`` tokens, which Python's ``json`` accepts as it is.

Logs are read one at a time in file-name order (the listing order of a zip or folder is not
stable), so a 14k-log PTB archive never sits in memory as text; one log may inflate to at most
``MAX_LOG_BYTES`` (a real one is a few KB), a zip entry whose name is absolute or climbs with
``..`` is refused rather than read, and so are two files of one run (the same log name in two
folders). Every value is checked as it is read (``groundtruth.table_checks``): ``num_params`` a
count, losses numbers (not bools) in ``LOSS`` or NaN, and a run marked OK has as many test as
validation losses, with a finite last one.
"""

from __future__ import annotations

import json
import math
import sys
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

from harness.errors import BenchmarkFileError, ConfigError
from harness.groundtruth.archive import READ_ERRORS, check_member_name, read_member
from harness.groundtruth.table_checks import (
    ValueRange,
    check_count,
    check_number,
    check_unique,
    shown,
)
from harness.plugins.spaces.nbnlp.model import ModelSizes
from harness.plugins.spaces.nbnlp.recipe import parse_recipe

# The ``data`` path of a log -> the trial dataset name.
DATASETS = {"penn": "ptb", "ptb": "ptb", "wikitext-2": "wikitext2", "wikitext2": "wikitext2"}
REQUIRED = ("recepie_id", "recepie", "status", "num_params", "val_losses", "test_losses", "data")
OK_STATUS = "OK"
MAX_LOG_BYTES = 16 << 20
# A natural-log cross-entropy: non-negative, and small enough that exp(loss), the perplexity,
# is a finite float.
LOSS = ValueRange(0.0, math.log(sys.float_info.max), "a cross-entropy loss in nats")
DROPOUT = ValueRange(0.0, 1.0, "a dropout probability")


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


@contextmanager
def _opened_logs(source: Path) -> Iterator[list[tuple[str, Callable[[], bytes]]]]:
    """(file name, reader of its bytes) of every ``*.json`` log of the zip or folder, in name
    order, while the zip is open."""
    if source.is_dir():
        yield [(str(path.relative_to(source)), partial(_read_file, path))
               for path in sorted(source.rglob("*.json"))]
        return
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BenchmarkFileError(f"{source} is not a readable zip of NAS-Bench-NLP logs "
                                 f"({exc}); pass the release's logs.zip or its unpacked folder"
                                 ) from exc
    with archive:
        infos = sorted((i for i in archive.infolist() if i.filename.endswith(".json")),
                       key=lambda i: i.filename)
        for info in infos:
            check_member_name(info.filename, str(source))
        yield [(info.filename, partial(read_member, archive, info, MAX_LOG_BYTES, str(source)))
               for info in infos]


def _read_file(path: Path) -> bytes:
    """A log file's bytes, refused beyond ``MAX_LOG_BYTES``."""
    if path.stat().st_size > MAX_LOG_BYTES:
        raise BenchmarkFileError(f"{path} holds more than {MAX_LOG_BYTES:,} bytes; a "
                                 f"NAS-Bench-NLP log is a few KB, the file is not one")
    return path.read_bytes()


def read_logs(source: Path) -> Iterator[RunLog]:
    """Every run of ``source`` (zip or folder), in file-name order; a damaged log is an error."""
    source = Path(source)
    if not source.exists():
        raise BenchmarkFileError(f"{source} does not exist; pass a NAS-Bench-NLP logs.zip or "
                                 f"a folder of log_stats_model_*.json files")
    with _opened_logs(source) as logs:
        if not logs:
            raise BenchmarkFileError(f"{source} holds no *.json logs; pass the NAS-Bench-NLP "
                                     f"logs.zip or a folder of log_stats_model_*.json files")
        check_unique(((PurePosixPath(name).name, name) for name, _ in logs), "log",
                     str(source), "one run must be logged once; remove the copy")
        for name, read in logs:
            try:
                record = json.loads(read())
            except (ValueError, *READ_ERRORS) as exc:  # ValueError: JSON, UTF-8
                raise BenchmarkFileError(f"{source}: log {name} is not valid JSON or is damaged "
                                         f"({exc}); fetch the release again") from exc
            yield _run_log(record, f"{source.name}:{name}")


def _losses(record: dict[str, Any], key: str, where: str) -> tuple[float, ...]:
    """A list of losses, each a number in ``LOSS`` or NaN (an epoch whose loss diverged)."""
    values = record[key]
    if not isinstance(values, list):
        raise BenchmarkFileError(f"{where}: {key} must be a list of numbers")
    return tuple(check_number(value, f"{key}[{epoch}]", where, LOSS, missing_ok=True)
                 for epoch, value in enumerate(values))


def _text(record: dict[str, Any], key: str, where: str, *, number_ok: bool = False) -> str:
    """A field that names something: a string (or, where ``number_ok``, an integer id)."""
    value = record[key]
    allowed = (str, int) if number_ok else (str,)
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise BenchmarkFileError(f"{where}: {key} {shown(value)} is not a "
                                 f"{'string or integer' if number_ok else 'string'}")
    return str(value)


def _sizes(record: dict[str, Any], where: str) -> ModelSizes:
    """The AWD hyper-parameters the log records (defaults for the others), each of its
    field's type: a flag a bool, a size a positive integer, a dropout in [0, 1]."""
    values: dict[str, Any] = {}
    for key, default in asdict(ModelSizes()).items():
        if key not in record:
            continue
        value = record[key]
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise BenchmarkFileError(f"{where}: {key} {shown(value)} is not true or false")
        elif isinstance(default, int):
            value = check_count(value, key, where, least=1)
        else:
            value = check_number(value, key, where, DROPOUT)
        values[key] = value
    return ModelSizes(**values)


def _check_finished(val_losses: tuple[float, ...], test_losses: tuple[float, ...],
                    where: str) -> None:
    """A run marked OK has one test loss per validation loss, and a finite last one: its
    targets exist."""
    if not test_losses or len(val_losses) != len(test_losses) \
            or math.isnan(test_losses[-1]):
        raise BenchmarkFileError(f"{where}: status OK, but {len(val_losses)} validation and "
                                 f"{len(test_losses)} test losses (the last "
                                 f"{test_losses[-1] if test_losses else 'missing'}); a finished "
                                 f"run logs one finite test loss per epoch")


def _run_log(record: Any, where: str) -> RunLog:
    if not isinstance(record, dict):
        raise BenchmarkFileError(f"{where}: a log must be a JSON object")
    missing = [key for key in REQUIRED if key not in record]
    if missing:
        raise BenchmarkFileError(f"{where}: not a NAS-Bench-NLP training log (lacks "
                                 f"{', '.join(missing)})")
    folder = _text(record, "data", where).rstrip("/").rsplit("/", 1)[-1].lower()
    if folder not in DATASETS:
        raise BenchmarkFileError(f"{where}: unknown dataset {record['data']!r}; known: "
                                 f"{', '.join(sorted(DATASETS))}")
    try:
        recipe = parse_recipe(record["recepie"])
    except ConfigError as exc:
        raise BenchmarkFileError(f"{where}: {exc}") from exc
    status = _text(record, "status", where)
    val_losses = _losses(record, "val_losses", where)
    test_losses = _losses(record, "test_losses", where)
    if status == OK_STATUS:
        _check_finished(val_losses, test_losses, where)
    return RunLog(file=where.rsplit(":", 1)[-1],
                  recipe_id=_text(record, "recepie_id", where, number_ok=True),
                  recipe_json=recipe.to_json(), dataset=DATASETS[folder], status=status,
                  num_params=check_count(record["num_params"], "num_params", where),
                  val_losses=val_losses, test_losses=test_losses, sizes=_sizes(record, where))


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
