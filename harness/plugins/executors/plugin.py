"""Registers the built-in ``local`` executor: a pool of worker processes (``local.py``)."""

from harness.hookspecs import Register, hookimpl
from harness.protocols import Executor


@hookimpl
def harness_register_executors(register: Register[Executor]) -> None:
    from harness.plugins.executors.local import LocalExecutor

    register(LocalExecutor())
