"""``harness study run``: every row of a study as ordinary trials of one run folder.

Each row becomes one ``RunConfig`` per space (so a space without data leaves the others to
run), planned and executed as ``harness compare`` would (``plan.plan_run``,
``execute.execute_plan``); the folder's history records each selection, so the same command
resumes and ``harness compare --out`` / ``harness report`` read the same trials. What each row
did (its selections, the trials it covers, why it was left out, CPU and wall seconds) goes to
``study.json`` beside ``run.json``; ``harness study report`` reads it.
"""

from __future__ import annotations

import fnmatch
import json
import os
import random
import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.config import RunConfig
from harness.errors import HarnessError, one_line
from harness.execute import execute_plan
from harness.plan import plan_run
from harness.selection import arch_list_lines, arch_list_text
from harness.study.spec import Row, Study

STUDY_FILE = "study.json"
# Where --max-samples writes the capped arch lists of rows that give one.
CAPPED_LISTS = "study_arch_lists"
FORMAT = "harness-study-run/1"
NO_SCORER_SELECTED = "none of its scorers selected (--scorers)"
NEEDS_GPU = "needs a GPU: run on one with --device cuda (this run is on the CPU)"


@dataclass
class SpaceOutcome:
    """One space of a row: ``status`` ``done``, ``interrupted`` or ``not run`` (``reason``);
    ``cells``: the (space, dataset, scorer, config hash, seed, weight init, bias init, batch
    size) of its trials; ``arch_ids``: the archs it selected."""

    space: str
    status: str
    reason: str = ""
    cells: list[list[Any]] = field(default_factory=list)
    arch_ids: list[str] = field(default_factory=list)
    n_trials: int = 0
    ran: int = 0


@dataclass
class RowOutcome:
    """What ``study run`` did with one row: its spaces, the ``--fast`` swaps it used, the CPU
    seconds it took (None unless its trials ran in this process, ``--workers 0``) and the wall
    seconds."""

    row: str
    fast: dict[str, str]
    spaces: list[SpaceOutcome]
    cpu_s: float | None = 0.0
    wall_s: float = 0.0


@dataclass(frozen=True)
class StudyRunOptions:
    """How a study runs: ``base`` (device, workers, executor, data dir, out...), ``fast``
    (use each row's cheaper scorers), ``max_samples`` (cap on archs per space, for a quick
    pass), ``rows``, ``spaces`` and ``scorers`` (shell patterns of the row names, spaces and
    scorers to run; a scorer pattern matches the row's name or its ``--fast`` swap),
    ``plan_only`` (plan every space and record what it would run, running nothing: the cells
    a time budget leaves out then say so)."""

    base: RunConfig
    fast: bool = False
    max_samples: int | None = None
    rows: str | None = None
    spaces: str | None = None
    scorers: str | None = None
    plan_only: bool = False

    def runs_space(self, space: str) -> bool:
        """Whether ``space`` is one of ``spaces`` (every space when None)."""
        return _matches(space, self.spaces)

    def row_scorers(self, row: Row) -> dict[str, str]:
        """The scorers of ``row`` this run computes, each -> the scorer that runs for it."""
        return {name: runs for name, runs in row_scorers(row, self.fast).items()
                if _matches(name, self.scorers) or _matches(runs, self.scorers)}


def _matches(name: str, patterns: str | None) -> bool:
    """Whether ``name`` matches one of the comma-separated shell ``patterns`` (None: all)."""
    chosen = [p.strip() for p in (patterns or "*").split(",") if p.strip()]
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in chosen)


def row_scorers(row: Row, fast: bool) -> dict[str, str]:
    """Each scorer of ``row`` -> the scorer that runs for it (its ``fast`` swap under
    ``--fast``, else itself)."""
    return {scorer: row.fast.get(scorer, scorer) if fast else scorer for scorer in row.scorers}


def _path(value: str | None, folder: Path) -> str | None:
    if value is None or Path(value).is_absolute():
        return value
    return str(folder / value)


