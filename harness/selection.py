"""Which spaces, trial datasets and archs a run covers: the selection half of planning.

``select_spaces`` loads each named space's ground truth (prepared under the data dir, else the
space's bundled table), keeps the datasets asked for, and samples archs with the sample seed
(or reads ``--arch-list``). It reads files and writes nothing.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config import RunConfig
from harness.errors import ConfigError, DataNotPreparedError
from harness.groundtruth.table import GroundTruthTable
from harness.protocols import ArchListSpace, BundledSpace
from harness.registry import Registry


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
                               _sample_archs(config, space, table)))
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
    names = registry.names("space") if config.spaces == ["all"] else config.spaces
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
        elif config.spaces == ["all"]:
            skipped[name] = reason
        else:
            raise DataNotPreparedError(reason)
    if not chosen:
        detail = "; ".join(f"{n}: {r}" for n, r in skipped.items()) or "no space is installed"
        raise DataNotPreparedError(f"nothing to run: no space has prepared ground truth ({detail})")
    return chosen, skipped


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

    A space may read its own formats (``harness.protocols.ArchListSpace``). Otherwise each
    line goes through ``space.parse_arch``; when a line does not parse, the whole file is read as
    a JSON list whose elements (strings, or encodings such as nested op-code lists) are parsed.
    """
    try:
        if isinstance(space, ArchListSpace):
            return list(space.read_arch_list(path))
        return _read_arch_lines(path, space)
    except RecursionError:
        raise ConfigError(f"--arch-list {path}: nested too deeply to be an arch list") from None


def _read_arch_lines(path: Path, space: Any) -> list[str]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--arch-list {path}: cannot read it ({exc})") from exc
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
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
