"""Which spaces, trial datasets and archs a run covers: the selection half of planning.

``select_spaces`` loads each named space's ground truth (prepared under the data dir, else the
space's bundled table), keeps the datasets asked for, and samples archs with the sample seed
(or reads ``--arch-list``). It reads files and writes nothing.
"""

from __future__ import annotations

import fnmatch
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from harness.config import RunConfig
from harness.errors import ConfigError, DataNotPreparedError
from harness.groundtruth.table import GroundTruthTable
from harness.protocols import BundledSpace
from harness.registry import Registry


@runtime_checkable
class ArchListSpace(Protocol):
    """Optional: a space that reads ``--arch-list`` files itself (default: one arch a line
    through ``parse_arch``, or one JSON list)."""

    def read_arch_list(self, path: Path) -> list[str]:
        """The canonical arch ids listed in ``path``."""


@dataclass
class SpacePlan:
    """One selected space: its ground truth, the trial datasets and the sampled archs."""

    name: str
    table: GroundTruthTable
    bundled: bool
    datasets: list[str]
    arch_ids: list[str]



def select_spaces(config: RunConfig, registry: Registry, data_dir: Path,
                  notes: list[str]) -> tuple[list[SpacePlan], dict[str, str]]:
    """The selected spaces with their datasets and archs, and the skipped spaces with why."""
    chosen, skipped = _select_spaces(config, registry, data_dir, notes)
    if config.arch_list and len(chosen) > 1:
        raise ConfigError("--arch-list names archs of one space; select one space with --spaces")
    plans: list[SpacePlan] = []
    for space, table, bundled in chosen:
        datasets = _trial_datasets(config, table)
        if not datasets:
            notes.append(f"{space.name}: none of the datasets {config.datasets} has ground "
                         f"truth (it has {', '.join(table.datasets)}); skipped")
            continue
        plans.append(SpacePlan(space.name, table, bundled, datasets,
                               _sample_archs(config, space, _rows_with_ground_truth(
                                   space.name, table, datasets, notes))))
    if config.datasets not in (None, ["all"]):
        used = {dataset for plan in plans for dataset in plan.datasets}
        for dataset in config.datasets:
            if dataset not in used:
                raise ConfigError(f"--datasets {dataset!r}: no selected space has ground truth "
                                  f"for it")
    return plans, skipped


def _select_spaces(config: RunConfig, registry: Registry, data_dir: Path,
                   notes: list[str]) -> tuple[list[tuple[Any, GroundTruthTable, bool]],
                                              dict[str, str]]:
    """(space, table, bundled) per selected space, and the skipped spaces with the reason."""
    names = space_names(config.spaces, registry)
    exact = set(config.spaces) & set(registry.names("space"))
    chosen: list[tuple[Any, GroundTruthTable, bool]] = []
    missing: dict[str, tuple[Any, str]] = {}
    for name in names:
        space = registry.get("space", name)
        try:
            chosen.append((space, space.ground_truth(data_dir), False))
        except (DataNotPreparedError, FileNotFoundError) as exc:
            missing[name] = (space, str(exc) or prepare_command(name))
    skipped: dict[str, str] = {}
    use_bundled = config.spaces != ["all"] or not chosen
    for name, (space, reason) in missing.items():
        bundled = space.bundled_ground_truth() if (
            use_bundled and isinstance(space, BundledSpace)) else None
        if bundled is not None:
            chosen.append((space, bundled, True))
            notes.append(f"{name}: no prepared ground truth under {data_dir}; using the "
                         f"ground truth bundled with the package ({len(bundled.frame)} archs; "
                         f"{', '.join(bundled.datasets)})")
        elif name not in exact:  # chosen by "all", a family name or a glob
            skipped[name] = reason
        else:
            raise DataNotPreparedError(reason)
    if not chosen:
        detail = "; ".join(f"{n}: {r}" for n, r in skipped.items()) or "no space is installed"
        raise DataNotPreparedError(f"nothing to run: no space has prepared ground truth ({detail})")
    return chosen, skipped


