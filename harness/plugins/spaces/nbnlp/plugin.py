"""Registers the ``nbnlp`` space (``space.py``) and its token datasets ``wikitext2`` and
``ptb`` (``tokens.py``)."""

from harness.hookspecs import Register, hookimpl
from harness.protocols import Dataset, Space


@hookimpl
def harness_register_spaces(register: Register[Space]) -> None:
    from harness.plugins.spaces.nbnlp.space import NBNLPSpace

    register(NBNLPSpace())


@hookimpl
def harness_register_datasets(register: Register[Dataset]) -> None:
    from harness.plugins.spaces.nbnlp.tokens import PTB, WIKITEXT2

    register(WIKITEXT2)
    register(PTB)
