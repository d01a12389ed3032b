"""NAS-Bench-201 / NATS-Bench-TSS official files -> the prepared ``nb201`` table.

Layouts as the official APIs read them: github.com/D-X-Y/NAS-Bench-201 (``nas_201_api/``) and
github.com/D-X-Y/NATS-Bench (``nats_bench/``).

``prepare(source, data_dir)`` accepts, by what ``source`` is:

- ``NAS-Bench-201-v1_0-e61699.pth`` / ``NAS-Bench-201-v1_1-096897.pth``: a ``torch.save`` dict
  ``{meta_archs, arch2infos: {index: {'less': state, 'full': state}}, evaluated_indexes}``,
  read with a restricted unpickler (``safe_pickle``; no ``torch.load``, no ``nas_201_api``).
  A pickle loads whole, so this needs RAM of the order of the official API (users report
  ~28 GB for v1_1); the NATS simple folder is the low-memory route.
- ``NATS-tss-v1_0-3ffb9.pickle.pbz2``: one bz2 pickle, the same dict with ``'12'``/``'200'``
  budget keys (also loads whole).
- ``NATS-tss-v1_0-3ffb9-simple/``: ``meta.pickle.pbz2`` plus one ``NNNNNN.pickle.pbz2`` per
  arch, read **one file at a time** (peak RSS stays far below 1 GB). Option
  ``allow_missing`` (CLI ``--allow-missing``): table the archs present instead of failing.
- a user table (``.csv``, ``.tsv``, ``.parquet``), option ``columns``: see ``nb201_import``.

Each *state* is an ``ArchResults`` dict whose ``all_results[(dataset, seed)]`` holds
``epochs``, ``eval_acc1es {'<set>@<epoch>': acc}``, ``params`` and ``flop`` (M). From every
result this reader takes each eval set's accuracy at the final epoch (``epochs - 1``) and writes
these columns (dataset names lower-cased, e.g. ``imagenet16-120``):

- ``<dataset>/<set>``: 200-epoch accuracy (%), mean over the seeds the arch has;
- ``<dataset>/<set>/seed<S>``: 200-epoch accuracy of seed S;
- ``<dataset>/<set>/12ep`` and ``<dataset>/<set>/12ep/seed<S>``: the same for the 12-epoch budget;
- ``params_m/<dataset>``, ``flops_m/<dataset>`` (millions; they differ per dataset through the
  classifier), and ``index`` (the official benchmark index).

Default ground truth per dataset (``table.default_metric``; runs may pick any metric): the
validation accuracy, as GenNAS uses (docs/protocol.md): ``cifar10-valid/x-valid``,
``cifar100/x-valid``, ``imagenet16-120/x-valid``; ``cifar10`` has only ``cifar10/ori-test``.
The authors' "test" numbers are ``cifar10/ori-test``, ``cifar100/x-test``,
``imagenet16-120/x-test`` (the benchmark authors' answers in D-X-Y/NATS-Bench issues #17, #35).

Any file that is truncated, corrupt or of another layout raises ``BenchmarkFileError`` naming the
file and what was expected; the finished table goes through the shared validation step
(``harness.groundtruth.table_checks``: accuracies in [0, 100] %, sizes non-negative, finite or NaN,
unique archs), and is written only when everything was read (atomically).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.errors import BenchmarkFileError, ConfigError
from harness.groundtruth.safe_pickle import read_bz2_pickle, read_torch_file
from harness.groundtruth.table import (
    GroundTruthTable,
    MetricInfo,
    file_sha256,
)
from harness.groundtruth.table_checks import NON_NEGATIVE, PERCENT, validate_table
from harness.plugins.spaces.nb201.arch import NUM_ARCHS, ops_to_str, str_to_ops

SPACE = "nb201"
BUDGETS = {"200": "200", "full": "200", "12": "12", "less": "12"}
DATASET_ORDER = ("cifar10-valid", "cifar10", "cifar100", "imagenet16-120")
SET_ORDER = ("x-valid", "x-test", "ori-test")
DEFAULT_METRICS = {"cifar10-valid": "cifar10-valid/x-valid", "cifar10": "cifar10/ori-test",
                   "cifar100": "cifar100/x-valid", "imagenet16-120": "imagenet16-120/x-valid"}
GROUND_TRUTH_RULE = (
    "accuracy (%) of each eval set at the final epoch (epochs - 1) of each training run; "
    "'<dataset>/<set>' = mean over the arch's seeds at the 200-epoch budget, '/12ep' = the "
    "12-epoch budget, '/seed<S>' = one seed; default per dataset = validation accuracy "
    "(x-valid; cifar10 has only ori-test)")
_STATE_EXPECTED = ("an ArchResults state dict with 'all_results' {(dataset, seed): result} "
                   "whose results hold 'epochs', 'eval_acc1es', 'params' and 'flop'")


class TableAccumulator:
    """Collects per-arch values into NaN-filled column arrays (one slot per benchmark index)."""

    def __init__(self, meta_archs: list[str]) -> None:
        self.meta_archs = meta_archs
        self.columns: dict[str, np.ndarray] = {}
        self.seen = np.zeros(len(meta_archs), dtype=bool)

    def _put(self, column: str, index: int, value: float) -> None:
        if column not in self.columns:
            self.columns[column] = np.full(len(self.meta_archs), np.nan)
        self.columns[column][index] = value

    def _get(self, column: str, index: int) -> float:
        return self.columns[column][index] if column in self.columns else np.nan

    def add(self, index: int, budgets: Any, where: str) -> None:
        """Add one arch's ``{budget: state}`` dict; ``where`` names the file for errors."""
        if not isinstance(budgets, Mapping):
            raise BenchmarkFileError(f"{where}: arch {index} is a {type(budgets).__name__}, "
                                     f"expected a dict of budgets {{'12'|'less': state, "
                                     f"'200'|'full': state}}")
        if self.seen[index]:
            raise BenchmarkFileError(f"{where}: arch {index} appears twice")
        for budget_key, state in budgets.items():
            budget = BUDGETS.get(str(budget_key))
            if budget is None:
                raise BenchmarkFileError(f"{where}: arch {index} has budget {budget_key!r}; "
                                         f"expected '12'/'200' (NATS) or 'less'/'full' (NB201)")
            self._add_state(index, budget, state, where)
        self.seen[index] = True

    def _add_state(self, index: int, budget: str, state: Any, where: str) -> None:
        try:
            arch_str = state.get("arch_str")
            results = state["all_results"]
            items = list(results.items())
        except (AttributeError, KeyError, TypeError):
            raise BenchmarkFileError(f"{where}: arch {index}, budget {budget}: expected "
                                     f"{_STATE_EXPECTED}") from None
        if arch_str is not None and arch_str != self.meta_archs[index]:
            raise BenchmarkFileError(f"{where}: arch {index} is {arch_str!r} but meta_archs "
                                     f"lists {self.meta_archs[index]!r} at that index")
        suffix = "" if budget == "200" else f"/{budget}ep"
        per_set: dict[str, list[float]] = {}
        for key, result in items:
            try:
                dataset, seed, finals, params, flops = _parse_result(key, result)
            except (KeyError, TypeError, ValueError, AttributeError):
                raise BenchmarkFileError(f"{where}: arch {index}, budget {budget}, result "
                                         f"{key!r}: expected {_STATE_EXPECTED}") from None
            wrong = _out_of_range(finals, params, flops)
            if wrong:
                raise BenchmarkFileError(f"{where}: arch {index}, budget {budget}, result "
                                         f"{key!r}: {wrong}")
            for eval_set, value in finals.items():
                metric = f"{dataset}/{eval_set}{suffix}"
                self._put(f"{metric}/seed{seed}", index, value)
                per_set.setdefault(metric, []).append(value)
            # The 200-epoch runs' sizes win; 12-epoch ones fill in datasets without them.
            if budget == "200" or np.isnan(self._get(f"params_m/{dataset}", index)):
                self._put(f"params_m/{dataset}", index, params)
                self._put(f"flops_m/{dataset}", index, flops)
        for metric, values in per_set.items():
            self._put(metric, index, float(np.mean(values)))

    def table(self, source: dict[str, Any]) -> GroundTruthTable:
        """The prepared table over the archs that were added, in benchmark-index order."""
        rows = np.flatnonzero(self.seen)
        if len(rows) == 0:
            raise BenchmarkFileError(f"{source.get('file')}: no architecture results were found")
        try:
            arch_ids = [ops_to_str(str_to_ops(self.meta_archs[i])) for i in rows]
        except ConfigError as exc:
            raise BenchmarkFileError(f"{source.get('file')}: 'meta_archs': {exc}") from None
        names = sorted(self.columns, key=_column_order)
        frame = pd.DataFrame({"index": rows.astype(np.int64),
                              **{name: self.columns[name][rows] for name in names}},
                             index=pd.Index(arch_ids, name="arch_id"))
        metrics = [MetricInfo(name, name.split("/")[0], True, _describe(name))
                   for name in names if not name.startswith(("params_m/", "flops_m/"))]
        table = GroundTruthTable(space=SPACE, frame=frame, metrics=metrics,
                                 default_metric=default_metrics(metrics), source=source)
        ranges = {name: NON_NEGATIVE if name.startswith(("params_m/", "flops_m/")) else PERCENT
                  for name in names}
        return validate_table(table, str(source.get("file")), {**ranges, "index": NON_NEGATIVE})


