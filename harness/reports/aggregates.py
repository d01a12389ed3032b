"""Label-free combinations of scorers: the ranks of several scorers' scores on the same archs
combined into one score, after the fact, from the trials a run already holds.

An aggregate is a name, its parts (scorer labels as the report writes them: ``synflow``, or
``synflow[1a2b3c]`` where a space holds several configs of the scorer; or a registered
aggregate's name, combined first over the same archs) and a method. Ranks are
taken within each cell's sample (space, dataset, seed, init) of N archs, oriented so that
higher = predicted better: the best score of a part gets rank N, the worst rank 1, and tied
scores share the mean of their ranks (``scipy.stats.rankdata``, as AZ-NAS's and TE-NAS's
official code rank). A non-finite score (a failed trial) ranks below every finite score of its
part, tied with the part's other non-finite scores; an arch without one finite part score gets
no aggregate (NaN, status ``nan``); an arch lacking a trial of some part is left out.

Methods (``METHODS``):

- ``mean_rank``: the mean of the parts' ranks. TE-NAS (Chen et al., ICLR 2021; official code
  VITA-Group/TENAS) sums the ranks of its NTK condition number and its linear regions: the
  same order.
- ``log_rank``: the sum over the parts of log(rank / N): AZ-NAS's non-linear rank aggregation
  (Lee and Ham, CVPR 2024; official code cvlab-yonsei/AZ-NAS), which punishes an arch
  that one part ranks low more than the mean does.
- ``lexicographic``: ordered by the first part, ties broken by the second, and so on; the score
  is the dense rank of the tuple. VKDNW (Týbl and Neumann, CVPR 2025; official code
  ondratybl/VKDNW, ``NB201/tss_utils.py``) orders archs by their count of trainable layers, then
  by VKDNW.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from harness.errors import ConfigError
from harness.hashing import canonical_hash
from harness.metrics import nonfinite_as_worst
from harness.names import split_names
from harness.protocols import Aggregate

# The cell an aggregate's ranks are taken within: every key column but the scorer's own.
SAMPLE_COLUMNS = ("space", "dataset", "seed", "weight_init", "bias_init")


def ranks(values: np.ndarray) -> np.ndarray:
    """Each column's ranks within an (archs, parts) array: 1 = worst, ties averaged, non-finite
    values tied below the rest."""
    return np.column_stack([stats.rankdata(nonfinite_as_worst(column)) for column in values.T])


def _mean_rank(values: np.ndarray) -> np.ndarray:
    return ranks(values).mean(axis=1)


def _log_rank(values: np.ndarray) -> np.ndarray:
    return np.log(ranks(values) / len(values)).sum(axis=1)


def _lexicographic(values: np.ndarray) -> np.ndarray:
    keys = np.column_stack([nonfinite_as_worst(column) for column in values.T])
    order = np.lexsort(keys.T[::-1])  # lexsort's primary key is its last
    ordered = keys[order]
    dense = np.concatenate([[1], 1 + np.cumsum(np.any(ordered[1:] != ordered[:-1], axis=1))])
    result = np.empty(len(values))
    result[order] = dense
    return result


METHODS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mean_rank": _mean_rank, "log_rank": _log_rank, "lexicographic": _lexicographic}
# The name an aggregate gets when ``--aggregate`` gives none: ``rank(zico,meco,flops)``.
DEFAULT_NAMES = {"mean_rank": "rank", "log_rank": "logrank", "lexicographic": "lex"}


def combine(scores: Sequence[Sequence[float]] | np.ndarray, method: str) -> np.ndarray:
    """The aggregate of an (archs, parts) array of scores: one value per arch, higher =
    predicted better; NaN where no part is finite."""
    if method not in METHODS:
        raise ConfigError(f"unknown aggregation method {method!r}; methods: "
                          f"{', '.join(METHODS)}")
    values = np.asarray(scores, dtype=float)
    if values.ndim != 2 or values.shape[1] == 0:
        raise ValueError(f"scores must be (archs, parts), got shape {values.shape}")
    if len(values) == 0:
        return np.empty(0)
    combined = METHODS[method](values)
    combined[~np.isfinite(values).any(axis=1)] = np.nan
    return combined


@dataclass(frozen=True)
class AggregateSpec:
    """One aggregate: its report name, its parts (scorer labels, or the names of ``inner``
    aggregates) and its method."""

    name: str
    parts: tuple[str, ...]
    method: str = "mean_rank"
    inner: tuple[AggregateSpec, ...] = ()

    @property
    def config_hash(self) -> str:
        """The hash its report rows carry in place of a scorer config's."""
        return "agg-" + canonical_hash(self._definition())[:10]

    def record(self) -> dict[str, Any]:
        """What a results file records of it (``inner`` only where it has some)."""
        return {"name": self.name, "parts": list(self.parts), "method": self.method,
                **({"inner": [spec.record() for spec in self.inner]} if self.inner else {})}

    def _definition(self) -> list[Any]:
        inner = {spec.name: spec._definition() for spec in self.inner}
        return [self.method, [inner.get(part, part) for part in self.parts]]

    def leaves(self) -> tuple[str, ...]:
        """The scorers whose trials it reads: its parts, each inner aggregate's replaced by
        that aggregate's own, each scorer once."""
        inner = {spec.name: spec for spec in self.inner}
        return tuple(dict.fromkeys(leaf for part in self.parts for leaf in
                                   (inner[part].leaves() if part in inner else (part,))))

    def with_inner_first(self) -> tuple[AggregateSpec, ...]:
        """Its inner aggregates (theirs first) and itself: what a report shows beside it."""
        return (*(nested for spec in self.inner for nested in spec.with_inner_first()), self)

    def evaluate(self, leaf_scores: Mapping[str, np.ndarray]) -> np.ndarray:
        """The aggregate of archs whose scores ``leaf_scores`` holds per scorer (one array
        each, the same archs in the same order); each inner aggregate over the same archs."""
        inner = {spec.name: spec for spec in self.inner}
        columns = [inner[part].evaluate(leaf_scores) if part in inner else
                   np.asarray(leaf_scores[part], dtype=float) for part in self.parts]
        return combine(np.column_stack(columns), self.method)