def space_names(requested: list[str], registry: Registry) -> list[str]:
    """The registered spaces a ``--spaces`` list selects, in order, without repeats.

    Each entry is ``all``, a space name, a glob (``nds-dar*``) or a family name: ``nds`` selects
    every space named ``nds-...``. An entry that matches nothing is an ``UnknownPluginError``
    listing the known names. Spaces chosen by ``all``, a glob or a family are skipped (with the
    reason) when they have no ground truth; a space named exactly must have it.
    """
    known = registry.names("space")
    if requested == ["all"]:
        return known
    chosen: list[str] = []
    for name in requested:
        if name in known:
            chosen.append(name)
            continue
        pattern = name if any(char in name for char in "*?[") else f"{name}-*"
        matches = [space for space in known if fnmatch.fnmatchcase(space, pattern)]
        if not matches:
            registry.get("space", name)  # raises, naming the known spaces
        chosen += matches
    return list(dict.fromkeys(chosen))


def _rows_with_ground_truth(name: str, table: GroundTruthTable, datasets: list[str],
                            notes: list[str]) -> GroundTruthTable:
    """``table`` without the archs that have no default metric value for any of ``datasets``
    (a space whose table holds several sweeps, or records whose training diverged), counted
    in a note; the table itself when every arch has one."""
    metrics = [table.default_metric[d] for d in datasets if d in table.default_metric]
    if not metrics:
        return table
    has_value = table.frame[metrics].notna().any(axis=1)
    if bool(has_value.all()):
        return table
    left_out = int((~has_value).sum())
    notes.append(f"{name}: {left_out} of {len(has_value)} archs have no ground truth for "
                 f"{', '.join(datasets)} (another sweep's records, or a diverged training run) "
                 f"and are left out")
    return GroundTruthTable(table.space, table.frame[has_value], table.metrics,
                            table.default_metric, table.source)


def prepare_command(space: str) -> str:
    """The generic command that prepares ``space``'s ground truth."""
    return f"harness data prepare {space} --source PATH"


def _trial_datasets(config: RunConfig, table: GroundTruthTable) -> list[str]:
    if config.datasets is None:
        return table.datasets[:1]
    if config.datasets == ["all"]:
        return table.datasets
    return [d for d in config.datasets if d in table.datasets]


def read_arch_list(path: Path, space: Any) -> list[str]:
    """Arch ids of an ``--arch-list`` file: one arch per line (``#`` comments), or one JSON list.

    A space may read its own formats (``harness.selection.ArchListSpace``). Otherwise each
    line goes through ``space.parse_arch``; when a line does not parse, the whole file is read as
    a JSON list whose elements (strings, or encodings such as nested op-code lists) are parsed.
    """
    try:
        if isinstance(space, ArchListSpace):
            return list(space.read_arch_list(path))
        return _read_arch_lines(path, space)
    except RecursionError:
        raise ConfigError(f"--arch-list {path}: nested too deeply to be an arch list") from None


def arch_list_text(path: Path) -> str:
    """The text of an ``--arch-list`` file; a ``ConfigError`` naming it when it cannot be read."""
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--arch-list {path}: cannot read it ({exc})") from exc


def arch_list_lines(text: str) -> list[str]:
    """The entries of an arch list's text: its non-blank lines that are not ``#`` comments."""
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _read_arch_lines(path: Path, space: Any) -> list[str]:
    text = arch_list_text(path)
    lines = arch_list_lines(text)
    try:
        return [space.parse_arch(line) for line in lines]
    except ConfigError as line_error:
        try:
            entries = json.loads(text)
        except json.JSONDecodeError:
            raise line_error from None
        if not isinstance(entries, list):
            raise line_error from None
        return [space.parse_arch(entry if isinstance(entry, str) else json.dumps(entry))
                for entry in entries]


def _sample_archs(config: RunConfig, space: Any, table: GroundTruthTable) -> list[str]:
    if config.arch_list:
        return list(dict.fromkeys(read_arch_list(Path(config.arch_list), space)))
    index = [str(arch) for arch in table.frame.index]
    if config.samples is None or config.samples >= len(index):
        return index
    if config.samples < 1:
        raise ConfigError(f"--samples must be at least 1, got {config.samples}")
    return random.Random(config.sample_seed).sample(index, config.samples)
