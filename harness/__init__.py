"""nas-harness: rank-correlation benchmarks for NAS proxy scorers.

Writing a plugin
================
A plugin is any module with functions marked ``@harness.hookimpl`` that implement hooks of
``harness.hookspecs``, listed in its distribution's ``pyproject.toml``::

    [project.entry-points.harness]
    my_scorers = "my_package.scorers"

and, in ``my_package/scorers.py``::

    import harness

    class ParamCount:
        name = "my-params"
        needs_inputs = False
        defaults = {"batch_size": 1}

        def score(self, ctx: harness.ScoringContext) -> float:
            model = ctx.build_model()
            return float(sum(p.numel() for p in model.parameters()))

    @harness.hookimpl
    def harness_register_scorers(register):
        register(ParamCount())

After ``pip install``, ``harness plugins`` lists it and ``harness compare --scorers my-params``
uses it. Each plugin kind's contract (what the harness calls) is a Protocol in
``harness.protocols``; ``examples/`` holds a complete third-party distribution.
"""

from importlib.metadata import PackageNotFoundError, version

from harness.hookspecs import hookimpl
from harness.protocols import (
    Batch,
    Dataset,
    Executor,
    Reporter,
    Scorer,
    ScoringContext,
    Searcher,
    SearchResult,
    Space,
)
from harness.store import load_trials

try:
    __version__ = version("nas-harness")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "Batch", "Dataset", "Executor", "Reporter", "Scorer", "ScoringContext", "SearchResult",
    "Searcher", "Space", "hookimpl", "load_trials", "__version__",
]
