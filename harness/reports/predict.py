"""Few-label combination (``harness predict``): a model fitted on the scores of k archs whose
accuracy is known ranks the rest, as NAS-Bench-Suite-Zero (Krishnakumar et al., NeurIPS 2022
Datasets and Benchmarks) and GRAF (Kadlecová et al., ICML 2024) combine zero-cost proxies.

Per sample of a run (space, dataset, seed, init) and each k: ``splits`` times, k archs with a
finite ground truth are drawn at random (``numpy.random.default_rng((seed, split))``), a
scikit-learn ``GradientBoostingRegressor`` is fitted on their features (every scorer's rank
among all the sample's archs, a non-finite score ranked below the finite ones, plus the
space's arch encoding where it offers one, ``EncodedSpace``) against the ground truth, and the
held-out archs are ranked by its prediction. Every single scorer is evaluated on the same
held-out archs, as it is, with no fitting: Kendall and Spearman as mean and sample std over
the splits, the best single scorer marked. Trees split on thresholds, so ranks lose nothing a
split could use, and they keep scores such as synflow's (1e30 and beyond) within the float32
that scikit-learn's trees compute in; the ranks read no label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from harness import metrics
from harness.errors import ConfigError, HarnessError, UnknownPluginError
from harness.reports.aggregates import SAMPLE_COLUMNS, ranks
from harness.reports.assemble import scorer_labels
from harness.reports.records import Cell, Table
from harness.store import TrialStore, load_trials

MODEL = "boosting"


@runtime_checkable
class EncodedSpace(Protocol):
    """Optional: a space that encodes an arch as a fixed-length vector of numbers (NB-201: the
    one-hot op of each edge), which ``harness predict`` adds to the scores as features."""

    def encode_arch(self, arch_id: str) -> Sequence[float]:
        """The arch's features; the same length for every arch of the space."""


@dataclass(frozen=True)
class PredictSettings:
    """What ``harness predict`` fits: the k values, splits, seed, ground-truth metric (None =
    each dataset's default), whether to add the arch encoding, the scorers whose scores are
    features (None = every scorer of the run), and the booster's settings."""

    train: tuple[int, ...]
    splits: int = 10
    seed: int = 0
    metric: str | None = None
    encode: bool = True
    scorers: tuple[str, ...] | None = None
    n_estimators: int = 200
    max_depth: int = 3
    learning_rate: float = 0.05


def _truth(run_dir: Path, metric: str | None) -> dict[tuple[str, str], tuple[str, pd.Series]]:
    """(space, dataset) -> (metric, truth by arch id, oriented higher = better)."""
    with TrialStore.for_run(run_dir) as store:
        values = store.ground_truth_frame()
        infos = store.ground_truth_metrics()
    if metric and metric not in set(infos.metric):
        raise ConfigError(f"--metric {metric!r}: the run's ground truth has no such metric; "
                          f"known: {', '.join(sorted(set(infos.metric))) or '(none stored)'}")
    found = {}
    for info in infos.itertuples(index=False):
        if (info.metric != metric) if metric else not info.is_default:
            continue
        of_metric = values[(values.space == info.space) & (values.metric == info.metric)]
        sign = 1.0 if info.higher_is_better else -1.0
        found[(info.space, info.dataset)] = (
            info.metric, of_metric.set_index("arch_id").value.astype(float) * sign)
    return found


def _encodings(space_name: str, archs: Sequence[str], notes: list[str]) -> np.ndarray | None:
    """The space's encoding of ``archs`` (None when it offers none)."""
    from harness.registry import get_registry

    try:
        space = get_registry().get("space", space_name)
    except UnknownPluginError:
        notes.append(f"{space_name}: not installed; fitted on the scores alone")
        return None
    if not isinstance(space, EncodedSpace):
        notes.append(f"{space_name}: offers no arch encoding; fitted on the scores alone")
        return None
    return np.asarray([space.encode_arch(arch) for arch in archs], dtype=float)


def _spread(values: list[float]) -> tuple[float, float]:
    finite = [v for v in values if np.isfinite(v)]
    mean = float(np.mean(finite)) if finite else float("nan")
    return mean, float(np.std(finite, ddof=1)) if len(finite) > 1 else float("nan")


def _fit_predict(features: np.ndarray, truth: np.ndarray, train: np.ndarray,
                 test: np.ndarray, settings: PredictSettings, seed: int) -> np.ndarray:
    from sklearn.ensemble import GradientBoostingRegressor

    model = GradientBoostingRegressor(n_estimators=settings.n_estimators,
                                      max_depth=settings.max_depth,
                                      learning_rate=settings.learning_rate, random_state=seed)
    model.fit(features[train], truth[train])
    return model.predict(features[test])


