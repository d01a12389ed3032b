"""The Python API: what a notebook calls, the same code paths as the command line.

- ``score(model, scorer, inputs=..., targets=...)``: one scorer (or several) on a plain
  ``nn.Module``, no space and no run folder: the call zero-cost-nas's ``find_measures`` makes.
- ``compare(spaces=..., scorers=..., samples=..., out=...)``: a whole comparison, as
  ``harness compare`` runs it (plan, execute, store); returns a ``Run``.
- ``load_trials(run, with_truth=True)``: a run's trials as a DataFrame, joined with the ground
  truth (what ``harness export`` writes).
- ``ground_truth("nb201", dataset="cifar10-valid")``: a benchmark's accuracies as a DataFrame.
- ``report(run, aggregates=[...])``: a run's ``Report`` (rows, tables), with rank combinations
  of its scorers (``harness report --aggregate``).
- ``predict(run, train=[10, 50])``: few-label combination (``harness predict``), a DataFrame.

docs/python-api.md walks through them. ``harness/__init__.py`` imports this module on first use,
so ``import harness`` stays light.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigError, DataNotPreparedError
from harness.names import split_names

if TYPE_CHECKING:
    import pandas as pd
    import torch

    from harness.execute import RunSummary
    from harness.protocols import Batch
    from harness.reports import Report

# The name scorers see as the space of a bare module: no space-specific option applies to it.
MODULE_SPACE = "module"


class _ModuleSpace:
    """A stand-in space around one ``nn.Module``: every ``build_model`` call returns a fresh
    deep copy of it (the same weights every time), as ``find_measures`` scores a copy."""

    name = MODULE_SPACE
    datasets: dict[str, str] = {}

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model

    def build_model(self, arch_id: str, *, num_classes: int, **options: Any) -> torch.nn.Module:
        if options:
            raise ConfigError(f"scorer options {sorted(options)} build a space's model; a "
                              f"plain module is scored as it is")
        return copy.deepcopy(self.model)


class _TappedModuleSpace(_ModuleSpace):
    """The stand-in for a module with ``forward_taps(inputs)``: GenNAS reads its feature maps
    (``harness.protocols.TappedSpace``)."""

    def forward_taps(self, model: torch.nn.Module, inputs: torch.Tensor) -> list[torch.Tensor]:
        return list(model.forward_taps(inputs))


def score(model: torch.nn.Module, scorer: str | Sequence[str], *,
          inputs: torch.Tensor | None = None, targets: torch.Tensor | None = None,
          seed: int = 0, input_shape: tuple[int, int, int] | None = None,
          num_classes: int | None = None, device: str = "cpu",
          options: dict[str, Any] | None = None) -> float | dict[str, float]:
    """Score ``model`` with ``scorer``: a float, or ``{name: float}`` for a list of names.

    ``inputs`` (N, C, H, W) and ``targets`` (N,) are the batch the scorer reads (scorers that
    need none, such as synflow, take their input shape from ``inputs`` or ``input_shape``).
    The model is never changed: each scorer works on deep copies. ``seed`` seeds python, numpy
    and torch before each scorer, as a trial does. ``num_classes``: default 1 + the largest
    target. ``options``: overrides of the scorer's defaults (``split_data``, GenNAS training
    settings...); the batch is the one given, whatever ``batch_size`` says. GenNAS needs
    ``model.forward_taps(inputs)`` returning three feature maps (docs/python-api.md).
    A scorer that fails raises; one that cannot apply raises ``harness.errors.ScorerSkipped``.
    """
    names = [scorer] if isinstance(scorer, str) else list(scorer)
    values = {name: _score_one(model, name, inputs, targets, seed, input_shape, num_classes,
                               device, options or {}) for name in names}
    return values[names[0]] if isinstance(scorer, str) else values


def _score_one(model: torch.nn.Module, name: str, inputs: torch.Tensor | None,
               targets: torch.Tensor | None, seed: int,
               input_shape: tuple[int, int, int] | None, num_classes: int | None, device: str,
               options: dict[str, Any]) -> float:
    """One scorer on ``model``, through the ``ScoringContext`` a trial builds."""
    import torch

    from harness import seeding
    from harness.plan import scorer_config
    from harness.protocols import ScoringContext
    from harness.registry import get_registry
    from harness.store import trial_key_config

    plugin = get_registry().get("scorer", name)
    # As a trial's scorer reads it: the network options only choose a space's builder options.
    config = trial_key_config(scorer_config(plugin, options, None, None), {})
    batch = _batch(inputs, targets, name, bool(plugin.needs_inputs))
    shape = tuple(inputs.shape[1:]) if inputs is not None else input_shape
    if shape is None:
        raise ConfigError(f"{name}: give inputs=, or input_shape=(C, H, W)")
    torch_device = torch.device(device)
    space = _TappedModuleSpace(model) if hasattr(model, "forward_taps") else _ModuleSpace(model)

    def build_model(**builder_options: Any) -> torch.nn.Module:
        seeding.seed_everything(seed)
        builder_options.pop("num_classes", None)
        return space.build_model("module", num_classes=0, **builder_options).to(
            torch_device).train()

    generator = seeding.seed_everything(seed)
    ctx = ScoringContext(
        space=space, arch_id="module", dataset="", input_shape=shape,
        num_classes=num_classes if num_classes is not None else _classes(targets),
        batch=None if batch is None else batch.to(torch_device),
        config=config, device=torch_device, trial_seed=seed, generator=generator,
        build_model=build_model, run_seed=seed)
    return float(plugin.score(ctx))


def _batch(inputs: torch.Tensor | None, targets: torch.Tensor | None, scorer: str,
           needs_inputs: bool) -> Batch | None:
    """The ``Batch`` of ``inputs`` and ``targets``; ``ConfigError`` when the scorer needs one
    and none was given."""
    from harness.protocols import Batch

    if inputs is None:
        if needs_inputs:
            raise ConfigError(f"scorer {scorer!r} reads a batch of images: pass inputs= (and "
                              f"targets=)")
        return None
    if targets is None:
        if needs_inputs:
            raise ConfigError(f"scorer {scorer!r} needs targets= (the inputs' labels)")
        import torch

        targets = torch.zeros(len(inputs), dtype=torch.long)
    if len(targets) != len(inputs):
        raise ConfigError(f"inputs has {len(inputs)} images but targets has {len(targets)} "
                          f"labels")
    return Batch(inputs, targets.long())


def _classes(targets: torch.Tensor | None) -> int:
    return int(targets.max()) + 1 if targets is not None and len(targets) else 1


@dataclass(frozen=True)
class Run:
    """A comparison's run folder and what the last call did (``summary``, None when opened)."""

    run_dir: Path
    summary: RunSummary | None = None
    notes: tuple[str, ...] = ()

    def trials(self, with_truth: bool = True) -> pd.DataFrame:
        """Shorthand for ``load_trials(self, with_truth)``."""
        return load_trials(self, with_truth=with_truth)

    def report(self, **settings: Any) -> Report:
        """Shorthand for ``report(self, **settings)``."""
        return report(self, **settings)


