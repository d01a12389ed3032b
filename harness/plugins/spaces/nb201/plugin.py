"""Registers the ``nb201`` space (``space.py``)."""

from harness.hookspecs import Register, hookimpl
from harness.protocols import Space


@hookimpl
def harness_register_spaces(register: Register[Space]) -> None:
    from harness.plugins.spaces.nb201.space import NB201Space

    register(NB201Space())