def parse_aggregate(text: str) -> AggregateSpec:
    """``[NAME=]SCORER,SCORER[,...][:METHOD]`` (``+`` also separates scorers); the default
    method is ``mean_rank``, the default name ``rank(a,b)`` (``logrank(...)``, ``lex(...)``)."""
    name, sep, rest = text.partition("=")
    if not sep:
        name, rest = "", text
    parts_text, _, method = rest.rpartition(":") if ":" in rest else (rest, "", "mean_rank")
    parts = tuple(split_names(parts_text.replace("+", ",")))
    method = method.strip() or "mean_rank"
    if len(parts) < 2 or len(set(parts)) != len(parts):
        raise ConfigError(f"--aggregate {text!r}: name two or more distinct scorers, e.g. "
                          f"'NAME=SCORER_A,SCORER_B:log_rank'")
    if method not in METHODS:
        raise ConfigError(f"--aggregate {text!r}: unknown method {method!r}; methods: "
                          f"{', '.join(METHODS)}")
    name = name.strip() or f"{DEFAULT_NAMES[method]}({','.join(parts)})"
    return AggregateSpec(name, parts, method)


def from_plugin(aggregate: Aggregate, registry: Any) -> AggregateSpec:
    """The spec of a registered (named) aggregate, its parts that name registered aggregates
    resolved to theirs."""
    return with_inner(_own_spec(aggregate), registry)


def _own_spec(aggregate: Aggregate) -> AggregateSpec:
    """A registered aggregate's spec, its inner aggregates not resolved yet."""
    if aggregate.method not in METHODS:
        raise ConfigError(f"aggregate {aggregate.name!r} asks for method {aggregate.method!r}; "
                          f"methods: {', '.join(METHODS)}")
    return AggregateSpec(aggregate.name, tuple(aggregate.parts), aggregate.method)


def with_inner(spec: AggregateSpec, registry: Any, within: tuple[str, ...] = ()) -> AggregateSpec:
    """``spec`` with each part that names a registered aggregate resolved to that aggregate
    (recursively; a cycle is refused)."""
    if spec.name in within:
        raise ConfigError(f"aggregate {spec.name!r} contains itself "
                          f"({' -> '.join([*within, spec.name])})")
    known = set(registry.names("aggregate"))
    inner = tuple(with_inner(_own_spec(registry.get("aggregate", part)), registry,
                             (*within, spec.name)) for part in spec.parts if part in known)
    return AggregateSpec(spec.name, spec.parts, spec.method, inner)


