"""Registers the built-in exchange format ``naslib-zc`` (``naslib_zc.py``)."""

from __future__ import annotations

from harness.hookspecs import Register, hookimpl
from harness.protocols import ExchangeFormat


@hookimpl
def harness_register_exchange_formats(register: Register[ExchangeFormat]) -> None:
    from harness.plugins.exchange.naslib_zc import NaslibZeroCost

    register(NaslibZeroCost())
