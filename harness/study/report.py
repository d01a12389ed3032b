"""``harness study report``: the paper's cells, measured beside published, with a verdict each.

For every published value of every row (``study.published.targets``) and each ground-truth
column it is measured on, the cell's trials are the ones its row selected in that space
(``study.json``: the row's trial cells and archs), joined with the stored ground truth. A
registered aggregate named as a row's scorer (``az_nas``, ``vkdnw_agg``) is combined from its
parts' trials over the row's archs, as ``harness report`` combines it. The
measured value is the published statistic (|Kendall| ...), with a 95 % bootstrap interval
(percentile, resampling archs) for correlations and retrieval rates; the verdict is ``within
±0.03`` or ``outside`` by the difference, or ``not run`` with the reason the row recorded (data
absent, needs a GPU, not selected). A second table gives each row's trials, CPU and wall
seconds.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from harness import metrics
from harness.errors import ConfigError
from harness.names import split_names
from harness.registry import get_registry
from harness.reports.aggregates import (
    SAMPLE_COLUMNS,
    AggregateSpec,
    aggregate_trials,
    from_plugin,
)
from harness.reports.html import tables_page
from harness.reports.records import Cell, Table
from harness.reports.render import json_safe, latex, markdown, table_json
from harness.store import TrialStore, load_trials
from harness.study.published import Target, targets
from harness.study.run import RowOutcome, SpaceOutcome, read_record
from harness.study.spec import Study

TOLERANCE = 0.03
BOOTSTRAP_RESAMPLES = 1000
FORMATS = ("md", "html", "tex", "json")
REPORT_NAME = "study_report"
CELL_FIELDS = ("space", "dataset", "scorer", "scorer_config_hash", "seed", "weight_init",
               "bias_init", "batch_size")


class _RunData:
    """The run folder's trials and ground truth, read once."""

    def __init__(self, run_dir: Path) -> None:
        self.trials = load_trials(run_dir)
        with TrialStore.for_run(run_dir) as store:
            self.truth = store.ground_truth_frame()
            self.metrics = store.ground_truth_metrics()

    def default_column(self, space: str, dataset: str) -> str | None:
        found = self.metrics[(self.metrics.space == space) & (self.metrics.dataset == dataset)
                             & (self.metrics.is_default == 1)]
        return str(found.metric.iloc[0]) if len(found) else None

    def missing_column(self, space: str, column: str) -> str:
        """Why ``column`` cannot be measured in ``space`` (its stored ground truth lacks it),
        or ``""`` when it is there."""
        held = sorted(set(self.truth.metric[self.truth.space == space]))
        if column in held:
            return ""
        return (f"the {space} ground truth holds no column {column!r} (it holds "
                f"{', '.join(held) or 'none'}); prepare a table with that column")

    def pairs(self, space: SpaceOutcome, scorer: str, column: str | None) -> list[pd.DataFrame]:
        """The trials of each trial cell of ``scorer`` in ``space``'s recorded cells, over the
        archs it selected, joined with the ground-truth ``column`` (its ``value`` and
        ``higher_is_better``; None: the trials alone). For an aggregate: its value per arch and
        run seed, from its parts' cells."""
        spec = aggregate_named(scorer)
        frames = (self._cell_trials(space, scorer) if spec is None
                  else self._aggregated(space, spec))
        if column is None:
            return frames
        truth = self.truth[(self.truth.space == space.space) & (self.truth.metric == column)]
        return [frame.merge(truth[["arch_id", "value", "higher_is_better"]], on="arch_id")
                for frame in frames]

    def _cell_trials(self, space: SpaceOutcome, scorer: str) -> list[pd.DataFrame]:
        """One frame per recorded trial cell of ``scorer``: its trials on the space's archs,
        scores NaN where the trial is not ok."""
        cells = [dict(zip(CELL_FIELDS, cell, strict=True)) for cell in space.cells]
        frames = []
        for cell in (c for c in cells if c["scorer"] == scorer):
            mask = np.ones(len(self.trials), dtype=bool)
            for name, value in cell.items():
                mask &= (self.trials[name] == value).to_numpy()
            chosen = self.trials[mask & self.trials.arch_id.isin(space.arch_ids).to_numpy()]
            scores = chosen.assign(score=np.where(chosen.status == "ok", chosen.score, np.nan))
            frames.append(scores.sort_values("arch_id", kind="stable"))
        return frames

    def _aggregated(self, space: SpaceOutcome, spec: AggregateSpec) -> list[pd.DataFrame]:
        """``spec`` over the space's archs, one frame per sample (run seed and inits, as
        ``aggregate_trials`` combines them); an arch without a trial of every part is left out,
        as ``harness report`` leaves it out."""
        parts = [frame for leaf in spec.leaves() for frame in self._cell_trials(space, leaf)]
        if not parts:
            return []
        trials = pd.concat(parts, ignore_index=True)
        labels = {(scorer, config): scorer for scorer, config in
                  zip(trials.scorer, trials.scorer_config_hash, strict=True)}
        combined = aggregate_trials(trials, labels, spec, notes=[])
        combined = combined.assign(message="")
        return [frame.sort_values("arch_id", kind="stable")
                for _, frame in combined.groupby(list(SAMPLE_COLUMNS), sort=True)]


