"""The whole plugin surface: one hook per plugin kind, each taking a ``register`` callback.

A plugin module implements any of these with ``@harness.hookimpl`` and is listed under the
``harness`` entry-point group of its distribution. ``register(obj)`` validates ``obj`` against
the Protocol named in the hook's signature (``Register[Space]``: a ``harness.protocols.Space``)
and its name against every other plugin's. The registry reads its table of plugin kinds from
these signatures, so a new kind is one new hook here and one new Protocol.
"""

from collections.abc import Callable
from typing import Any, TypeVar

import pluggy

from harness.protocols import (
    Aggregate,
    Dataset,
    ExchangeFormat,
    Executor,
    Initializer,
    Reporter,
    Scorer,
    Searcher,
    Space,
)

hookspec = pluggy.HookspecMarker("harness")
hookimpl = pluggy.HookimplMarker("harness")

_Plugin = TypeVar("_Plugin")
Register = Callable[[_Plugin], None]
"""The callback a ``harness_register_*`` hook receives: ``register(obj)``, once per object."""


@hookspec
def harness_register_spaces(register: Register[Space]) -> None:
    """Register search spaces.

    :param register: call ``register(space)`` once per ``harness.protocols.Space`` object.
    """


@hookspec
def harness_register_scorers(register: Register[Scorer]) -> None:
    """Register proxy scorers.

    :param register: call ``register(scorer)`` once per ``harness.protocols.Scorer`` object.
    """


@hookspec
def harness_register_aggregates(register: Register[Aggregate]) -> None:
    """Register named rank combinations of scorers (AZ-NAS's, TE-NAS's, ...).

    :param register: call ``register(aggregate)`` once per ``harness.protocols.Aggregate``:
        an object with ``name``, ``parts`` (scorer names) and ``method`` (how their ranks
        combine: ``mean_rank``, ``log_rank`` or ``lexicographic``).
    """


@hookspec
def harness_register_searchers(register: Register[Searcher]) -> None:
    """Register architecture searchers.

    :param register: call ``register(searcher)`` once per ``harness.protocols.Searcher`` object.
    """


@hookspec
def harness_register_datasets(register: Register[Dataset]) -> None:
    """Register input datasets.

    :param register: call ``register(dataset)`` once per ``harness.protocols.Dataset`` object.
    """


@hookspec
def harness_register_executors(register: Register[Executor]) -> None:
    """Register trial executors (local pool, Slurm, Ray, ...).

    :param register: call ``register(executor)`` once per ``harness.protocols.Executor`` object.
    """


@hookspec
def harness_register_reporters(register: Register[Reporter]) -> None:
    """Register report writers, one per output format.

    :param register: call ``register(reporter)`` once per ``harness.protocols.Reporter`` object.
    """


@hookspec
def harness_register_exchange_formats(register: Register[ExchangeFormat]) -> None:
    """Register other tools' score files (``harness import NAME FILE``, ``harness export
    --format NAME``).

    :param register: call ``register(fmt)`` once per ``harness.protocols.ExchangeFormat``: an
        object with ``name``, ``read(path, *, space, datasets)`` and
        ``write(scores, path, *, space, truth)``.
    """


@hookspec
def harness_register_initializers(register: Register[Initializer]) -> None:
    """Register weight or bias initialization schemes.

    :param register: call ``register(initializer)`` once per ``harness.protocols.Initializer``:
        an object with ``name``, ``kind`` (``"weight"`` or ``"bias"``) and
        ``__call__(model: torch.nn.Module) -> None`` initializing in place.
    """


@hookspec
def harness_register_commands(cli: Any) -> None:
    """Add sub-commands to the ``harness`` command line.

    :param cli: the ``argparse`` sub-parsers object; call ``cli.add_parser(name, help=...)`` and
        ``set_defaults(func=callable)`` on the parser; ``callable(args) -> int`` is the exit code.
    """
