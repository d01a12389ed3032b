"""Official NDS sweep files -> the prepared table of each NDS space.

``source`` is the official ``data.zip``, a folder of sweep files (the unpacked zip), or one
sweep file. Each space takes the sweeps ``sweeps.sweep_of`` assigns to it; a space with no sweep
in the source is a ``DataNotPreparedError`` (``harness data prepare nds`` skips it and prepares
the others). Every sweep is read completely before anything is written (atomically, one table per
space), so a corrupt file leaves no partial table. Two files of the source that claim one sweep
(``DARTS_in.json`` and ``old/DARTS_in.json``) are refused, naming both, and so is a sweep without
records; the table passes ``groundtruth.table_checks`` (a target NaN in every row is refused).

Columns, per trial dataset D of the space (``cifar10``, ``imagenet``, ``imagenet-lr-wd``, ...):

- ``D/top1``: final-epoch top-1 accuracy, ``100 - test_ep_top1[-1]`` (the ground truth of NASWOT,
  NNI and GenNAS-Zero); NaN for a record whose training diverged (``status``);
- ``D/best-top1``: ``100 - min(test_ep_top1)``, the best epoch (the NDS notebooks' "error");

and once per row: ``params``, ``flops`` (as the sweep file records them, for the network the
record trained: 1000 classes on ImageNet), ``max_ep`` (the training budget: 50 ImageNet epochs,
5 for DARTS_fix-w-d_in), ``base_lr``, ``wd``, ``status`` (``ok``/``diverged``), ``sweep`` (the
file name), ``position`` (in the file; ``top`` then ``mid``) and ``net`` (the canonical ``net``
JSON the builders read).

Arch id: ``<prefix>-<position>-<hash>``, e.g. ``in-17-3fa2c1d0``: ``in``/``c10`` (ImageNet or
CIFAR-10 network; an extra sweep adds its variant, ``in-lr-wd-3-...``), the record's position in
the official file and the first 8 hex digits of the sha256 of its canonical ``net`` JSON.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from harness.errors import BenchmarkFileError, ConfigError, DataNotPreparedError
from harness.groundtruth.archive import READ_ERRORS
from harness.groundtruth.table import (
    GroundTruthTable,
    MetricInfo,
    file_sha256,
    prepared_table_path,
)
from harness.groundtruth.table_checks import NON_NEGATIVE, PERCENT, check_unique, validate_table
from harness.plugins.spaces.nds.reader import STATUS_OK, SweepRecord, iter_records
from harness.plugins.spaces.nds.sweeps import PRIMARY_DATASETS, Sweep, sweep_of

TOP1, BEST_TOP1 = "top1", "best-top1"
ZIP_MAGIC = b"PK\x03\x04"


def arch_id(sweep: Sweep, record: SweepRecord) -> str:
    """``<prefix>-<position>-<hash>`` (module docstring)."""
    return f"{sweep.id_prefix}-{record.position}-{record.net_hash}"


def find_sweeps(source: Path) -> list[tuple[Sweep, str]]:
    """(sweep, member name) of every official sweep file in ``source``, in name order; two
    members that claim one sweep (a copy in another folder) are refused, naming both."""
    if zipfile.is_zipfile(source):
        try:
            with zipfile.ZipFile(source) as archive:
                names = [name for name in archive.namelist() if not name.endswith("/")]
        except READ_ERRORS as exc:
            raise BenchmarkFileError(f"{source}: not a readable zip archive ({exc}); fetch the "
                                     f"NDS data.zip again") from exc
    elif source.is_dir():
        names = [str(path.relative_to(source)) for path in source.rglob("*.json")]
    elif source.is_file():
        return [(_single_sweep(source), source.name)]
    else:
        raise ConfigError(f"--source {source}: no such file or folder")
    found = [(sweep_of(Path(name).name), name) for name in sorted(names)]
    found = [(sweep, name) for sweep, name in found if sweep is not None]
    check_unique(((sweep.file_name, name) for sweep, name in found), "sweep", str(source),
                 "keep one copy, or pass the one to use as --source")
    return found


def _single_sweep(source: Path) -> Sweep:
    """The sweep of a single file; a damaged zip is named as one, not as an unknown name."""
    with open(source, "rb") as handle:
        if handle.read(len(ZIP_MAGIC)) == ZIP_MAGIC or source.suffix.lower() == ".zip":
            raise BenchmarkFileError(f"{source}: not a readable zip archive (truncated or "
                                     f"corrupt); fetch the NDS data.zip again")
    sweep = sweep_of(source.name)
    if sweep is None:
        raise BenchmarkFileError(f"{source}: not an official NDS sweep file name (expected "
                                 f"e.g. DARTS.json, DARTS_in.json, ResNeXt-A_in.json)")
    return sweep


@contextmanager
def open_member(source: Path, name: str) -> Iterator[TextIO]:
    """A text handle on one sweep file of a zip, a folder or the file itself."""
    try:
        if zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as archive, archive.open(name) as raw:
                yield io.TextIOWrapper(raw, encoding="utf-8")
        else:
            path = source / name if source.is_dir() else source
            with open(path, encoding="utf-8") as handle:
                yield handle
    except (UnicodeDecodeError, *READ_ERRORS) as exc:
        raise BenchmarkFileError(f"{source}: cannot read {name} ({exc}); the file is corrupt "
                                 f"or truncated") from exc


def read_space(source: Path, space: str) -> GroundTruthTable:
    """The table of ``space`` from every sweep of it in ``source`` (primary datasets first)."""
    sweeps = [(sweep, name) for sweep, name in find_sweeps(source) if sweep.space == space]
    if not sweeps:
        raise DataNotPreparedError(f"{source} holds no sweep file of {space}")
    sweeps.sort(key=lambda item: (item[0].dataset not in PRIMARY_DATASETS, item[0].dataset))
    rows: dict[str, dict] = {}
    metrics: list[MetricInfo] = []
    diverged: dict[str, int] = {}
    for sweep, name in sweeps:
        where = f"{source}:{name}" if source.name != name else str(source)
        count = len(rows)
        with open_member(source, name) as handle:
            for record in iter_records(handle, where):
                rows[arch_id(sweep, record)] = _row(sweep, record)
                diverged[sweep.dataset] = (diverged.get(sweep.dataset, 0)
                                           + (record.status != STATUS_OK))
        if len(rows) == count:
            raise BenchmarkFileError(f"{where}: the sweep holds no records; the file is "
                                     f"damaged or not an NDS sweep, fetch it again")
        metrics += [
            MetricInfo(f"{sweep.dataset}/{TOP1}", sweep.dataset, True,
                       f"final-epoch top-1 accuracy (%), {sweep.file_name}"),
            MetricInfo(f"{sweep.dataset}/{BEST_TOP1}", sweep.dataset, True,
                       f"best-epoch top-1 accuracy (%), {sweep.file_name}")]
    return _table(space, source, rows, metrics, [name for _, name in sweeps], diverged)


def _row(sweep: Sweep, record: SweepRecord) -> dict:
    ok = record.status == STATUS_OK
    return {f"{sweep.dataset}/{TOP1}": 100.0 - record.final_error if ok else float("nan"),
            f"{sweep.dataset}/{BEST_TOP1}": 100.0 - record.min_error,
            "params": record.params, "flops": record.flops, "max_ep": record.max_ep,
            "epochs_run": record.epochs_run, "base_lr": record.base_lr, "wd": record.wd,
            "status": record.status, "sweep": sweep.file_name, "position": record.position,
            "net": record.net_json}


def _table(space: str, source: Path, rows: dict[str, dict], metrics: list[MetricInfo],
           members: list[str], diverged: dict[str, int]) -> GroundTruthTable:
    import pandas as pd

    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "arch_id"
    table = GroundTruthTable(
        space=space, frame=frame, metrics=metrics,
        default_metric={m.dataset: m.name for m in metrics if m.name.endswith(f"/{TOP1}")},
        source={"file": source.name, "members": members, "sha256": file_sha256(source),
                "diverged_records": diverged,
                "recipe": "top1 = 100 - test_ep_top1[-1]; diverged records kept, top1 NaN"})
    ranges = {**{m.name: PERCENT for m in metrics}, "params": NON_NEGATIVE,
              "flops": NON_NEGATIVE}
    return validate_table(table, str(source), ranges)


def prepare(source: Path, data_dir: Path, space: str) -> Path:
    """Read every sweep of ``space`` in ``source`` completely, then save its table."""
    table = read_space(Path(source), space)
    return table.save(prepared_table_path(Path(data_dir), space))