@functools.cache
def aggregate_named(name: str) -> AggregateSpec | None:
    """The registered aggregate ``name`` (with its inner ones), or None for a scorer."""
    registry = get_registry()
    if name not in registry.names("aggregate"):
        return None
    return from_plugin(registry.get("aggregate", name), registry)


def _measure(frames: list[pd.DataFrame], statistic: str) -> tuple[Cell, int]:
    """(the statistic's mean over the cells, with its 95 % interval when there is one cell and
    the statistic is a correlation; pairs correlated in the first cell)."""
    values, interval, n = [], None, 0
    for frame in frames:
        if frame.empty:
            continue
        correlation = statistic.removeprefix("abs_")
        quality = metrics.evaluate(
            frame.score.to_numpy(float), frame.value.to_numpy(float),
            higher_is_better=bool(frame.higher_is_better.iloc[0]),
            bootstrap=BOOTSTRAP_RESAMPLES if correlation in ("kendall", "spearman") else 0)
        n = n or quality.n
        if statistic.startswith("retrieval@"):
            top = int(statistic.split("@")[1]) / 100
            values.append(quality.retrieval[top])
            interval = _retrieval_interval(frame, top)
            continue
        value = getattr(quality, correlation)
        low, high = getattr(quality, f"{correlation}_interval")
        if statistic.startswith("abs_") and value < 0:
            value, low, high = -value, -high, -low
        values.append(value)
        interval = (low, high)
    if not values or n == 0:
        return Cell(), 0
    low, high = interval if interval and len(values) == 1 else (None, None)
    return Cell(value=float(np.mean(values)), low=low, high=high, count=len(values)), n


def _retrieval_interval(frame: pd.DataFrame, top: float) -> tuple[float, float]:
    """95 % bootstrap interval of the retrieval rate of the ``top`` fraction: at the papers' n
    (1,000 archs, K = 100) it is 0.15-0.20 wide, far wider than the verdict's ±0.03."""
    sign = 1.0 if bool(frame.higher_is_better.iloc[0]) else -1.0
    return metrics.bootstrap_interval(
        frame.score.to_numpy(float), sign * frame.value.to_numpy(float),
        functools.partial(metrics.retrieval_rate, top=top), resamples=BOOTSTRAP_RESAMPLES)


def _failures(frames: list[pd.DataFrame]) -> str:
    """``"all 6 trials failed: DatasetError: ..."`` when the cells hold trials but none ok."""
    stored = pd.concat(frames) if frames else pd.DataFrame()
    if stored.empty or (stored.status == "ok").any():
        return ""
    return f"all {len(stored)} trials failed: {stored.message.iloc[0]}"


def _verdict(target: Target, space: SpaceOutcome | None, ran_as: str, measured: Cell, n: int,
             failures: str = "") -> str:
    if space is None:
        return "not run: row not selected in this run (--rows)"
    if space.status == "not run":
        return f"not run: {space.reason}"
    if failures:
        return f"not run: {failures}"
    spec = aggregate_named(ran_as)
    needed = spec.leaves() if spec is not None else (ran_as,)
    if not all(any(cell[2] == name for cell in space.cells) for name in needed):
        return "not run: scorer not selected in this run (--scorers)"
    if n == 0:
        return "not run: no finished trial (run the same command again to resume)"
    if target.reference is None:
        return "measured (no published value in the study)"
    gap = abs(measured.value - target.reference.value)
    verdict = f"within ±{TOLERANCE}" if gap <= TOLERANCE + 1e-9 else "outside"
    return verdict + (" (interrupted)" if space.status == "interrupted" else "")


def _line(target: Target, space: SpaceOutcome | None, ran_as: str, column: str,
          data: _RunData | None) -> tuple[list[str], list[Cell]]:
    """One table line: the target's labels, then published, measured (with its interval),
    difference, n, the published n and the verdict."""
    frames = (data.pairs(space, ran_as, column)
              if data is not None and space is not None and space.cells else [])
    measured, n = _measure(frames, target.statistic)
    failures = _failures(frames)
    if not failures and frames and data is not None and column != "default":
        failures = data.missing_column(target.space, column)
    ref = target.reference
    labels = [target.row, target.space, target.scorer, target.statistic,
              f"{ref.source} {ref.table}" if ref else "none", column,
              ran_as if ran_as != target.scorer else ""]
    published = Cell(value=ref.value) if ref else Cell()
    difference = Cell(value=measured.value - ref.value) if ref and n else Cell()
    return labels, [published, measured, difference, Cell(value=n),
                    Cell(value=ref.n_archs) if ref else Cell(),
                    Cell(text=_verdict(target, space, ran_as, measured, n, failures))]


