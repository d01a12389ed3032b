"""Registers the ``nb101`` space (``space.py``)."""

from harness.hookspecs import Register, hookimpl
from harness.protocols import Space


@hookimpl
def harness_register_spaces(register: Register[Space]) -> None:
    from harness.plugins.spaces.nb101.space import NB101Space

    register(NB101Space())
