"""Registers the built-in named aggregates: ``az_nas``, ``te_nas``, ``vkdnw_single`` and
``vkdnw_agg`` (``named.py``)."""

from __future__ import annotations

from harness.hookspecs import Register, hookimpl
from harness.protocols import Aggregate


@hookimpl
def harness_register_aggregates(register: Register[Aggregate]) -> None:
    from harness.plugins.aggregates.named import AGGREGATES

    for aggregate in AGGREGATES:
        register(aggregate)
