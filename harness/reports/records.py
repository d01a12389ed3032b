"""The records a report is made of: one row per evaluated cell, tables, and the run's provenance.

Reporters (``harness.protocols.Reporter``) only read these; nothing here touches files.
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass, field, make_dataclass
from pathlib import Path
from typing import Any, get_type_hints

import pandas as pd

from harness.metrics import RETRIEVAL_TOPS, RankingQuality
from harness.store import SCORING_COLUMNS, SPACE_DATASET_COLUMNS, STATUSES, Trial

RETRIEVAL_PERCENTS: tuple[int, ...] = tuple(round(top * 100) for top in RETRIEVAL_TOPS)
UNKNOWN = "unknown"


def retrieval_name(percent: int) -> str:
    """Column name of retrieval rate@top-``percent`` %, e.g. ``retrieval@10``."""
    return f"retrieval@{percent}"


class _CellKeyMethods:
    """What one correlation is computed over: one set of trials joined with one ground truth.

    Its fields are the store's key (``store.Trial``) with the ground-truth ``metric`` in place
    of ``arch_id`` (a correlation runs over the archs), in that order, so a key field added to
    the store reaches every report and regression baseline.
    """

    @property
    def init(self) -> str:
        return f"{self.weight_init}/{self.bias_init}"

    def id(self) -> str:
        """A stable text id (used as the key of regression baselines): the fields, in order."""
        return "|".join(str(value) for value in astuple(self))


_CELL_KEY_TYPES = {**get_type_hints(Trial), "metric": str}
CellKey = make_dataclass(
    "CellKey", [(name, _CELL_KEY_TYPES[name]) for name in
                (*SPACE_DATASET_COLUMNS, "metric", *SCORING_COLUMNS)],
    bases=(_CellKeyMethods,), frozen=True,
    namespace={"__module__": __name__, "__doc__": _CellKeyMethods.__doc__})


def magnitude_interval(low: float, high: float) -> tuple[float, float]:
    """The interval of |x| for x in [low, high]: published correlations are magnitudes, so
    they are compared with this one (an interval across zero starts at zero). An undefined
    interval (NaN ends) stays undefined."""
    if math.isnan(low) or math.isnan(high) or low >= 0:
        return low, high
    if high <= 0:
        return -high, -low
    return 0.0, max(-low, high)


@dataclass(frozen=True)
class CorrelationRow:
    """The ranking quality and cost of one cell.

    ``scorer_label`` is the scorer name, with the config hash appended when the run holds
    several configs of that scorer. ``n_trials``: stored trials; ``quality``: every ranking
    metric of the cell's (score, truth) pairs (``harness.metrics.RankingQuality``: pairs used,
    exclusions, correlations, retrieval, intervals). ``wall_s_mean`` / ``peak_mem_mb_mean``:
    means over the cell's ``ok`` trials.
    """

    key: CellKey
    scorer_label: str
    higher_is_better: bool
    n_trials: int
    quality: RankingQuality
    wall_s_mean: float | None
    peak_mem_mb_mean: float | None
    status_counts: dict[str, int]

    @property
    def n(self) -> int:
        """Pairs correlated (finite score and truth)."""
        return self.quality.n

    @property
    def retrieval(self) -> dict[int, float]:
        """Retrieval rate by top percent (5, 10, ... 50)."""
        return {round(top * 100): rate for top, rate in self.quality.retrieval.items()}

    def value(self, statistic: str) -> float:
        """Statistic by name: kendall, spearman, pearson, abs_kendall, abs_spearman, retrieval@P,
        and the metrics that weigh the top (ndcg@K, precision@K, kendall_top@K, best_rank@K)."""
        if statistic in self.quality.at_k:
            return self.quality.at_k[statistic]
        if statistic.startswith("retrieval@"):
            return self.retrieval[int(statistic.split("@", 1)[1])]
        if statistic.startswith("abs_"):
            return abs(getattr(self.quality, statistic[4:]))
        return float(getattr(self.quality, statistic))

    def interval(self, statistic: str) -> tuple[float, float] | None:
        """The 95 % bootstrap interval of ``statistic`` (kendall, spearman, or their
        ``abs_`` magnitudes); None without one."""
        if statistic.startswith("abs_"):
            signed = self.interval(statistic[4:])
            return None if signed is None else magnitude_interval(*signed)
        return {"kendall": self.quality.kendall_interval,
                "spearman": self.quality.spearman_interval}.get(statistic)

    def flat(self) -> dict[str, Any]:
        """One flat record (the columns of ``correlations.csv``)."""
        quality = self.quality
        record: dict[str, Any] = {
            "space": self.key.space, "dataset": self.key.dataset, "metric": self.key.metric,
            "higher_is_better": self.higher_is_better, "scorer": self.key.scorer,
            "scorer_label": self.scorer_label, "scorer_config_hash": self.key.scorer_config_hash,
            "seed": self.key.seed, "weight_init": self.key.weight_init,
            "bias_init": self.key.bias_init, "batch_size": self.key.batch_size,
            "n_trials": self.n_trials, "n": quality.n, "n_excluded": quality.n_excluded,
            "n_no_truth": quality.n_no_truth, "kendall": quality.kendall,
            "spearman": quality.spearman, "abs_kendall": abs(quality.kendall),
            "abs_spearman": abs(quality.spearman), "pearson": quality.pearson,
            "kendall_worst": quality.kendall_worst, "spearman_worst": quality.spearman_worst,
        }
        for name in ("kendall", "spearman"):
            record[f"{name}_low"], record[f"{name}_high"] = self.interval(name) or (None, None)
        record.update({retrieval_name(p): rate for p, rate in self.retrieval.items()})
        record.update(quality.at_k)
        record["wall_s_mean"] = self.wall_s_mean
        record["peak_mem_mb_mean"] = self.peak_mem_mb_mean
        record.update({f"status_{s}": self.status_counts.get(s, 0) for s in STATUSES})
        return record


@dataclass(frozen=True)
class Cell:
    """One table entry: a number (with an optional interval) or a text such as ``OOM``.

    An ``int`` value is a count and prints without decimals; ``text``, when set, is what
    every format prints instead of the number.
    """

    value: float | int | None = None
    low: float | None = None
    high: float | None = None
    text: str | None = None
    count: int = 1  # how many cells were averaged into ``value``


@dataclass
class Table:
    """A report table: ``labels`` name the leading text columns, ``columns`` the ``Cell`` ones."""

    name: str
    title: str
    caption: str
    labels: list[str]
    columns: list[str]
    rows: list[tuple[list[str], list[Cell]]] = field(default_factory=list)
    digits: int = 3

    def cell(self, row_labels: list[str] | tuple[str, ...], column: str) -> Cell:
        """The cell at ``row_labels`` (all label values) and ``column`` (for tests and readers)."""
        for labels, cells in self.rows:
            if list(labels) == list(row_labels):
                return cells[self.columns.index(column)]
        raise KeyError(f"table {self.name!r} has no row {list(row_labels)}")


@dataclass
class GroundTruthUse:
    """Which ground truth a (space, dataset) was scored against, and where it came from."""

    space: str
    dataset: str
    metric: str
    higher_is_better: bool
    description: str
    chosen_by: str  # "default" or "--metric"
    source: dict[str, Any]


@dataclass
class Provenance:
    """What makes every number traceable: the run configuration and the store's own record."""

    command: str
    run_config: dict[str, Any]
    seeds: list[int]
    weight_inits: list[str]
    bias_inits: list[str]
    devices: list[str]
    harness_versions: list[str]
    torch_versions: list[str]
    ground_truth: list[GroundTruthUse]
    created_first: str
    created_last: str


@dataclass
class Report:
    """Everything a reporter writes: rows, paper tables, provenance, and the joined pairs.

    ``pairs`` has one row per (cell, arch): the key columns, ``arch_id``, ``score`` (NaN when
    the trial did not produce a finite score) and ``truth`` as stored (not negated); the plots
    read it. ``notes`` are remarks a reader must see (fallbacks, skipped datasets).
    """

    run_dir: Path
    provenance: Provenance
    rows: list[CorrelationRow]
    tables: list[Table]
    pairs: pd.DataFrame
    notes: list[str]
    bootstrap: int
    seed: int

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(f"report has no table {name!r}; it has "
                       f"{', '.join(t.name for t in self.tables)}")