def cells_table(study: Study, outcomes: dict[str, RowOutcome], data: _RunData | None) -> Table:
    """Measured beside published for every published value of every row, per column."""
    table = Table(
        name="study", title=f"{study.title}: measured beside published",
        caption=(f"measured = the published statistic on the row's archs (|.| where the source "
                 f"published absolute values) with its 95 % bootstrap interval "
                 f"({BOOTSTRAP_RESAMPLES} resamples); difference = measured - published; "
                 f"verdict: within ±{TOLERANCE}, outside, or not run and why; column = the "
                 f"ground-truth column measured on (the source's, else each candidate); ran as "
                 f"= the cheaper scorer --fast used in its place. {study.paper}").strip(),
        labels=["row", "space", "scorer", "statistic", "source", "column", "ran as"],
        columns=["published", "measured", "difference", "n", "n_published", "verdict"])
    for row in study.rows:
        outcome = outcomes.get(row.name)
        spaces = {s.space: s for s in outcome.spaces} if outcome else {}
        fast = outcome.fast if outcome else {}
        for target in targets(row):
            columns = list(target.columns) or [
                (data.default_column(target.space, row.dataset) if data else None) or "default"]
            for column in columns:
                table.rows.append(_line(target, spaces.get(target.space),
                                        fast.get(target.scorer, target.scorer), column, data))
    return table


def rows_table(study: Study, outcomes: dict[str, RowOutcome], data: _RunData | None) -> Table:
    """Each row's spaces run / not run, trials, the wall and CPU seconds its trials took, and
    the CPU and wall seconds of the runs that computed it."""
    table = Table(name="study_rows", title="Rows: trials and cost",
                  caption="trial_s = the stored trials' own seconds, summed (wall time of each "
                          "trial in its worker); trial_cpu_h = the CPU hours the trials' worker "
                          "processes spent on them, summed over the trials that recorded it "
                          "(stores since schema version 3); cpu_s = CPU seconds of the harness "
                          "while the row ran, trials included when they ran in its process "
                          "(--workers 0), else empty; wall_s = wall seconds of the runs; both "
                          "summed over resumed sessions",
                  labels=["row", "status"],
                  columns=["spaces_run", "trials", "trial_s", "trial_cpu_h", "cpu_s", "wall_s"])
    for row in study.rows:
        outcome = outcomes.get(row.name)
        if outcome is None:
            table.rows.append(([row.name, "not selected"], [Cell()] * len(table.columns)))
            continue
        reasons = sorted({s.reason for s in outcome.spaces if s.status == "not run"})
        done = [s for s in outcome.spaces if s.status != "not run"]
        status = "; ".join(["run"] * bool(done) + [f"not run: {r}" for r in reasons])
        frames = [frame for space in done for scorer in {cell[2] for cell in space.cells}
                  for frame in data.pairs(space, scorer, None)] if data else []
        trial_s = sum(float(frame.wall_s.sum()) for frame in frames)
        cpu = pd.concat([frame.cpu_s for frame in frames]) if frames else pd.Series(dtype=float)
        trial_cpu_h = float(cpu.sum()) / 3600 if cpu.notna().any() else None
        table.rows.append(([row.name, status], [
            Cell(value=len(done)), Cell(value=sum(s.n_trials for s in done)),
            Cell(value=trial_s), Cell(value=trial_cpu_h), Cell(value=outcome.cpu_s),
            Cell(value=outcome.wall_s)]))
    return table


def build_study_report(run_dir: Path | str) -> tuple[Study, list[Table]]:
    """The study recorded in ``run_dir`` and its two tables."""
    run_dir = Path(run_dir)
    study, outcomes = read_record(run_dir)
    has_trials = any(space.cells for outcome in outcomes.values() for space in outcome.spaces)
    data = _RunData(run_dir) if has_trials else None
    return study, [cells_table(study, outcomes, data), rows_table(study, outcomes, data)]


def write_study_report(run_dir: Path | str, formats: Iterable[str] | str = FORMATS,
                       out: Path | str | None = None) -> list[Path]:
    """Write the study report as ``study_report.{md,html,tex,json}`` in ``out`` (default: the
    run folder); returns the files written."""
    formats = split_names(formats) if isinstance(formats, str) else list(formats)
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ConfigError(f"--format {','.join(unknown)}: give any of {', '.join(FORMATS)}")
    study, tables = build_study_report(run_dir)
    folder = Path(out) if out else Path(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    texts = {
        "md": lambda: f"# {study.title}\n\n" + "\n".join(markdown(t) for t in tables),
        "tex": lambda: "\n".join(latex(t) for t in tables),
        "json": lambda: json.dumps(json_safe({"format": "harness-study-report/1",
                                              "study": study.name,
                                              "tables": [table_json(t) for t in tables]}),
                                   indent=1) + "\n",
        "html": lambda: tables_page(study.title, tables, [],
                                    [("study", study.name), ("run folder", str(run_dir)),
                                     ("paper", study.paper)]),
    }
    written = []
    for name in dict.fromkeys(formats):
        path = folder / f"{REPORT_NAME}.{name}"
        path.write_text(texts[name]())
        written.append(path)
    return written
