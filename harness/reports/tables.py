"""The report's tables, shaped like the GenNAS appendix tables (Tables 1-6).

Every table is computed from ``CorrelationRow``s (or, for cost, from the trials), so each
entry can be traced back to its cell in ``correlations.csv``. Where several cells fall into
one entry (several seeds of one scorer), the entry is their mean and ``Cell.count`` says how
many; a bootstrap interval is shown only for an entry made of exactly one cell.
Tables 3-5 use one initialization, the *primary* one: ``default/default`` when the run has it,
otherwise the first in name order; Tables 1-2 exist to show the others.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace

import numpy as np
import pandas as pd

from harness import metrics
from harness.reports.records import (
    RETRIEVAL_PERCENTS,
    Cell,
    CorrelationRow,
    Report,
    Table,
    retrieval_name,
)
from harness.store import PEAK_MEMORY_LABEL, STATUSES

GROUP_LABELS = ["space", "dataset", "metric"]

# A correlation over fewer ranked archs is noise, not a measurement (Kendall's tau is +-1 from
# two archs): its cell prints "n=N, too few" instead of the number, which JSON still holds.
MIN_RANKED = 5
CORRELATIONS = ("kendall", "spearman", "pearson", "abs_kendall", "abs_spearman")


def marked(cell: Cell, n: int) -> Cell:
    """``cell`` marked as not meaningful when its correlation ranks fewer than ``MIN_RANKED``
    archs."""
    if n >= MIN_RANKED or cell.value is None or not np.isfinite(cell.value):
        return cell
    return replace(cell, text=f"n={n}, too few")


def primary_init(rows: Iterable[CorrelationRow]) -> tuple[str, str]:
    """``("default", "default")`` when present, otherwise the first (weight, bias) init in order."""
    inits = sorted({(r.key.weight_init, r.key.bias_init) for r in rows})
    return ("default", "default") if ("default", "default") in inits else inits[0]


def _group(row: CorrelationRow) -> tuple[str, str, str]:
    return row.key.space, row.key.dataset, row.key.metric


def _mean_cell(rows: list[CorrelationRow], statistic: str) -> Cell:
    values = [row.value(statistic) for row in rows]
    finite = [v for v in values if np.isfinite(v)]
    mean = float(np.mean(finite)) if finite else float("nan")
    interval = rows[0].interval(statistic) if len(rows) == 1 else None
    low, high = interval or (None, None)
    cell = Cell(value=mean, low=low, high=high, count=len(rows))
    return marked(cell, min(row.n for row in rows)) if statistic in CORRELATIONS else cell


def _at_primary_init(rows: list[CorrelationRow]) -> list[CorrelationRow]:
    if not rows:
        return []
    init = primary_init(rows)
    return [r for r in rows if (r.key.weight_init, r.key.bias_init) == init]


def _unique(values: Iterable) -> list:
    return list(dict.fromkeys(values))


def correlation_table(rows: list[CorrelationRow], statistic: str, name: str,
                      title: str) -> Table:
    """Rows = space/dataset/metric, columns = scorers, entry = ``statistic`` (Tables 3 and 4)."""
    chosen = _at_primary_init(rows)
    scorers = sorted(_unique(r.scorer_label for r in chosen))
    cells: dict[tuple, list[CorrelationRow]] = defaultdict(list)
    for row in chosen:
        cells[(_group(row), row.scorer_label)].append(row)
    table = Table(name=name, title=title,
                  caption=f"{statistic} of each scorer against the ground truth; mean over "
                          f"seeds at init {'/'.join(primary_init(chosen)) if chosen else '-'}; "
                          f"'n=N, too few': fewer than {MIN_RANKED} archs ranked.",
                  labels=GROUP_LABELS, columns=scorers)
    for group in sorted(_unique(_group(r) for r in chosen)):
        table.rows.append((list(group), [
            _mean_cell(cells[(group, s)], statistic) if cells[(group, s)] else Cell()
            for s in scorers]))
    return table


def _group_names(groups: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], str]:
    """``"nb201/cifar10-valid"`` per group; the metric is added where a space and dataset are
    correlated against more than one ground-truth column."""
    pairs = [group[:2] for group in groups]
    return {group: "/".join(group[:2]) + (f" ({group[2]})" if pairs.count(group[:2]) > 1 else "")
            for group in groups}


def answer_table(rows: list[CorrelationRow], statistic: str, published: str, name: str,
                 title: str) -> Table:
    """Rows = scorers, columns = each (space, dataset) and, where a source published the
    statistic for it, the published value beside it: the table a report leads with."""
    from harness.reports.reference import inside_interval, published_cell

    chosen = _at_primary_init(rows)
    scorers = sorted(_unique(r.scorer_label for r in chosen))
    groups = sorted(_unique(_group(r) for r in chosen))
    cells: dict[tuple, list[CorrelationRow]] = defaultdict(list)
    for row in chosen:
        cells[(row.scorer_label, _group(row))].append(row)
    papers = {key: published_cell(group_rows[0], published) for key, group_rows in cells.items()}
    with_paper = [g for g in groups if any(papers.get((s, g), Cell()).value is not None
                                           for s in scorers)]
    names = _group_names(groups)
    with_interval = statistic in CORRELATIONS
    columns = []
    for group in groups:
        columns.append(names[group])
        if group in with_paper:
            columns.append(f"{names[group]} published")
            if with_interval:
                columns.append(f"{names[group]} published in 95 %")
    table = Table(name=name, title=title, labels=["scorer"], columns=columns,
                  caption=f"{statistic} of each scorer against the ground truth (rows: "
                          f"scorers; columns: space/dataset), at the primary init, mean over "
                          f"seeds"
                          + (" ([low, high]: 95 % bootstrap interval, for one seed)"
                             if with_interval else "")
                          + f". 'published' = the value its source reports ({published}, on "
                            f"the same ground-truth column), where one exists"
                          + ("; 'published in 95 %': whether it lies inside the interval of "
                             "the measured magnitude" if with_interval else "") + ".")
    for scorer in scorers:
        entries = []
        for group in groups:
            own = cells[(scorer, group)]
            entries.append(_mean_cell(own, statistic) if own else Cell())
            if group in with_paper:
                paper = papers.get((scorer, group), Cell())
                entries.append(paper)
                if with_interval:
                    interval = own[0].interval(published) if len(own) == 1 else None
                    entries.append(inside_interval(paper.value, interval))
        table.rows.append(([scorer], entries))
    return table


def retrieval_table(rows: list[CorrelationRow]) -> Table:
    """Rows = space/dataset/metric/scorer, columns = retrieval@5..50 % (appendix Table 5)."""
    chosen = _at_primary_init(rows)
    columns = [retrieval_name(p) for p in RETRIEVAL_PERCENTS]
    table = Table(name="retrieval", title="Retrieval rate @ top-K %",
                  caption="|predicted top-K ∩ true top-K| / K with K = int(p·N); mean over "
                          "seeds at the primary init; ties broken by arch_id order.",
                  labels=[*GROUP_LABELS, "scorer"], columns=columns)
    return _with_scorer_means(table, chosen, columns)


def top_table(rows: list[CorrelationRow]) -> Table:
    """Rows = space/dataset/metric/scorer, columns = the metrics that weigh the top
    (``harness.metrics.TOP_METRICS`` at each K of the run's report)."""
    chosen = _at_primary_init(rows)
    columns = _unique(name for row in chosen for name in row.quality.at_k)
    table = Table(name="top_k", title="Ranking quality at the top",
                  caption="K counts archs (retrieval@P counts P % of them): nDCG@K (gain = "
                          "truth - worst truth), precision@K = |predicted top-K ∩ true top-K| / "
                          "K, kendall_top@K = Kendall tau-b within the true top-K, best_rank@K "
                          "= best true rank (1 = truly best) among the predicted top-K; mean "
                          "over seeds at the primary init.",
                  labels=[*GROUP_LABELS, "scorer"], columns=columns)
    return _with_scorer_means(table, chosen, columns)


def _with_scorer_means(table: Table, rows: list[CorrelationRow], columns: list[str]) -> Table:
    """``table`` with one row per group and scorer label: each column's mean over ``rows``."""
    cells: dict[tuple, list[CorrelationRow]] = defaultdict(list)
    for row in rows:
        cells[(*_group(row), row.scorer_label)].append(row)
    for labels in sorted(cells):
        table.rows.append((list(labels), [_mean_cell(cells[labels], c) for c in columns]))
    return table


def _seed_columns(rows: list[CorrelationRow]) -> list[int]:
    return sorted({r.key.seed for r in rows})


def _spread_cells(values: list[float], too_few: list[Cell]) -> list[Cell]:
    """Mean and sample std of ``values``; marked as the first of ``too_few`` (the seeds' cells
    marked as not meaningful) where there is one."""
    finite = [v for v in values if np.isfinite(v)]
    mean = Cell(value=float(np.mean(finite)) if finite else None, count=len(finite))
    std = Cell(value=float(np.std(finite, ddof=1)) if len(finite) > 1 else None)
    if too_few:
        mean, std = (replace(cell, text=too_few[0].text) for cell in (mean, std))
    return [mean, std]


def _by_seed_table(rows: list[CorrelationRow], name: str, title: str, caption: str,
                   labels: list[str], label_of: Callable[[CorrelationRow], tuple],
                   statistic: str) -> Table:
    seeds = _seed_columns(rows)
    table = Table(name=name, title=title, caption=caption, labels=labels,
                  columns=[f"seed {s}" for s in seeds] + ["mean", "std"])
    cells: dict[tuple, dict[int, list[CorrelationRow]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        cells[label_of(row)][row.key.seed].append(row)
    for row_labels in sorted(cells):
        by_seed = [_mean_cell(cells[row_labels][s], statistic) if cells[row_labels][s] else Cell()
                   for s in seeds]
        values = [c.value for c in by_seed if c.value is not None]
        too_few = [c for c in by_seed if c.text is not None]
        table.rows.append((list(row_labels), by_seed + _spread_cells(values, too_few)))
    return table


def seed_table(rows: list[CorrelationRow], statistic: str = "spearman") -> Table:
    """Rows = space/dataset/metric/scorer, columns = seeds + mean + std (appendix Table 1)."""
    return _by_seed_table(
        _at_primary_init(rows), "seed_sensitivity", f"Seed sensitivity ({statistic})",
        f"{statistic} per run seed at the primary init; std is the sample standard deviation.",
        [*GROUP_LABELS, "scorer"], lambda r: (*_group(r), r.scorer_label), statistic)


def init_table(rows: list[CorrelationRow], statistic: str = "spearman") -> Table:
    """Rows = (space, ..., weight init, bias init), columns = seeds + mean + std (Table 2)."""
    return _by_seed_table(
        rows, "init_sensitivity", f"Initialization sensitivity ({statistic})",
        f"{statistic} per (weight init, bias init) and seed.",
        [*GROUP_LABELS, "scorer", "weight_init", "bias_init"],
        lambda r: (*_group(r), r.scorer_label, r.key.weight_init, r.key.bias_init), statistic)


def cost_tables(trials: pd.DataFrame) -> list[Table]:
    """Per space/scorer and batch size: mean wall seconds, CPU seconds (when the store has
    them: trials stored since schema version 3) and peak memory per trial, ``OOM`` cells.

    Means are over ``ok`` trials. An entry whose trials all ran out of memory reads ``OOM``;
    one where only some did carries ``(k OOM)`` after the number.
    """
    batch_sizes = sorted(int(b) for b in trials.batch_size.unique())
    columns = [f"bs {b}" for b in batch_sizes]
    made = []
    measured = [("cost_seconds", "wall_s", "s", "Cost: seconds per trial")]
    if trials.cpu_s.notna().any():
        measured.append(("cost_cpu_seconds", "cpu_s", "CPU s", "Cost: CPU seconds per trial"))
    measured.append(("cost_memory", "peak_mem_mb", "MB", "Cost: peak memory per trial (MB)"))
    for name, column, unit, title in measured:
        table = Table(name=name, title=title,
                      caption=f"mean {column} ({unit}) of ok trials per batch size; OOM = every "
                              f"trial ran out of memory."
                              + (f" {PEAK_MEMORY_LABEL}." if column == "peak_mem_mb" else ""),
                      labels=["space", "scorer"], columns=columns, digits=4)
        for (space, scorer), group in trials.groupby(["space", "scorer"], sort=True):
            cells = []
            for batch_size in batch_sizes:
                at = group[group.batch_size == batch_size]
                ok = at[at.status == "ok"][column].dropna()
                n_oom = int((at.status == "oom").sum())
                value = float(ok.mean()) if len(ok) else None
                if len(at) and n_oom == len(at):
                    cells.append(Cell(text="OOM"))
                elif n_oom:
                    cells.append(Cell(value=value, text=f"{value:.4g} ({n_oom} OOM)"
                                      if value is not None else f"({n_oom} OOM)"))
                else:
                    cells.append(Cell(value=value, count=len(ok)))
            table.rows.append(([space, scorer], cells))
        made.append(table)
    return made


def summary_table(rows: list[CorrelationRow]) -> Table:
    """Every cell of the run: counts, correlations (signed and |.|), retrieval, cost, statuses."""
    columns = ["n", "excluded", "kendall", "spearman", "|kendall|", "|spearman|", "pearson",
               *[retrieval_name(p) for p in RETRIEVAL_PERCENTS], "wall_s", "peak_mem_mb",
               "statuses"]
    table = Table(name="correlations", title="Ranking quality per cell",
                  caption="One row per (space, dataset, metric, scorer, seed, init, batch). "
                          "Signed correlations; |.| as the reference scripts report them. "
                          "Non-finite scores are excluded and counted; a correlation over "
                          f"fewer than {MIN_RANKED} archs is marked too few.",
                  labels=[*GROUP_LABELS, "scorer", "seed", "init", "batch"], columns=columns)
    for row in rows:
        cells = [Cell(value=row.n), Cell(value=row.quality.n_excluded)]
        for name in ("kendall", "spearman"):
            low, high = row.interval(name) or (None, None)
            cells.append(marked(Cell(value=row.value(name), low=low, high=high), row.n))
        cells += [marked(Cell(value=value), row.n) for value in (
            row.value("abs_kendall"), row.value("abs_spearman"), row.quality.pearson)]
        cells += [Cell(value=row.retrieval[p]) for p in RETRIEVAL_PERCENTS]
        cells += [Cell(value=row.wall_s_mean), Cell(value=row.peak_mem_mb_mean)]
        cells.append(Cell(text=", ".join(f"{s} {row.status_counts[s]}" for s in STATUSES
                                         if s in row.status_counts)))
        key = row.key
        table.rows.append(([key.space, key.dataset, key.metric, row.scorer_label, str(key.seed),
                            key.init, str(key.batch_size)], cells))
    return table


# A scorer named SOURCE:NAME holds scores of NAME from elsewhere (``harness import``).
SOURCE_SEPARATOR = ":"


def agreement_table(trials: pd.DataFrame, bootstrap: int = 0, seed: int = 0) -> Table | None:
    """Rows = space/dataset and each scorer ``SOURCE:NAME`` beside the run's scorer ``NAME``;
    columns = n, Kendall and Spearman between their scores over the archs both scored (each
    arch's mean over its ok trials). None when the run holds no such pair."""
    ok = trials[trials.status == "ok"]
    names = set(ok.scorer)
    pairs = sorted((scorer, scorer.split(SOURCE_SEPARATOR, 1)[1]) for scorer in names
                   if SOURCE_SEPARATOR in scorer
                   and scorer.split(SOURCE_SEPARATOR, 1)[1] in names)
    if not pairs:
        return None
    table = Table(name="agreement", title="Agreement between scorers of one name",
                  caption="Kendall tau-b and Spearman rho between the scores of SOURCE:NAME "
                          "(scores imported from another tool) and the run's own NAME, over the "
                          "archs both scored ok (each arch: the mean of its trials); [low, "
                          "high]: 95 % bootstrap interval where the report has resamples.",
                  labels=["space", "dataset", "imported", "scorer"],
                  columns=["n", "kendall", "spearman"])
    means = ok.groupby(["space", "dataset", "scorer", "arch_id"]).score.mean()
    for (space, dataset), _ in ok.groupby(["space", "dataset"], sort=True):
        of_cell = means.loc[(space, dataset)]
        for imported, own in pairs:
            if imported not in of_cell.index or own not in of_cell.index:
                continue
            joined = pd.concat([of_cell.loc[imported], of_cell.loc[own]], axis=1,
                               join="inner").dropna()
            x, y = joined.iloc[:, 0].to_numpy(float), joined.iloc[:, 1].to_numpy(float)
            cells = [Cell(value=len(joined))]
            for statistic in (metrics.kendall_tau, metrics.spearman_rho):
                low, high = (metrics.bootstrap_interval(x, y, statistic, resamples=bootstrap,
                                                        seed=seed)
                             if bootstrap else (None, None))
                cells.append(marked(Cell(value=statistic(x, y), low=low, high=high),
                                    len(joined)))
            table.rows.append(([space, dataset, imported, own], cells))
    return table if table.rows else None


def all_tables(report: Report, trials: pd.DataFrame, *, paper: bool = False,
               paper_rows: list[CorrelationRow] | None = None) -> list[Table]:
    """Every table of the report, in the order the reports print them: the answer first
    (Kendall, then retrieval, scorers x space/dataset), the per-cell table last.

    ``paper_rows``: cells correlated with further ground-truth columns only for the published
    values' comparison (``harness.reports.reference``); no other table shows them.
    """
    from harness.reports.reference import reference_table

    rows = report.rows
    tables = [answer_table(rows, "kendall", "abs_kendall", "answer_kendall",
                           "Ranking quality: Kendall tau-b per scorer"),
              answer_table(rows, "retrieval@10", "retrieval@10", "answer_retrieval",
                           "Retrieval rate @ top-10 % per scorer"),
              correlation_table(rows, "kendall", "ranking_kendall",
                                "Ranking correlation (Kendall tau-b)"),
              correlation_table(rows, "spearman", "ranking_spearman",
                                "Ranking correlation (Spearman rho)"),
              correlation_table(rows, "retrieval@10", "retrieval_top10",
                                "Retrieval rate @ top-10 %"),
              retrieval_table(rows), top_table(rows)]
    agreement = agreement_table(trials, report.bootstrap, report.seed)
    if agreement is not None:
        tables.append(agreement)
    if len({r.key.seed for r in rows}) > 1:
        tables.append(seed_table(rows))
    if len({(r.key.weight_init, r.key.bias_init) for r in rows}) > 1:
        tables.append(init_table(rows))
    tables += cost_tables(trials)
    if paper:
        tables.append(reference_table([*rows, *(paper_rows or [])]))
    return [*tables, summary_table(rows)]  # every cell, long: last (and correlations.csv)