def _number(value: Any) -> float:
    """A stored number as a float; text and other types are not numbers here (TypeError)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{value!r} is not a number")
    return float(value)


def _parse_result(key: Any, result: Any) -> tuple[str, int, dict[str, float], float, float]:
    """``(dataset, seed, {eval set: final accuracy}, params, flops)`` of one training result."""
    dataset_name, seed = key
    final = str(int(_number(result["epochs"])) - 1)
    finals = {name.rpartition("@")[0]: _number(value)
              for name, value in result["eval_acc1es"].items()
              if name.rpartition("@")[2] == final}
    return (str(dataset_name).lower(), int(_number(seed)), finals, _number(result["params"]),
            _number(result["flop"]))


def _out_of_range(finals: dict[str, float], params: float, flops: float) -> str:
    """What is wrong with one result's numbers (the rules of ``validate_table``), or ''."""
    for eval_set, value in finals.items():
        if not (math.isnan(value) or PERCENT.low <= value <= PERCENT.high):
            return f"{eval_set} accuracy {value!r} is not {PERCENT.describe()} or NaN"
    for name, value in (("params", params), ("flop", flops)):
        if not (math.isnan(value) or 0 <= value < math.inf):
            return f"{name} {value!r} is not {NON_NEGATIVE.describe()} or NaN"
    return ""


