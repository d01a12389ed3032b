"""Published reference values (``reference_values.json``) and the ``--paper`` comparison table.

The data file transcribes the GenNAS appendix tables (Li et al., NeurIPS 2021) and the notebook
numbers of github.com/SamsungLabs/zero-cost-nas, with their citations. A measured cell matches a
published value when its space, dataset and scorer names equal the published ones (or a listed
alias) after lower-casing and dropping everything but letters and digits, and when its
ground-truth column is one the published value was computed on. The file also holds published
search results (``published_searches``), which ``harness search --paper`` puts beside its own.

Sources correlated against different columns (zero-cost-nas: the NB-201 test accuracy of the
``cifar10-valid`` run; GenNAS: not stated), and the choice moves a correlation by up to 0.05.
So each published value records its column (``metric``; None = the source does not say):
a stated column is compared only with a measurement on that column; an unstated one with a
measurement on each listed candidate column (validation and test accuracy) the run's ground
truth has, and the table says which candidate lands closer.
Published correlations are absolute values, so the comparison uses |measured|.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from harness.reports.records import Cell, CorrelationRow, Table

DATA_FILE = "reference_values.json"


@dataclass(frozen=True)
class Reference:
    """One published number and where it comes from."""

    source: str
    citation: str
    table: str
    statistic: str
    space: str
    dataset: str
    scorer: str
    n_archs: int
    value: float
    note: str
    metric: str | None  # the ground-truth column the source used; None = not stated
    metric_evidence: str

    @property
    def columns(self) -> list[str]:
        """Columns to measure this value on: the stated one, else the listed candidates for its
        space and dataset; [] = none listed (the run's own column is used)."""
        if self.metric:
            return [self.metric]
        return list(_data()["candidate_metrics"].get(self.space, {}).get(self.dataset, []))


def _normalize(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


@cache
def _data() -> dict[str, Any]:
    return json.loads(resources.files("harness.reports").joinpath(DATA_FILE).read_text("utf-8"))


def references() -> list[Reference]:
    """Every published value of the data file, one record each (missing cells left out)."""
    data = _data()
    found = []
    for table in data["tables"]:
        for row in table["rows"]:
            for scorer, value in zip(table["columns"], row["values"], strict=True):
                if value is None:
                    continue
                found.append(Reference(
                    source=table["source"], citation=data["sources"][table["source"]],
                    table=table["table"], statistic=table["statistic"], space=row["space"],
                    dataset=row["dataset"], scorer=scorer, n_archs=row["n_archs"],
                    value=float(value), note=table["note"], metric=row["metric"],
                    metric_evidence=table["metric_evidence"]))
    return found



@dataclass(frozen=True)
class PublishedSearch:
    """A search result a paper published: the ground truth of the arch a searcher picked with a
    scorer as fitness, (mean, std) over ``runs`` per benchmark metric."""

    label: str
    citation: str
    space: str
    fitness: str
    searcher: str
    runs: int
    distinct_evaluations: int
    values: dict[str, tuple[float, float]]


def published_searches(space: str) -> list[PublishedSearch]:
    """The published search results on ``space`` (names matched as for correlations)."""
    data = _data()
    return [PublishedSearch(
        label=entry["label"], citation=data["sources"][entry["source"]], space=entry["space"],
        fitness=entry["fitness"], searcher=entry["searcher"], runs=entry["runs"],
        distinct_evaluations=entry["distinct_evaluations"],
        values={metric: (mean, std) for metric, (mean, std) in entry["values"].items()})
        for entry in data.get("searches", []) if matches("space", entry["space"], space)]


def _names(kind: str, name: str) -> set[str]:
    aliases = _data()["aliases"].get(kind, {}).get(name, [])
    return {_normalize(n) for n in (name, *aliases)}


def matches(kind: str, published: str, measured: str) -> bool:
    """Whether a measured ``kind`` name (space, dataset, scorer) is the published one or one of
    its aliases, compared lower-cased with only letters and digits."""
    return _normalize(measured) in _names(kind, published)


def same_cell(ref: Reference, space: str, dataset: str, scorer: str | None = None) -> bool:
    """Whether ``ref`` is a value for this space and dataset (and scorer, when given)."""
    return (matches("space", ref.space, space) and matches("dataset", ref.dataset, dataset)
            and (scorer is None or matches("scorer", ref.scorer, scorer)))


def matching(row: CorrelationRow) -> list[Reference]:
    """Published values for the space, dataset and scorer of ``row`` whose column is the row's
    ground-truth metric (or, for an unstated column without candidates, any metric)."""
    key = row.key
    return [ref for ref in references() if same_cell(ref, key.space, key.dataset, key.scorer)
            and (not ref.columns or key.metric in ref.columns)]


def published_cell(row: CorrelationRow, statistic: str) -> Cell:
    """The published ``statistic`` for ``row``'s space, dataset, scorer and ground-truth column
    (``matching``); an empty cell when no source has it. Values of several sources read
    ``0.590 (zerocost) / 0.610 (gennas)``; the cell's value is the first."""
    found = [ref for ref in matching(row) if ref.statistic == statistic]
    if not found:
        return Cell()
    text = (" / ".join(f"{ref.value:.3f} ({ref.source})" for ref in found)
            if len(found) > 1 else None)
    return Cell(value=found[0].value, text=text)


def inside_interval(published: float | None, interval: tuple[float, float] | None) -> Cell:
    """``yes`` when ``published`` lies inside the measured 95 % ``interval`` (of the magnitude,
    as published: ``CorrelationRow.interval("abs_kendall")``), else ``no``; an empty cell
    without a published value or a finite interval (several seeds averaged, no resamples)."""
    if published is None or interval is None or not np.isfinite(interval).all():
        return Cell()
    low, high = interval
    return Cell(text="yes" if low <= published <= high else "no")


def paper_metrics(space: str, dataset: str, available: set[str]) -> list[str]:
    """The ground-truth columns among ``available`` that some published value for ``space`` /
    ``dataset`` is measured on: ``build_report`` correlates them too when ``--paper`` is on."""
    wanted = {column for ref in references() if same_cell(ref, space, dataset)
              for column in ref.columns}
    return sorted(wanted & set(available))


def _verdicts(measured: dict[tuple, float], published: dict[tuple, Reference]) -> dict[tuple, str]:
    """The ``match`` column: how each measured column relates to the published value's column.

    Keys end with the measured column; the rest of a key names one published value.
    """
    by_value: dict[tuple, list[tuple]] = defaultdict(list)
    for key in measured:
        by_value[key[:-1]].append(key)
    verdicts = {}
    for keys in by_value.values():
        ref = published[keys[0]]
        if ref.metric:
            verdicts.update(dict.fromkeys(keys, "stated column"))
        elif not ref.columns:
            verdicts.update(dict.fromkeys(keys, "column not stated"))
        elif len(keys) == 1:
            verdicts[keys[0]] = "only candidate in run"
        else:
            gaps = {key: abs(measured[key] - ref.value) for key in keys}
            gaps = {key: gap if np.isfinite(gap) else np.inf for key, gap in gaps.items()}
            closest = [key for key in keys if np.isclose(gaps[key], min(gaps.values()))]
            closer = "closer" if len(closest) == 1 else "tied"
            verdicts.update({key: closer if key in closest else "farther" for key in keys})
    return verdicts


def _left_out(rows: list[CorrelationRow], shown: set[Reference]) -> str:
    """Caption text naming the published values of this run's cells whose column it lacks."""
    missing = {ref for row in rows for ref in references()
               if same_cell(ref, row.key.space, row.key.dataset, row.key.scorer)} - shown
    if not missing:
        return ""
    columns = sorted({ref.metric or "/".join(ref.columns) for ref in missing})
    return (f"{len(missing)} published values of this run's scorers are left out: their "
            f"ground-truth column ({', '.join(columns)}) is not in the run's ground truth. ")


def reference_table(rows: list[CorrelationRow]) -> Table:
    """Measured vs published, with the difference |measured| - published (``--paper``).

    ``rows`` may hold several ground-truth metrics per cell; each published value is compared
    on its own column only (module docstring). Several measured cells for one published value
    and column (seeds, inits) are averaged first.
    """
    table = Table(name="paper", title="Published reference values",
                  caption="published on = the ground-truth column the source correlated against "
                          "('not stated': the measured value is shown on each candidate column, "
                          "match says which lands closer); measured = mean over the run's cells "
                          "of the statistic (|.| for correlations, as published), with the 95 % "
                          "bootstrap interval of one cell; published in 95 % = whether the "
                          "published value lies inside that interval; difference = measured - "
                          "published. Sources: "
                          + "; ".join(dict.fromkeys(ref.citation for ref in references())),
                  labels=["space", "dataset", "scorer", "statistic", "source", "published on",
                          "measured on"],
                  columns=["measured", "published", "published in 95 %", "difference",
                           "n_measured", "n_published", "match"])
    grouped: dict[tuple, list[CorrelationRow]] = defaultdict(list)
    published: dict[tuple, Reference] = {}
    for row in rows:
        for ref in matching(row):
            key = (row.key.space, row.key.dataset, row.scorer_label, ref.statistic,
                   f"{ref.source} {ref.table}", ref.metric or "not stated", row.key.metric)
            grouped[key].append(row)
            published[key] = ref
    measured = {}
    for key, group in grouped.items():
        values = [r.value(published[key].statistic) for r in group]
        measured[key] = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
    verdicts = _verdicts(measured, published)
    table.caption = _left_out(rows, set(published.values())) + table.caption
    if not grouped:
        table.caption = ("No published value matches this run's spaces, datasets, scorers and "
                         "ground-truth columns. " + table.caption)
    for key in sorted(grouped):
        ref, group = published[key], grouped[key]
        interval = group[0].interval(ref.statistic) if len(group) == 1 else None
        low, high = interval or (None, None)
        table.rows.append((list(key), [
            Cell(value=measured[key], low=low, high=high, count=len(group)),
            Cell(value=ref.value), inside_interval(ref.value, interval),
            Cell(value=measured[key] - ref.value), Cell(value=int(np.mean([r.n for r in group]))),
            Cell(value=ref.n_archs), Cell(text=verdicts[key])]))
    return table