def row_config(row: Row, space: str, folder: Path, options: StudyRunOptions) -> RunConfig:
    """The ``RunConfig`` of one space of ``row``: the row's selection (its scorers that
    ``options.scorers`` keeps) on ``options.base``."""
    swaps = options.row_scorers(row)
    samples = None if row.samples == "all" else row.samples
    if options.max_samples is not None:
        samples = min(samples or options.max_samples, options.max_samples)
    scorer_options = {swaps[name]: value for name, value in row.options.items() if name in swaps}
    arch_list = _path(row.arch_list, folder)
    if arch_list is not None and options.max_samples is not None:
        arch_list = _capped_arch_list(Path(arch_list), options.max_samples, row.sample_seed,
                                      options.base.run_dir() / CAPPED_LISTS / f"{row.name}.txt")
    return RunConfig(**{
        **options.base.to_dict(), "spaces": [space], "datasets": [row.dataset],
        "scorers": list(dict.fromkeys(swaps.values())), "samples": samples,
        "sample_seed": row.sample_seed, "arch_list": arch_list,
        "seeds": list(row.seeds), "images": _path(row.images, folder) or options.base.images,
        "options": scorer_options})


def _capped_arch_list(path: Path, cap: int, seed: int, out: Path) -> str:
    """``--max-samples`` on a row with an arch list: at most ``cap`` of its entries, drawn with
    the row's sample seed (file order kept), written to ``out`` in the run folder (the list
    the folder's record names). A list of one JSON array is kept whole."""
    entries = arch_list_lines(arch_list_text(path))
    if len(entries) <= cap or entries[0].startswith("["):
        return str(path)
    kept = sorted(random.Random(seed).sample(range(len(entries)), cap))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(entries[i] + "\n" for i in kept))
    return str(out)


def _cpu_s() -> float:
    """CPU seconds of this process and the children it waited for. Worker processes are
    children of the pool's fork server, never waited for here: only a run in this process
    (``--workers 0``) counts every trial's CPU time (``run_study`` records None otherwise)."""
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                         resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _run_space(row: Row, space: str, folder: Path, options: StudyRunOptions,
               command: list[str], progress: bool) -> tuple[SpaceOutcome, bool]:
    """Plan and run one space of ``row``; (its outcome, whether a signal stopped the run). A
    space without data is left out first, then a GPU row on a CPU run."""
    try:
        plan = plan_run(row_config(row, space, folder, options))
    except HarnessError as exc:
        return SpaceOutcome(space, "not run", f"data absent or refused: {one_line(exc)}"), False
    if row.gpu and options.base.device == "cpu":
        return SpaceOutcome(space, "not run", NEEDS_GPU), False
    if options.plan_only:
        return SpaceOutcome(space, "not run", f"over this run's time budget (--plan-only): "
                                              f"{len(plan.jobs)} trials planned"), False
    summary = execute_plan(plan, progress=progress, command=command, extend=True)
    cells = sorted({(t.space, t.dataset, t.scorer, t.scorer_config_hash, t.seed, t.weight_init,
                     t.bias_init, t.batch_size) for t in plan.trials})
    arch_ids = [arch for space_plan in plan.spaces for arch in space_plan.arch_ids]
    status = "interrupted" if summary.interrupted else "done"
    return SpaceOutcome(space, status, "", [list(cell) for cell in cells], arch_ids,
                        summary.total, summary.ran), summary.interrupted


def run_study(study: Study, folder: Path, options: StudyRunOptions, *,
              command: list[str], progress: bool = True,
              on_row: Callable[[RowOutcome], None] | None = None) -> tuple[Path, bool]:
    """Run the selected rows of ``study`` in ``options.base``'s run folder; (the folder,
    whether a signal stopped it). ``study.json`` is rewritten after every row, so an
    interrupted study keeps what its finished rows did."""
    run_dir = options.base.run_dir()
    outcomes = dict(_recorded_rows(run_dir, study))
    for row in study.selected_rows(options.rows):
        start_cpu, start_wall = _cpu_s(), time.perf_counter()
        outcome = RowOutcome(row.name, {k: v for k, v in row_scorers(row, options.fast).items()
                                        if k != v}, [])
        stopped = False
        for space in filter(options.runs_space, row.spaces):
            if row.why_not:
                outcome.spaces.append(SpaceOutcome(space, "not run", row.why_not))
            elif not options.row_scorers(row):
                outcome.spaces.append(SpaceOutcome(space, "not run", NO_SCORER_SELECTED))
            elif not stopped:
                space_outcome, stopped = _run_space(row, space, folder, options, command,
                                                    progress)
                outcome.spaces.append(space_outcome)
        outcome.cpu_s = _cpu_s() - start_cpu if options.base.workers == 0 else None
        outcome.wall_s = time.perf_counter() - start_wall
        outcomes[row.name] = _merged(outcomes.get(row.name), outcome)
        _write_record(run_dir, study, outcomes)
        if on_row is not None:
            on_row(outcome)
        if stopped:
            return run_dir, True
    return run_dir, False