def compare(*, spaces: str | Sequence[str] = "all", scorers: str | Sequence[str] = "all",
            samples: int | None = 100, out: str | Path | None = None,
            report: str | None = None, progress: bool = False, **settings: Any) -> Run:
    """Run a comparison as ``harness compare`` does and return its ``Run``.

    ``spaces``/``scorers``: names (a list, or comma-separated text), or ``"all"``.
    ``samples``: archs per space (None: all). ``settings``: any other ``RunConfig`` field,
    e.g. ``seeds=[0, 1]``, ``datasets=["cifar10-valid"]``, ``workers=0`` (in this process),
    ``data_dir=...``, ``options={"naswot": {"batch_size": 32}}``. Resumes like the command: a
    second call with the same arguments runs only the missing trials. ``report``: formats to
    write into the run folder (e.g. ``"md,html"``); none by default.
    """
    from harness.config import RunConfig
    from harness.execute import execute_plan
    from harness.plan import plan_run

    config = RunConfig(spaces=_names(spaces), scorers=_names(scorers), samples=samples,
                       out=None if out is None else str(out), **settings)
    plan = plan_run(config)
    summary = execute_plan(plan, progress=progress, command=["harness.compare()"])
    if summary.stop_signal is not None:
        raise KeyboardInterrupt(f"the run stopped after {summary.ran} trials; call compare "
                                f"again with the same arguments to finish it")
    if report:
        from harness.reports import build_report, write_reports

        write_reports(build_report(summary.run_dir), summary.run_dir, report)
    return Run(summary.run_dir, summary, tuple(plan.notes))


def _names(value: str | Sequence[str]) -> list[str]:
    """``"a,b"`` or ``["a", "b"]`` -> ``["a", "b"]``."""
    return split_names(value) if isinstance(value, str) else list(value)