def resolve(texts: Iterable[str | AggregateSpec], registry: Any) -> list[AggregateSpec]:
    """Specs from ``--aggregate`` texts: a registered aggregate's name, or
    ``[NAME=]PARTS[:METHOD]`` (a part may name a registered aggregate)."""
    known = set(registry.names("aggregate"))
    return [with_inner(text, registry) if isinstance(text, AggregateSpec)
            else from_plugin(registry.get("aggregate", text), registry) if text in known
            else with_inner(parse_aggregate(text), registry) for text in texts]


def recorded_aggregates(run: Mapping[str, Any], registry: Any) -> list[AggregateSpec]:
    """The registered aggregates a run's ``--scorers`` named (``run.json``: its configuration
    and every command of its history)."""
    selections = [run.get("config")] + [entry.get("selection") for entry in
                                        run.get("history") or [] if isinstance(entry, dict)]
    names = [name for selection in selections if isinstance(selection, dict)
             for name in selection.get("scorers") or []]
    known = set(registry.names("aggregate"))
    return [from_plugin(registry.get("aggregate", name), registry)
            for name in dict.fromkeys(names) if name in known]


def aggregate_trials(trials: pd.DataFrame, labels: Mapping[tuple[str, str], str],
                     spec: AggregateSpec, notes: list[str]) -> pd.DataFrame:
    """Rows shaped like ``trials``' (one per arch and sample) holding ``spec``'s aggregate:
    scorer = its name, wall_s the sum of its parts' seconds, peak_mem_mb their largest, batch
    size the largest of its parts'. A sample without every part is noted and left out.
    ``trials``' scores must be NaN where the trial is not ``ok``."""
    labelled = trials.assign(label=[labels[(scorer, config_hash)] for scorer, config_hash in
                                    zip(trials.scorer, trials.scorer_config_hash, strict=True)])
    leaves = spec.leaves()
    labelled = labelled[labelled.label.isin(leaves)]
    if labelled.empty:
        notes.append(f"aggregate {spec.name}: the run holds no trial of {', '.join(leaves)}; "
                     f"its scorers: {', '.join(sorted(set(labels.values()))) or '(none)'}")
    made = []
    for sample, group in labelled.groupby(list(SAMPLE_COLUMNS), sort=True):
        missing = [part for part in leaves if part not in set(group.label)]
        if missing:
            notes.append(f"aggregate {spec.name}: {'/'.join(map(str, sample))} has no trials "
                         f"of {', '.join(missing)}; scorers there: "
                         f"{', '.join(sorted(set(labels.values()))) or '(none)'}")
            continue
        wide = group.pivot_table(index="arch_id", columns="label", values="score",
                                 aggfunc="first", dropna=False)
        counts = group.groupby("arch_id").label.nunique()
        complete = counts.index[counts == len(leaves)]
        left_out = len(counts) - len(complete)
        if left_out:
            notes.append(f"aggregate {spec.name}: {'/'.join(map(str, sample))}: {left_out} "
                         f"arch(s) lack a trial of some part and are left out")
        scores = wide.reindex(index=complete, columns=list(leaves)).to_numpy(float)
        combined = spec.evaluate(dict(zip(leaves, scores.T, strict=True)))
        by_arch = group[group.arch_id.isin(complete)].groupby("arch_id")
        made.append(pd.DataFrame({
            **dict(zip(SAMPLE_COLUMNS, sample, strict=True)),
            "arch_id": list(complete), "scorer": spec.name,
            "scorer_config_hash": spec.config_hash,
            "batch_size": int(group.batch_size.max()),
            "score": combined, "status": np.where(np.isfinite(combined), "ok", "nan"),
            "wall_s": by_arch.wall_s.sum(min_count=1).reindex(complete).to_numpy(float),
            "peak_mem_mb": by_arch.peak_mem_mb.max().reindex(complete).to_numpy(float)}))
    return pd.concat(made, ignore_index=True) if made else trials.iloc[:0]

