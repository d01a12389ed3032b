"""nas-harness: rank-correlation benchmarks for NAS proxy scorers.

Using it from Python
====================
``harness.score(model, "synflow", inputs=images, targets=labels)`` scores a plain
``nn.Module``; ``harness.compare(spaces="nb201", scorers="synflow,naswot", samples=30)`` runs
a comparison like ``harness compare`` and returns a ``harness.Run``;
``harness.load_trials(run, with_truth=True)`` reads its trials joined with the ground truth;
``harness.ground_truth("nb201", dataset="cifar10-valid")`` is a benchmark's table.
docs/python-api.md is the walk-through.

Writing a plugin
================
A plugin is a registration module, by convention ``plugin.py``, with functions marked
``@harness.hookimpl`` that implement hooks of ``harness.hookspecs``, listed in its
distribution's ``pyproject.toml``::

    [project.entry-points.harness]
    my_scorers = "my_package.plugin"

The hook functions import the implementation inside the function: the harness imports every
plugin's registration module to build its command line, and calls a hook only when it needs
that kind of plugin, so ``harness --help`` never pays for your imports. ``my_package/plugin.py``::

    import harness

    @harness.hookimpl
    def harness_register_scorers(register):
        from my_package.param_count import ParamCount

        register(ParamCount())

and ``my_package/param_count.py``::

    import harness

    class ParamCount:
        name = "my-params"
        needs_inputs = False
        defaults = {"batch_size": 1}

        def score(self, ctx: harness.ScoringContext) -> float:
            model = ctx.build_model()
            return float(sum(p.numel() for p in model.parameters()))

After ``pip install``, ``harness plugins`` lists it and ``harness compare --scorers my-params``
uses it. Each plugin kind's contract (what the harness calls) is a Protocol in
``harness.protocols``, optional abilities (``MutableSpace``, ``FetchableDataset``, ...) included;
``examples/`` holds a complete third-party distribution.
"""

from typing import TYPE_CHECKING, Any

from harness.hookspecs import hookimpl
from harness.protocols import (
    Aggregate,
    Batch,
    Dataset,
    ExchangedScore,
    ExchangeFormat,
    ExchangeRead,
    Executor,
    Initializer,
    Reporter,
    Scorer,
    ScoringContext,
    Searcher,
    SearchResult,
    Space,
)
from harness.version import __version__

# The Python API (harness.api, docs/python-api.md): imported on first use, so that
# `import harness` and `harness --help` never load torch, pandas or the store.
API_NAMES = ("Run", "compare", "ground_truth", "load_trials", "predict", "report", "score")

__all__ = [
    "Aggregate", "Batch", "Dataset", "ExchangeFormat", "ExchangeRead", "ExchangedScore",
    "Executor", "Initializer", "Reporter", "Scorer",
    "ScoringContext", "SearchResult", "Searcher", "Space", "hookimpl", "__version__",
    "Run", "compare", "ground_truth", "load_trials", "predict", "report", "score",
]

if TYPE_CHECKING:
    from harness.api import Run, compare, ground_truth, load_trials, predict, report, score


def __getattr__(name: str) -> Any:
    """``harness.score``, ``compare``, ``report``, ``predict``, ``load_trials``,
    ``ground_truth`` and ``Run`` import ``harness.api`` on first use, not at start-up."""
    if name in API_NAMES:
        from harness import api

        return getattr(api, name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")