def report(run: Run | str | Path, *, aggregates: Sequence[str] = (),
           top_ks: Sequence[int] | None = None, metric: str | dict[str, str] | None = None,
           bootstrap: int = 0, seed: int = 0, paper: bool = False,
           formats: str | None = None) -> Report:
    """The report of ``run`` (a ``Run`` or a run folder) as ``harness report`` builds it: its
    ``rows`` (one ``CorrelationRow`` per cell: ``row.value("kendall")``, ``"ndcg@10"``...) and
    ``tables`` (``report.table("top_k")``). ``aggregates``: rank combinations to add, each a
    registered aggregate's name or ``"[NAME=]SCORER,SCORER[:METHOD]"`` (docs/aggregates.md);
    ``top_ks``: the K of nDCG@K, precision@K... (default 10); ``formats``: also write these
    report files into the run folder (e.g. ``"md,json"``)."""
    from harness.metrics import TOP_K_ARCHS
    from harness.reports import build_report, write_reports

    run_dir = run.run_dir if isinstance(run, Run) else Path(run)
    built = build_report(run_dir, metric=metric, bootstrap=bootstrap, seed=seed, paper=paper,
                         top_ks=tuple(top_ks or TOP_K_ARCHS), aggregates=list(aggregates))
    if formats:
        write_reports(built, run_dir, formats)
    return built


def predict(run: Run | str | Path, *, train: int | Sequence[int], splits: int = 10,
            seed: int = 0, metric: str | None = None, encoding: bool = True,
            scorers: Sequence[str] | None = None) -> pd.DataFrame:
    """``harness predict``: gradient boosting fitted on the scores (and the space's arch
    encoding, unless ``encoding=False``) of ``train`` archs with known accuracy, drawn
    ``splits`` times; one row per (sample, k, predictor) with the held-out ``kendall``,
    ``spearman`` and their ``*_std``, the fitted model as predictor ``"boosting"`` beside every
    single scorer (``best_single`` marks the best). ``scorers``: fit on these scorers only
    (default: every scorer of the run). ``frame.attrs["notes"]``: what was left out."""
    from harness.reports.predict import PredictSettings
    from harness.reports.predict import predict as predict_run

    run_dir = run.run_dir if isinstance(run, Run) else Path(run)
    ks = (train,) if isinstance(train, int) else tuple(train)
    notes: list[str] = []
    frame = predict_run(run_dir, PredictSettings(ks, splits, seed, metric, encoding,
                                                 tuple(scorers) if scorers else None), notes)
    frame.attrs["notes"] = notes
    return frame


def load_trials(run: Run | str | Path, with_truth: bool = False) -> pd.DataFrame:
    """Every trial of ``run`` (a ``Run`` or a run folder), one row each. ``with_truth``: add
    ``truth_metric`` and ``truth``, the default ground-truth metric of the trial's (space,
    dataset) and the arch's value, as ``harness export`` writes them."""
    run_dir = run.run_dir if isinstance(run, Run) else Path(run)
    if with_truth:
        from harness.export import trials_with_truth

        return trials_with_truth(run_dir)
    from harness.store import load_trials as stored_trials

    return stored_trials(run_dir)


def ground_truth(space: str, dataset: str | None = None, *,
                 data_dir: str | Path | None = None) -> pd.DataFrame:
    """``space``'s ground truth, one row per arch (index ``arch_id``): the prepared table under
    the data dir, else the one bundled with the package. ``dataset``: keep only its metrics
    (e.g. ``"cifar10-valid"`` -> ``cifar10-valid/x-valid``, ``cifar10-valid/ori-test``) and
    the columns of no metric (``params``...). ``frame.attrs`` holds ``source`` (where the
    numbers come from), ``default_metric`` and ``bundled``."""
    from harness.datadir import resolve_data_dir
    from harness.protocols import BundledSpace
    from harness.registry import get_registry

    plugin = get_registry().get("space", space)
    folder = resolve_data_dir(data_dir)
    bundled = False
    try:
        table = plugin.ground_truth(folder)
    except (DataNotPreparedError, FileNotFoundError):
        table = plugin.bundled_ground_truth() if isinstance(plugin, BundledSpace) else None
        if table is None:
            raise
        bundled = True
    frame = table.frame
    if dataset is not None:
        if dataset not in table.datasets:
            raise ConfigError(f"{space} has no ground truth for dataset {dataset!r}; it has "
                              f"{', '.join(table.datasets)}")
        other = {m.name for m in table.metrics if m.dataset != dataset}
        frame = frame[[column for column in frame.columns if column not in other]]
    frame = frame.copy()
    frame.attrs.update(source=table.source, default_metric=table.default_metric,
                       bundled=bundled)
    return frame