def _column_order(name: str) -> tuple:
    parts = name.split("/")
    if parts[0] in ("params_m", "flops_m"):
        return (1, parts[0], _rank(parts[1], DATASET_ORDER))
    rest = parts[2:]
    budget = 1 if rest and rest[0] == "12ep" else 0
    seed = rest[-1] if rest and rest[-1].startswith("seed") else ""
    return (0, budget, seed != "", _rank(parts[0], DATASET_ORDER), _rank(parts[1], SET_ORDER),
            seed)


def _rank(value: str, order: tuple[str, ...]) -> tuple[int, str]:
    return (order.index(value) if value in order else len(order), value)


def _describe(metric: str) -> str:
    parts = metric.split("/")
    budget = "12" if "12ep" in parts else "200"
    seeds = next((p[4:] for p in parts if p.startswith("seed")), None)
    who = f"seed {seeds}" if seeds else "mean over the arch's seeds"
    return (f"{parts[1]} accuracy (%) of {parts[0]} models after {budget} epochs (final "
            f"epoch), {who}")


def default_metrics(metrics: list[MetricInfo]) -> dict[str, str]:
    """Per dataset: the documented default where present, else the dataset's first metric."""
    names = {m.name for m in metrics}
    chosen: dict[str, str] = {}
    for info in metrics:
        preferred = DEFAULT_METRICS.get(info.dataset)
        if info.dataset not in chosen:
            chosen[info.dataset] = preferred if preferred in names else info.name
    return chosen


def _check_meta(meta_archs: Any, where: str) -> list[str]:
    if not isinstance(meta_archs, list) or not all(isinstance(a, str) for a in meta_archs):
        raise BenchmarkFileError(f"{where}: 'meta_archs' should be a list of arch strings")
    if len(meta_archs) != NUM_ARCHS:
        raise BenchmarkFileError(f"{where}: 'meta_archs' lists {len(meta_archs)} archs, "
                                 f"expected {NUM_ARCHS}")
    return meta_archs


def _version(name: str) -> str:
    found = re.search(r"v\d+_\d+", name)
    return found.group(0) if found else "unknown"


def _source(kind: str, path: Path, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "file": path.name, "version": _version(path.name),
            "sha256": file_sha256(path), "reader": __name__, "ground_truth_rule": GROUND_TRUTH_RULE,
            **extra}