def _merged(before: RowOutcome | None, now: RowOutcome) -> RowOutcome:
    """A row run again (a resume, or other ``--spaces``) keeps the spaces it did not run now
    and adds its seconds to those recorded, so a row's CPU time counts every session that
    computed its trials. A change of ``--fast`` starts the row's record afresh."""
    if before is None or before.fast != now.fast:
        return now
    earlier = {space.space: space for space in before.spaces}
    now.spaces = [*(s for s in before.spaces if s.space not in {n.space for n in now.spaces}),
                  *(_merged_space(earlier.get(s.space), s) for s in now.spaces)]
    known = before.cpu_s is not None and now.cpu_s is not None
    now.cpu_s = before.cpu_s + now.cpu_s if known else None
    now.wall_s += before.wall_s
    return now


def _merged_space(before: SpaceOutcome | None, now: SpaceOutcome) -> SpaceOutcome:
    """A space run again: a space ``now`` left out keeps what ran before; on the same archs the
    trial cells of both runs count (``--scorers`` runs a row's scorers in turns), else ``now``
    replaces ``before``."""
    if before is None or before.status == "not run":
        return now
    if now.status == "not run":
        return before
    if before.arch_ids != now.arch_ids:
        return now
    now_cells = {tuple(cell) for cell in now.cells}
    kept = [cell for cell in before.cells if tuple(cell) not in now_cells]
    # Every cell of a space covers the same archs: trials per cell are the same in both runs.
    kept_trials = before.n_trials * len(kept) // max(len(before.cells), 1)
    return SpaceOutcome(now.space, now.status, now.reason, sorted([*kept, *now.cells]),
                        now.arch_ids, kept_trials + now.n_trials, now.ran)


def _write_record(run_dir: Path, study: Study, outcomes: dict[str, RowOutcome]) -> None:
    document = {"format": FORMAT, "study": study.model_dump(),
                "rows": {name: asdict(outcome) for name, outcome in outcomes.items()}}
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / STUDY_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=1) + "\n")
    os.replace(tmp, path)


def read_record(run_dir: Path) -> tuple[Study, dict[str, RowOutcome]]:
    """The study and row outcomes ``study run`` recorded in ``run_dir``."""
    path = Path(run_dir) / STUDY_FILE
    try:
        document = json.loads(path.read_text())
        study = Study(**document["study"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise HarnessError(f"{path}: not a study run folder (`harness study run` writes "
                           f"{STUDY_FILE}): {one_line(exc)}") from None
    return study, {name: _outcome(entry) for name, entry in document["rows"].items()}


def _outcome(entry: dict[str, Any]) -> RowOutcome:
    spaces = [SpaceOutcome(**space) for space in entry.pop("spaces")]
    return RowOutcome(spaces=spaces, **entry)


def _recorded_rows(run_dir: Path, study: Study) -> dict[str, RowOutcome]:
    """The rows an earlier ``study run`` of the same study recorded in ``run_dir``."""
    if not (Path(run_dir) / STUDY_FILE).exists():
        return {}
    recorded_study, outcomes = read_record(run_dir)
    if recorded_study.name != study.name:
        raise HarnessError(f"{run_dir} holds study {recorded_study.name!r}, not "
                           f"{study.name!r}: give this study another --out")
    return outcomes