def _sample_rows(wide: pd.DataFrame, truth: np.ndarray, encoding: np.ndarray | None,
                 settings: PredictSettings, labels: dict[str, Any],
                 notes: list[str]) -> list[dict[str, Any]]:
    """The rows of one sample: per k, the model and every single scorer."""
    scores = wide.to_numpy(float)
    features = ranks(scores)
    if encoding is not None:
        features = np.column_stack([features, encoding])
    rows = []
    for k in settings.train:
        if k < 2 or k > len(truth) - 2:
            notes.append(f"{labels['space']}/{labels['dataset']}: k={k} leaves out: give "
                         f"2 <= k <= {len(truth) - 2} (the sample has {len(truth)} archs)")
            continue
        results: dict[str, tuple[list[float], list[float]]] = {
            name: ([], []) for name in [MODEL, *wide.columns]}
        for split in range(settings.splits):
            order = np.random.default_rng((settings.seed, split)).permutation(len(truth))
            train, test = order[:k], order[k:]
            predicted = {MODEL: _fit_predict(features, truth, train, test, settings, split)}
            predicted.update({name: scores[test, i] for i, name in enumerate(wide.columns)})
            for name, values in predicted.items():
                results[name][0].append(metrics.kendall_tau(values, truth[test]))
                results[name][1].append(metrics.spearman_rho(values, truth[test]))
        single = {name: _spread(results[name][0])[0] for name in wide.columns}
        best = max(single, key=lambda name: -np.inf if np.isnan(single[name]) else single[name])
        for name, (kendalls, spearmans) in results.items():
            kendall_mean, kendall_std = _spread(kendalls)
            spearman_mean, spearman_std = _spread(spearmans)
            rows.append({**labels, "k": k, "n_test": len(truth) - k, "splits": settings.splits,
                         "predictor": name, "best_single": name == best,
                         "kendall": kendall_mean, "kendall_std": kendall_std,
                         "spearman": spearman_mean, "spearman_std": spearman_std})
    return rows


def predict(run_dir: Path | str, settings: PredictSettings,
            notes: list[str] | None = None) -> pd.DataFrame:
    """One row per (sample, k, predictor): held-out Kendall and Spearman (mean, std over the
    splits) of the fitted model (``predictor`` = ``"boosting"``) and of each single scorer;
    ``notes`` gathers what was left out and why."""
    notes = [] if notes is None else notes
    if not settings.train or settings.splits < 1:
        raise ConfigError("--train needs one or more k and --splits at least 1")
    run_dir = Path(run_dir)
    trials = load_trials(run_dir)
    if trials.empty:
        raise HarnessError(f"{run_dir} holds no trials yet; run `harness compare --out "
                           f"{run_dir}` first")
    if settings.scorers is not None:
        unknown = sorted(set(settings.scorers) - set(trials.scorer))
        if unknown:
            raise ConfigError(f"--scorers {','.join(unknown)}: not in {run_dir} (its scorers: "
                              f"{', '.join(sorted(set(trials.scorer)))})")
        trials = trials[trials.scorer.isin(settings.scorers)]
    trials = trials.assign(score=np.where(trials.status == "ok", trials.score, np.nan))
    labels = scorer_labels(trials)
    trials = trials.assign(label=[labels[key] for key in
                                  zip(trials.scorer, trials.scorer_config_hash, strict=True)])
    truths = _truth(run_dir, settings.metric)
    rows: list[dict[str, Any]] = []
    for sample, group in trials.groupby(list(SAMPLE_COLUMNS), sort=True):
        space, dataset = sample[0], sample[1]
        if (space, dataset) not in truths:
            notes.append(f"{space}/{dataset}: no ground truth {settings.metric or '(default)'}")
            continue
        metric_name, truth_by_arch = truths[(space, dataset)]
        wide = group.pivot_table(index="arch_id", columns="label", values="score",
                                 aggfunc="first", dropna=False).sort_index()
        truth = truth_by_arch.reindex(wide.index).to_numpy(float)
        keep = np.isfinite(truth)
        wide, truth = wide[keep], truth[keep]
        encoding = (_encodings(space, list(wide.index), notes) if settings.encode else None)
        sample_labels = {**dict(zip(SAMPLE_COLUMNS, sample, strict=True)), "metric": metric_name}
        rows += _sample_rows(wide, truth, encoding, settings, sample_labels, notes)
    notes[:] = list(dict.fromkeys(notes))
    return pd.DataFrame(rows)


def predict_table(frame: pd.DataFrame) -> Table:
    """The rows of ``predict`` as a report table (Kendall and Spearman with their std)."""
    table = Table(name="predict", title="Few-label combination: held-out ranking quality",
                  caption="Gradient boosting fitted on the scores (and arch encoding) of k "
                          "archs, evaluated on the rest; each single scorer on the same held-out "
                          "archs without fitting; mean and sample std over the splits; * = the "
                          "best single scorer.",
                  labels=["space", "dataset", "metric", "seed", "init", "k", "predictor"],
                  columns=["n_test", "kendall", "kendall_std", "spearman", "spearman_std"])
    for row in frame.itertuples(index=False):
        name = f"{row.predictor} *" if row.best_single else row.predictor
        init = f"{row.weight_init}/{row.bias_init}"
        table.rows.append(([row.space, row.dataset, row.metric, str(row.seed), init, str(row.k),
                            name],
                           [Cell(value=int(row.n_test)), Cell(value=row.kendall),
                            Cell(value=row.kendall_std), Cell(value=row.spearman),
                            Cell(value=row.spearman_std)]))
    return table