def _whole_file_table(data: Any, path: Path, kind: str) -> GroundTruthTable:
    """Tables from the one-object layouts (NB201 .pth, NATS single .pickle.pbz2)."""
    if not isinstance(data, Mapping) or "meta_archs" not in data or "arch2infos" not in data:
        found = (f"a dict with keys {sorted(map(str, data))[:6]}" if isinstance(data, Mapping)
                 else f"a {type(data).__name__}")
        raise BenchmarkFileError(f"{path}: expected a dict with 'meta_archs' and 'arch2infos' "
                                 f"(a NAS-Bench-201 .pth or NATS-tss .pickle.pbz2), found {found}")
    accumulator = TableAccumulator(_check_meta(data["meta_archs"], str(path)))
    infos = data["arch2infos"]
    if not isinstance(infos, Mapping):
        raise BenchmarkFileError(f"{path}: 'arch2infos' should map index -> budgets, found "
                                 f"{type(infos).__name__}")
    for index, budgets in infos.items():
        if not isinstance(index, int) or not 0 <= index < NUM_ARCHS:
            raise BenchmarkFileError(f"{path}: 'arch2infos' key {index!r} is not an index "
                                     f"0..{NUM_ARCHS - 1}")
        accumulator.add(index, budgets, str(path))
    return accumulator.table(_source(kind, path, archs=int(accumulator.seen.sum())))


def read_nb201_pth(path: Path) -> GroundTruthTable:
    """NAS-Bench-201 v1_0 / v1_1 ``.pth`` (legacy torch pickle stream or zip)."""
    return _whole_file_table(read_torch_file(path), path, "nb201-pth")


def read_nats_single(path: Path) -> GroundTruthTable:
    """NATS-Bench topology single file ``NATS-tss-v1_0-3ffb9.pickle.pbz2``."""
    return _whole_file_table(read_bz2_pickle(path), path, "nats-tss-single")


def _arch_files(folder: Path) -> dict[int, Path]:
    files: dict[int, Path] = {}
    for file in folder.iterdir():
        stem = file.name.removesuffix(".pickle.pbz2")
        if stem != file.name and stem.isdigit():
            index = int(stem)
            if index in files:
                raise BenchmarkFileError(f"{folder}: both {files[index].name} and {file.name} "
                                         f"hold arch {index}")
            files[index] = file
    return files


def iter_nats_folder(folder: Path) -> Iterator[tuple[int, Path, Any]]:
    """(index, file, budgets) for each per-arch file of a NATS simple folder, one at a time."""
    for index, file in sorted(_arch_files(folder).items()):
        yield index, file, read_bz2_pickle(file)


def read_nats_folder(folder: Path, *, allow_missing: bool = False) -> GroundTruthTable:
    """The ``NATS-tss-v1_0-3ffb9-simple/`` folder, streamed one per-arch file at a time.

    ``allow_missing``: make a table of the archs present instead of failing when per-arch files
    are missing (the count is recorded in the source).
    """
    meta_file = folder / "meta.pickle.pbz2"
    if not meta_file.is_file():
        raise BenchmarkFileError(f"{folder}: no meta.pickle.pbz2; expected the unpacked "
                                 f"NATS-tss-v1_0-3ffb9-simple folder (meta + NNNNNN.pickle.pbz2)")
    meta = read_bz2_pickle(meta_file)
    if not isinstance(meta, Mapping) or "meta_archs" not in meta:
        raise BenchmarkFileError(f"{meta_file}: expected a dict with 'meta_archs'")
    accumulator = TableAccumulator(_check_meta(meta["meta_archs"], str(meta_file)))
    files = _arch_files(folder)
    out_of_range = sorted(i for i in files if i >= NUM_ARCHS)
    if out_of_range:
        raise BenchmarkFileError(f"{folder}: file {files[out_of_range[0]].name} names index "
                                 f"{out_of_range[0]}, beyond the {NUM_ARCHS} archs of meta_archs")
    missing = NUM_ARCHS - len(files)
    if missing and not allow_missing:
        first = [f"{i:06d}.pickle.pbz2" for i in range(NUM_ARCHS) if i not in files][:3]
        raise BenchmarkFileError(f"{folder}: {missing} of {NUM_ARCHS} per-arch files are "
                                 f"missing (e.g. {', '.join(first)}); unpack the whole "
                                 f"NATS-tss-v1_0-3ffb9-simple.tar, or pass --allow-missing "
                                 f"(allow_missing=True) to use the archs present")
    for index, file, budgets in iter_nats_folder(folder):
        accumulator.add(index, budgets, str(file))
    return accumulator.table(_source("nats-tss-simple", folder, archs=len(files),
                                     missing_archs=missing))
