"""Published reference values (``reference_values.json``) and the ``--paper`` comparison table.

The data file transcribes the GenNAS appendix tables (Li et al., NeurIPS 2021) and the notebook
numbers of github.com/SamsungLabs/zero-cost-nas, with their citations. A measured cell matches a
published value when its space, dataset and scorer names equal the published ones (or a listed
alias) after lower-casing and dropping everything but letters and digits; an ``nds-`` prefix is
optional.
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
                    value=float(value), note=table["note"]))
    return found


def _names(kind: str, name: str) -> set[str]:
    aliases = _data()["aliases"].get(kind, {}).get(name, [])
    return {_normalize(n) for n in (name, *aliases)}


def _matches(kind: str, published: str, measured: str) -> bool:
    names = _names(kind, published)
    measured = _normalize(measured)
    if kind == "space":
        names |= {n.removeprefix("nds") for n in names}
        return measured in names or measured.removeprefix("nds") in names
    return measured in names


def matching(row: CorrelationRow) -> list[Reference]:
    """Published values for the space, dataset and scorer of ``row``."""
    return [ref for ref in references()
            if _matches("space", ref.space, row.key.space)
            and _matches("dataset", ref.dataset, row.key.dataset)
            and _matches("scorer", ref.scorer, row.key.scorer)]


def reference_table(rows: list[CorrelationRow]) -> Table:
    """Measured vs published, with the difference |measured| - published (``--paper``).

    Several measured cells for one published value (seeds, inits) are averaged first.
    """
    table = Table(name="paper", title="Published reference values",
                  caption="measured = mean over the run's cells of the statistic (|.| for "
                          "correlations, as published); difference = measured - published. "
                          "Sources: " + "; ".join(_data()["sources"].values()),
                  labels=["space", "dataset", "metric", "scorer", "statistic", "source"],
                  columns=["measured", "published", "difference", "n_measured", "n_published"])
    grouped: dict[tuple, list[CorrelationRow]] = defaultdict(list)
    published: dict[tuple, Reference] = {}
    for row in rows:
        for ref in matching(row):
            key = (row.key.space, row.key.dataset, row.key.metric, row.scorer_label,
                   ref.statistic, f"{ref.source} {ref.table}")
            grouped[key].append(row)
            published[key] = ref
    if not grouped:
        table.caption = ("No published value matches this run's spaces, datasets and scorers. "
                         + table.caption)
    for key in sorted(grouped):
        ref = published[key]
        values = [r.value(ref.statistic) for r in grouped[key]]
        measured = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
        n_measured = int(np.mean([r.n for r in grouped[key]]))
        table.rows.append((list(key), [
            Cell(value=measured, count=len(values)), Cell(value=ref.value),
            Cell(value=measured - ref.value), Cell(value=n_measured), Cell(value=ref.n_archs)]))
    return table
