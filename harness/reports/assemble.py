"""Assembles a ``Report``: joins a run's trials with its ground truth, one ``CorrelationRow``
per cell, then the tables (``harness.reports.tables``).

A cell is (space, trial dataset, ground-truth metric, scorer, config, seed, weight init,
bias init, batch size). Archs are ordered by ``arch_id`` before any metric is computed, so
retrieval ties are broken the same way on every machine (``harness.metrics``).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness import metrics
from harness.errors import ConfigError, HarnessError
from harness.reports.aggregates import (
    AggregateSpec,
    aggregate_trials,
    recorded_aggregates,
    resolve,
)
from harness.reports.records import (
    UNKNOWN,
    CellKey,
    CorrelationRow,
    GroundTruthUse,
    Provenance,
    Report,
)
from harness.reports.reference import paper_metrics
from harness.runfolder import RUN_CONFIG_FILE, read_run_record
from harness.store import (
    SCORING_COLUMNS,
    SPACE_DATASET_COLUMNS,
    STATUSES,
    TrialStore,
    load_trials,
)

MetricChoice = str | Mapping[str, str] | None
# Intervals by default where they matter: on 30 archs a Kendall tau's interval is about +-0.2
# wide, on thousands it is too narrow to change a reading (and Kendall's vectorised resamples
# stop paying off). 1,000 resamples of 30 archs cost ~0.04 CPU-s per cell (docs/reports.md).
DEFAULT_RESAMPLES = 1000
INTERVALS_BELOW_ARCHS = 300
PAIR_COLUMNS = (*SPACE_DATASET_COLUMNS, "metric", *SCORING_COLUMNS, "arch_id", "score", "truth",
                "status")


def parse_metric_choice(text: str | None) -> MetricChoice:
    """``"name"`` (every space) or ``"space=name,space/dataset=name2"`` from the CLI."""
    if not text:
        return None
    if "=" not in text:
        return text.strip()
    choice: dict[str, str] = {}
    for part in text.split(","):
        space, sep, name = part.partition("=")
        if not sep or not space.strip() or not name.strip():
            raise ConfigError(f"--metric {text!r}: write NAME or SPACE=NAME[,SPACE=NAME]")
        choice[space.strip()] = name.strip()
    return choice


def _history(run: dict[str, Any]) -> list[dict[str, Any]]:
    """``run.json``'s history: one entry per command that ran trials in the folder."""
    history = run.get("history")
    return [e for e in history if isinstance(e, dict)] if isinstance(history, list) else []


def run_value(run: dict[str, Any], key: str) -> Any:
    """``key`` of ``run.json``, at the top level or under its ``config``; None when absent.

    A selection field that ``--extend`` runs set differently reads as their values joined
    with `` + `` (every one of them is in the report)."""
    if key in run:
        return run[key]
    stated = [e["selection"][key] for e in _history(run)
              if isinstance(e.get("selection"), dict) and key in e["selection"]]
    distinct = list({json.dumps(v, sort_keys=True, default=str): v for v in stated}.values())
    if len(distinct) > 1:
        return " + ".join(str(v) for v in distinct)
    config = run.get("config")
    return config.get(key) if isinstance(config, dict) else None


def _command_text(run: dict[str, Any]) -> str:
    """Every command that ran trials in the folder (``run.json``'s history, joined with
    `` ; ``), else the last command recorded."""
    commands = [e.get("command") for e in _history(run)] or [run.get("command")]
    texts = [shlex.join(str(part) for part in command) if isinstance(command, list | tuple)
             else str(command) for command in commands if command]
    return " ; ".join(dict.fromkeys(texts)) or UNKNOWN


