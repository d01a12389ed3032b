"""The published values of a study row, and the cell each one is measured on.

A row's ``reference`` tables are read from ``reports/reference_values.json`` (each published
number lives there once, with its citation and ground-truth column); its inline ``values`` are
a user's own. Either way a value becomes a ``reports.reference.Reference`` matched to the row's
spaces and scorers by name and alias, as ``--paper`` matches them.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import ConfigError
from harness.reports.reference import Reference, matches, references, same_cell
from harness.study.spec import PublishedValue, Row


@dataclass(frozen=True)
class Target:
    """One published value of a row and where it is measured: the row's ``space`` and
    ``scorer`` it names, and the ground-truth ``columns`` to correlate against (the stated
    one, else the candidates; [] = the dataset's default column). ``reference`` is None for a
    row that lists no published value: it is measured alone, as |Kendall|."""

    row: str
    space: str
    scorer: str
    reference: Reference | None
    columns: tuple[str, ...]

    @property
    def statistic(self) -> str:
        return self.reference.statistic if self.reference else "abs_kendall"


def _inline(row: Row, value: PublishedValue) -> Reference:
    if value.space is None and len(row.spaces) > 1:
        raise ConfigError(f"row {row.name}: the published value of {value.scorer} needs a space "
                          f"(the row has {len(row.spaces)})")
    return Reference(source=value.source, citation=value.source, table=value.table,
                     statistic=value.statistic, space=value.space or row.spaces[0],
                     dataset=row.dataset, scorer=value.scorer, n_archs=value.n,
                     value=value.value, note="", metric=value.column,
                     metric_evidence="written in the study file")


def _from_tables(row: Row) -> list[Reference]:
    """The values of the row's ``reference`` tables; an unknown table is an error that lists
    the tables the data file has."""
    found = []
    every = references()
    for entry in row.reference:
        table = [ref for ref in every if ref.source == entry.source and ref.table == entry.table]
        if not table:
            known = sorted({f"{ref.source}: {ref.table}" for ref in every})
            raise ConfigError(f"row {row.name}: no published table {entry.source!r} "
                              f"{entry.table!r} in reference_values.json; known: "
                              f"{'; '.join(known)}")
        found += table
    return found


def targets(row: Row) -> list[Target]:
    """Every published value of ``row`` that names one of its spaces and scorers (a table's
    values for other spaces, datasets or scorers are left out); a row without published values
    gets one unpublished target per space and scorer."""
    if not row.reference and not row.values:
        return [Target(row.name, space, scorer, None, tuple(row.metrics))
                for space in row.spaces for scorer in row.scorers]
    found = []
    for ref in [*_from_tables(row), *(_inline(row, value) for value in row.values)]:
        for space in row.spaces:
            if not same_cell(ref, space, row.dataset):
                continue
            for scorer in row.scorers:
                if matches("scorer", ref.scorer, scorer):
                    columns = tuple(row.metrics) or tuple(ref.columns)
                    found.append(Target(row.name, space, scorer, ref, columns))
    return found
