"""Registers the built-in searchers (``algorithms.py``): ``random`` and ``evolution``."""

from harness.hookspecs import Register, hookimpl
from harness.protocols import Searcher


@hookimpl
def harness_register_searchers(register: Register[Searcher]) -> None:
    from harness.plugins.searchers.algorithms import RandomSearch, RegularizedEvolution

    register(RandomSearch())
    register(RegularizedEvolution())