def _metrics_for(space: str, dataset: str, metric_table: pd.DataFrame, choice: MetricChoice,
                 notes: list[str]) -> list[tuple[str, str]]:
    """(metric, how it was chosen) pairs to score ``space``/``dataset`` against."""
    of_space = metric_table[metric_table.space == space]
    if isinstance(choice, Mapping):
        wanted = choice.get(f"{space}/{dataset}", choice.get(space))
    else:
        wanted = choice
    if wanted:
        if wanted in set(of_space.metric):
            return [(wanted, "--metric")]
        if isinstance(choice, Mapping):
            raise ConfigError(f"space {space!r} has no ground-truth metric {wanted!r}; known: "
                              f"{', '.join(sorted(of_space.metric)) or '(none stored)'}")
        notes.append(f"{space}: no metric {wanted!r}; used the default metric instead")
    of_dataset = of_space[of_space.dataset == dataset]
    defaults = of_dataset[of_dataset.is_default == 1]
    if len(defaults):
        return [(str(defaults.metric.iloc[0]), "default")]
    if len(of_dataset):
        notes.append(f"{space}/{dataset}: no default metric stored; used "
                     f"{of_dataset.metric.iloc[0]!r}, the first metric of the dataset")
        return [(str(of_dataset.metric.iloc[0]), "default")]
    notes.append(f"{space}/{dataset}: no ground truth stored for this dataset; its trials are "
                 f"not in any correlation")
    return []


def scorer_labels(trials: pd.DataFrame) -> dict[tuple[str, str], str]:
    """Each (scorer, config hash)'s label: the scorer's name, with the hash appended where one
    space holds several configs of the scorer (each space has its own hash of one config: its
    network options resolve per space)."""
    labels = {}
    for scorer, group in trials.groupby("scorer"):
        several = group.groupby("space").scorer_config_hash.nunique().max() > 1
        for config_hash in sorted(group.scorer_config_hash.unique()):
            labels[(scorer, config_hash)] = (f"{scorer}[{config_hash[:6]}]" if several
                                             else scorer)
    return labels


def _left_out_line(label: str, trials: pd.DataFrame) -> str | None:
    """One line saying how many of a scorer's trials gave no finite score and why (each status,
    with its most frequent message); None when every trial is ``ok``.

    Counted in archs where the scorer has one trial per arch, else in trials (seeds, inits).
    """
    failed = trials[trials.status != "ok"]
    if failed.empty:
        return None
    one_per_arch = not trials.duplicated(["space", "dataset", "arch_id"]).any()
    reasons = []
    for status in [s for s in STATUSES if s in set(failed.status)]:
        of_status = failed[failed.status == status]
        message = of_status.message.fillna("").mode().iloc[0]
        reasons.append(f"{len(of_status)} {status}" + (f" ({message})" if message else ""))
    return (f"{label}: {len(failed)} of {len(trials)} {'archs' if one_per_arch else 'trials'} "
            f"left out of the correlations: {', '.join(reasons)}")


def left_out_notes(trials: pd.DataFrame, labels: dict[tuple[str, str], str]) -> list[str]:
    """``_left_out_line`` for every scorer label (``scorer_labels``) with a trial that is not
    ``ok``: a bare n of 29 of 30 does not say what happened to the thirtieth arch."""
    label_of = [labels[key] for key in zip(trials.scorer, trials.scorer_config_hash,
                                           strict=True)]
    lines = (_left_out_line(label, group)
             for label, group in trials.assign(label=label_of).groupby("label", sort=True))
    return [line for line in lines if line]


def _mean_or_none(values: pd.Series) -> float | None:
    values = values.dropna()
    return float(values.mean()) if len(values) else None


def _row(key: CellKey, label: str, higher_is_better: bool, cell: pd.DataFrame,
         bootstrap: int, seed: int, top_ks: tuple[int, ...]) -> CorrelationRow:
    quality = metrics.evaluate(cell.score.to_numpy(float), cell.truth.to_numpy(float),
                               higher_is_better=higher_is_better, ks=top_ks,
                               bootstrap=bootstrap, seed=seed)
    ok = cell[cell.status == "ok"]
    counts = cell.status.value_counts()
    return CorrelationRow(
        key=key, scorer_label=label, higher_is_better=higher_is_better,
        n_trials=len(cell), quality=quality,
        wall_s_mean=_mean_or_none(ok.wall_s), peak_mem_mb_mean=_mean_or_none(ok.peak_mem_mb),
        status_counts={s: int(counts.get(s, 0)) for s in STATUSES if counts.get(s, 0)},
    )


