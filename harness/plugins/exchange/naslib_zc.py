"""``naslib-zc``: NASLib's precomputed zero-cost files (NAS-Bench-Suite-Zero, Krishnakumar et
al., NeurIPS 2022 Datasets and Benchmarks; github.com/automl/NASLib, ``naslib/data/zc_*.json``).

Layouts read and written (docs/naslib.md):

- NB-201 (``zc_nasbench201.json``): ``{dataset: {key: {"idx", "arch", "val_accuracy",
  PROXY: {"score", "time"}}}}``; the key is NASLib's op-index tuple (its op order: skip_connect,
  none, nor_conv_3x3, nor_conv_1x1, avg_pool_3x3; its edge order: 0-1, 0-2, 0-3, 1-2, 1-3, 2-3);
  ``idx`` is NASLib's own counter, not the benchmark index.
- NB-101 (``zc_nasbench101.json``): ``{"nasbench101": {dataset: {key: {"val_accuracy",
  PROXY: score}}}}``; the key is the raw 7x7 adjacency row-major then the 7 op codes, unpruned,
  so several keys can name one cell.

A file wrapped in NASLib space names (``{"nasbench201": {...}, "nasbench101": {...}}``) is read
too; without the wrapper the space is told by the keys' length. Each key goes through the
space's ``parse_arch`` (its NASLib encoding), each dataset through ``DATASETS``, each proxy
becomes the scorer ``naslib:NAME`` with NAME the harness's name of the proxy (``PROXIES``), and
``val_accuracy`` the scorer ``naslib:val_accuracy``, so the report checks the arch mapping
against the benchmark's own accuracies. Entries that name one cell after an earlier one
(NB-101's unpruned keys) are dropped, the first kept, and counted in a note.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, ExchangeFormatError
from harness.protocols import ExchangedScore, ExchangeRead, Space

PREFIX = "naslib:"
ACCURACY = "val_accuracy"
# Entry fields that are neither a proxy nor the accuracy.
NOT_SCORES = ("idx", "arch")
# NASLib's search-space names -> the harness's spaces.
SPACES = {"nasbench201": "nb201", "nasbench101": "nb101"}
# NASLib's dataset names -> the trial dataset of each space. NASLib's NB-201 "cifar10" scores
# are matched with the CIFAR-10 valid split's accuracies (NB-201's cifar10-valid).
DATASETS = {"nb201": {"cifar10": "cifar10-valid", "cifar100": "cifar100",
                      "ImageNet16-120": "imagenet16-120"},
            "nb101": {"cifar10": "cifar10"}}
# NASLib's proxy names that differ from the harness's scorer names (the others are the same:
# epe_nas, fisher, flops, grad_norm, grasp, l2_norm, params, plain, snip, synflow).
PROXIES = {"nwot": "naswot", "jacov": "jacob_cov"}
NASLIB_NAMES = {ours: theirs for theirs, ours in PROXIES.items()}
# Spaces whose file is wrapped in its NASLib name when written alone, as NASLib ships them.
WRAPPED = ("nb101",)


class NaslibZeroCost:
    """NASLib's zero-cost files, read into the harness's names and written back."""

    name = "naslib-zc"

    # -- reading ---------------------------------------------------------------------------
    def read(self, path: Path, *, space: Callable[[str], Space],
             datasets: dict[str, str | None] | None = None) -> ExchangeRead:
        document = _load(Path(path))
        read = ExchangeRead()
        for naslib_space, by_dataset in _by_space(document, path).items():
            space_name = SPACES[naslib_space]
            chosen = _chosen_datasets(by_dataset, space_name, space(space_name), datasets, path)
            for naslib_dataset, dataset in chosen.items():
                _read_dataset(by_dataset[naslib_dataset], naslib_dataset, space_name, dataset,
                              space(space_name), path, read)
        return read

    # -- writing ---------------------------------------------------------------------------
    def write(self, scores: Sequence[ExchangedScore], path: Path, *,
              space: Callable[[str], Space],
              truth: dict[tuple[str, str, str], float]) -> list[str]:
        notes: list[str] = []
        layout: dict[str, dict[str, dict[str, dict[str, Any]]]] = defaultdict(
            lambda: defaultdict(dict))
        left_out: dict[str, int] = defaultdict(int)
        keys: dict[tuple[str, str], str] = {}
        for item in sorted(scores, key=lambda s: (s.space, s.dataset, s.arch_id, s.scorer)):
            naslib_space = _naslib_name(SPACES, item.space)
            naslib_dataset = _naslib_name(DATASETS.get(item.space, {}), item.dataset)
            if naslib_space is None or naslib_dataset is None:
                left_out[f"{item.space}/{item.dataset}"] += 1
                continue
            if (item.space, item.arch_id) not in keys:
                keys[(item.space, item.arch_id)] = _key(space(item.space), item.arch_id)
            key = keys[(item.space, item.arch_id)]
            entry = layout[naslib_space][naslib_dataset].setdefault(key, _new_entry(item.space,
                                                                                    key))
            proxy = _proxy_name(item.scorer)
            if proxy == ACCURACY:
                entry[ACCURACY] = item.score
            elif item.space in WRAPPED:
                entry[proxy] = item.score
            else:
                entry[proxy] = {"score": item.score, "time": item.wall_s}
        for (space_name, dataset, arch_id), value in sorted(truth.items()):
            naslib_space = _naslib_name(SPACES, space_name)
            naslib_dataset = _naslib_name(DATASETS.get(space_name, {}), dataset)
            entries = layout.get(naslib_space or "", {}).get(naslib_dataset or "", {})
            key = keys.get((space_name, arch_id))
            if key in entries and ACCURACY not in entries[key] and math.isfinite(value):
                entries[key][ACCURACY] = value
        for cell, count in sorted(left_out.items()):
            notes.append(f"{cell}: NASLib's zero-cost files have no such space or dataset "
                         f"(they hold {_known_cells()}); {count} scores left out")
        if not layout:
            raise ExchangeFormatError(f"nothing to write to {path}: no score of the run is on "
                                      f"a space and dataset of NASLib's zero-cost files "
                                      f"({_known_cells()})")
        document: dict[str, Any]
        if len(layout) == 1:
            (naslib_space, by_dataset), = layout.items()
            wrapped = SPACES[naslib_space] in WRAPPED
            document = {naslib_space: by_dataset} if wrapped else dict(by_dataset)
        else:
            document = dict(layout)
        Path(path).write_text(json.dumps(document, indent=1, allow_nan=True) + "\n")
        return notes


def _load(path: Path) -> Any:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ExchangeFormatError(f"{path}: cannot read it ({exc})") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExchangeFormatError(
            f"{path}: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); a NASLib "
            f"zero-cost file is one JSON object") from None
    if not isinstance(document, dict) or not document:
        raise ExchangeFormatError(f"{path}: expected a JSON object of datasets (or of NASLib "
                                  f"space names: {', '.join(SPACES)}), got "
                                  f"{type(document).__name__}")
    return document


def _by_space(document: dict[str, Any], path: Path) -> dict[str, dict[str, Any]]:
    """{NASLib space name: {dataset: entries}}: the wrapper's, else told by the keys' length."""
    if set(document) <= set(SPACES):
        for naslib_space, by_dataset in document.items():
            _check_datasets(by_dataset, path, naslib_space)
        return document
    _check_datasets(document, path, None)
    first_key = next((key for entries in document.values() for key in entries), None)
    codes = _codes(first_key) if first_key is not None else None
    if codes is None:
        raise ExchangeFormatError(f"{path}: no entry keyed by a NASLib tuple such as "
                                  f"'(0, 2, 3, 2, 3, 1)'; first key: {first_key!r}")
    if len(codes) == 6:
        return {"nasbench201": document}
    if any(v * v + v == len(codes) for v in range(2, 8)):
        return {"nasbench101": document}
    raise ExchangeFormatError(f"{path}: key {first_key!r} has {len(codes)} numbers; NASLib's "
                              f"NB-201 keys have 6, its NB-101 keys 56 (7x7 bits + 7 op codes)")


def _check_datasets(by_dataset: Any, path: Path, naslib_space: str | None) -> None:
    where = f"{path}" + (f" ({naslib_space})" if naslib_space else "")
    if not isinstance(by_dataset, dict):
        raise ExchangeFormatError(f"{where}: expected an object of datasets, got "
                                  f"{type(by_dataset).__name__}")
    for dataset, entries in by_dataset.items():
        if not isinstance(entries, dict):
            raise ExchangeFormatError(f"{where}: dataset {dataset!r} holds "
                                      f"{type(entries).__name__}, not an object of archs")


def _codes(key: str) -> tuple[int, ...] | None:
    text = key.strip()
    if not (text.startswith("(") and text.endswith(")")):
        return None
    try:
        return tuple(int(part) for part in text[1:-1].split(",") if part.strip())
    except ValueError:
        return None


def _chosen_datasets(by_dataset: dict[str, Any], space_name: str, space: Space,
                     datasets: dict[str, str | None] | None, path: Path) -> dict[str, str]:
    """{the file's dataset: trial dataset} of the datasets to read; refuses unknown names."""
    known = DATASETS[space_name]
    if datasets is not None:
        missing = [name for name in datasets if name not in by_dataset]
        if missing:
            raise ExchangeFormatError(f"{path} has no dataset {missing[0]!r} for {space_name}; "
                                      f"its datasets: {', '.join(by_dataset)}")
    chosen = {}
    for naslib_dataset in by_dataset:
        if datasets is not None and naslib_dataset not in datasets:
            continue
        dataset = (datasets or {}).get(naslib_dataset) or known.get(naslib_dataset)
        if dataset is None:
            raise ExchangeFormatError(
                f"{path}: unknown NASLib dataset {naslib_dataset!r} for {space_name} (known: "
                f"{', '.join(known)}); map it to one of {space_name}'s datasets with "
                f"--dataset {naslib_dataset}=NAME, or leave it out with --dataset")
        if dataset not in space.datasets:
            raise ExchangeFormatError(
                f"{naslib_dataset}={dataset}: {space_name} has no dataset {dataset!r}; its "
                f"datasets: {', '.join(space.datasets)}")
        chosen[naslib_dataset] = dataset
    return chosen


def _read_dataset(entries: dict[str, Any], naslib_dataset: str, space_name: str, dataset: str,
                  space: Space, path: Path, read: ExchangeRead) -> None:
    """Append the scores of one dataset's entries to ``read``, first entry of each cell kept."""
    seen: dict[str, str] = {}
    dropped = 0
    missing: dict[str, int] = defaultdict(int)
    proxies: set[str] = set()
    where = f"{path.name} {naslib_dataset}"
    for key, entry in entries.items():
        if not isinstance(entry, dict):
            raise ExchangeFormatError(f"{where} {key}: expected an object of scores, got "
                                      f"{type(entry).__name__}")
        try:
            arch_id = space.parse_arch(_arch_text(space_name, key))
        except ConfigError as exc:
            raise ExchangeFormatError(f"{where}: key {key!r} is not a {space_name} arch "
                                      f"({exc})") from None
        if arch_id in seen:
            dropped += 1
            continue
        seen[arch_id] = key
        for field, value in entry.items():
            if field in NOT_SCORES:
                continue
            score, wall_s = _score(value, f"{where} {key} {field}")
            proxies.add(field)
            read.scores.append(ExchangedScore(space_name, dataset, arch_id, _scorer(field), score,
                                              wall_s, f"{path.name} {naslib_dataset} {key}"))
    for key in seen.values():
        for proxy in proxies - set(entries[key]):
            missing[proxy] += 1
    for proxy, count in sorted(missing.items()):
        read.notes.append(f"{space_name}/{dataset} ({where}): {proxy} missing from {count} of "
                          f"{len(seen)} archs")
    if dropped:
        read.notes.append(f"{space_name}/{dataset} ({where}): {dropped} of {len(entries)} "
                          f"entries name a cell an earlier entry already named (NASLib's keys "
                          f"are unpruned); kept the first of each, {len(seen)} archs")


def _arch_text(space_name: str, key: str) -> str:
    # NB-201's parse_arch reads a bare tuple as NASLib's too; the prefix says so explicitly.
    return f"naslib:{key}" if space_name == "nb201" else key


def _score(value: Any, where: str) -> tuple[float, float | None]:
    """(score, seconds) of a ``{"score", "time"}`` object or a bare number."""
    wall_s = None
    if isinstance(value, dict):
        if "score" not in value:
            raise ExchangeFormatError(f"{where}: expected {{\"score\": ..., \"time\": ...}} or a "
                                      f"number, got keys {sorted(value)}")
        wall_s = value.get("time")
        value = value["score"]
        if wall_s is not None and (isinstance(wall_s, bool)
                                   or not isinstance(wall_s, int | float)):
            raise ExchangeFormatError(f"{where}: time {wall_s!r} is not a number")
    if value is None:
        return math.nan, wall_s
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ExchangeFormatError(f"{where}: score {value!r} is not a number")
    return float(value), None if wall_s is None else float(wall_s)


def _scorer(field: str) -> str:
    return PREFIX + PROXIES.get(field, field)


def _proxy_name(scorer: str) -> str:
    """The NASLib field of a scorer: an imported ``naslib:NAME`` or one of the run's own."""
    name = scorer[len(PREFIX):] if scorer.startswith(PREFIX) else scorer
    return NASLIB_NAMES.get(name, name)


def _naslib_name(mapping: dict[str, str], ours: str) -> str | None:
    return next((theirs for theirs, name in mapping.items() if name == ours), None)


def _key(space: Space, arch_id: str) -> str:
    format_arch = getattr(space, "format_arch", None)
    if format_arch is None:
        raise ExchangeFormatError(f"space {space.name!r} cannot write its arch ids as NASLib "
                                  f"keys (it has no format_arch)")
    try:
        return str(format_arch(arch_id, "naslib"))
    except ConfigError as exc:
        raise ExchangeFormatError(f"{space.name} arch {arch_id!r}: no NASLib key ({exc})") \
            from None


def _new_entry(space_name: str, key: str) -> dict[str, Any]:
    return {} if space_name in WRAPPED else {"arch": key}


def _known_cells() -> str:
    return ", ".join(f"{space}/{dataset}" for space, names in DATASETS.items()
                     for dataset in names.values())