def _cells(group: pd.DataFrame, truth: pd.DataFrame, metric_table: pd.DataFrame,
           metric_name: str, labels: dict[tuple[str, str], str], bootstrap: int,
           seed: int, top_ks: tuple[int, ...]) -> list[tuple[CorrelationRow, pd.DataFrame]]:
    """One (row, joined pairs) per scoring cell of ``group`` (one space and trial dataset),
    against the ground-truth column ``metric_name``."""
    space, dataset = group.space.iloc[0], group.dataset.iloc[0]
    info = metric_table[(metric_table.space == space)
                        & (metric_table.metric == metric_name)].iloc[0]
    values = truth[(truth.space == space) & (truth.metric == metric_name)]
    joined = group.merge(values[["arch_id", "value"]].rename(columns={"value": "truth"}),
                         on="arch_id", how="left").sort_values("arch_id", kind="stable")
    cells = []
    for key_values, cell in joined.groupby(list(SCORING_COLUMNS), sort=True):
        scoring = {name: value.item() if isinstance(value, np.generic) else value
                   for name, value in zip(SCORING_COLUMNS, key_values, strict=True)}
        key = CellKey(space, dataset, metric_name, **scoring)
        label = labels[(key.scorer, key.scorer_config_hash)]
        cells.append((_row(key, label, bool(info.higher_is_better), cell, bootstrap, seed,
                           top_ks),
                      cell.assign(metric=metric_name)[list(PAIR_COLUMNS)]))
    return cells


def _provenance(run: dict[str, Any], trials: pd.DataFrame,
                uses: list[GroundTruthUse]) -> Provenance:
    def distinct(column: str) -> list:
        if column not in trials or trials.empty:
            return []
        return sorted(trials[column].dropna().unique().tolist())

    created = distinct("created_at")
    return Provenance(
        command=_command_text(run), run_config=run,
        seeds=[int(s) for s in distinct("seed")], weight_inits=distinct("weight_init"),
        bias_inits=distinct("bias_init"), devices=distinct("device"),
        harness_versions=distinct("harness_version"), torch_versions=distinct("torch_version"),
        ground_truth=uses, created_first=created[0] if created else UNKNOWN,
        created_last=created[-1] if created else UNKNOWN)


def _with_aggregates(trials: pd.DataFrame, labels: dict[tuple[str, str], str],
                     run: dict[str, Any], asked: Sequence[str | AggregateSpec],
                     notes: list[str]) -> pd.DataFrame:
    """``trials`` and a row per arch and sample of each aggregate: those ``asked`` for and the
    registered ones the run's ``--scorers`` named, each with the aggregates inside it; ``labels``
    gains each aggregate's label."""
    from harness.registry import get_registry

    registry = get_registry()
    specs = list({nested.name: nested for spec in [*recorded_aggregates(run, registry),
                                                   *resolve(asked, registry)]
                  for nested in spec.with_inner_first()}.values())
    taken = set(labels.values())
    frames = [trials]
    for spec in specs:
        if spec.name in taken:
            raise ConfigError(f"aggregate {spec.name!r} is named like a scorer of the run; "
                              f"give it another name (NAME=SCORERS)")
        labels[(spec.name, spec.config_hash)] = spec.name
        frames.append(aggregate_trials(trials, labels, spec, notes))
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else trials



def default_resamples(trials: pd.DataFrame) -> int:
    """Bootstrap resamples when none are asked for: ``DEFAULT_RESAMPLES`` when every space and
    dataset of the run has fewer than ``INTERVALS_BELOW_ARCHS`` archs, else 0 (no intervals)."""
    archs = trials.groupby(list(SPACE_DATASET_COLUMNS)).arch_id.nunique()
    return DEFAULT_RESAMPLES if archs.max() < INTERVALS_BELOW_ARCHS else 0



def build_report(run_dir: Path | str, *, metric: MetricChoice = None,
                 bootstrap: int | None = None, seed: int = 0, paper: bool = False,
                 top_ks: tuple[int, ...] = metrics.TOP_K_ARCHS,
                 aggregates: Sequence[str | AggregateSpec] = ()) -> Report:
    """Read ``RUN_DIR/trials.sqlite`` (+ ``run.json``) and compute every row and table.

    :param metric: ground-truth metric: None = each dataset's default metric (as stored with
        the table), a name for every space that has it, or a mapping with keys ``space`` or
        ``space/dataset`` (the more specific key wins).
    :param bootstrap: resamples for 95 % intervals of Kendall and Spearman (0 = none; None =
        ``default_resamples``: intervals on runs of fewer than a few hundred archs).
    :param seed: seed of the bootstrap resampling.
    :param paper: add the table of published reference values with differences.
    :param top_ks: the K (archs) of the metrics that weigh the top (nDCG@K, precision@K, ...).
    :param aggregates: rank combinations to add as scorers (``harness.reports.aggregates``):
        registered aggregates' names or ``[NAME=]SCORERS[:METHOD]`` texts; the registered ones
        the run's ``--scorers`` named are added without asking.
    """
    from harness.reports.tables import all_tables

    run_dir = Path(run_dir)
    if isinstance(metric, str):
        metric = parse_metric_choice(metric)
    trials = load_trials(run_dir)
    with TrialStore.for_run(run_dir) as store:
        truth = store.ground_truth_frame()
        metric_table = store.ground_truth_metrics()
        sources = store.ground_truth_sources()
    if trials.empty:
        raise HarnessError(f"{run_dir} holds no trials yet; run `harness compare --out "
                           f"{run_dir}` first")
    if isinstance(metric, str) and metric not in set(metric_table.metric):
        raise ConfigError(f"no space of this run has a ground-truth metric {metric!r}; known: "
                          f"{', '.join(sorted(set(metric_table.metric))) or '(none stored)'}")
    if bootstrap is None:
        bootstrap = default_resamples(trials)
    run = read_run_record(run_dir)
    notes: list[str] = []
    if not run:
        notes.append(f"{run_dir / RUN_CONFIG_FILE} is missing or unreadable: the run's "
                     f"configuration is shown as unknown")
    trials = trials.assign(score=np.where(trials.status == "ok", trials.score, np.nan))
    labels = scorer_labels(trials)
    notes += left_out_notes(trials, labels)
    scored = _with_aggregates(trials, labels, run, aggregates, notes)
    rows: list[CorrelationRow] = []
    paper_rows: list[CorrelationRow] = []
    pair_frames: list[pd.DataFrame] = []
    uses: list[GroundTruthUse] = []
    for (space, dataset), group in scored.groupby(list(SPACE_DATASET_COLUMNS), sort=True):
        chosen = _metrics_for(space, dataset, metric_table, metric, notes)
        for metric_name, chosen_by in chosen:
            info = metric_table[(metric_table.space == space)
                                & (metric_table.metric == metric_name)].iloc[0]
            uses.append(GroundTruthUse(space, dataset, metric_name, bool(info.higher_is_better),
                                       str(info.description or ""), chosen_by,
                                       sources.get(space, {})))
            cells = _cells(group, truth, metric_table, metric_name, labels, bootstrap, seed,
                           top_ks)
            rows += [row for row, _ in cells]
            pair_frames += [pairs for _, pairs in cells]
        if paper:
            of_space = set(metric_table.metric[metric_table.space == space])
            for metric_name in [m for m in paper_metrics(space, dataset, of_space)
                                if m not in dict(chosen)]:
                cells = _cells(group, truth, metric_table, metric_name, labels, bootstrap,
                               seed, top_ks)
                paper_rows += [row for row, _ in cells]
    pairs = pd.concat(pair_frames, ignore_index=True) if pair_frames else pd.DataFrame()
    report = Report(run_dir=run_dir, provenance=_provenance(run, trials, uses), rows=rows,
                    tables=[], pairs=pairs, notes=notes, bootstrap=bootstrap, seed=seed)
    report.tables = all_tables(report, trials, paper=paper, paper_rows=paper_rows)
    return report

