"""Registers the NDS spaces (``nds-darts``, ``nds-resnet``, ...; ``space.py``), one per design
space. ``harness data prepare nds`` and ``--spaces nds`` name them all as a family."""

from harness.hookspecs import Register, hookimpl
from harness.protocols import Space


@hookimpl
def harness_register_spaces(register: Register[Space]) -> None:
    from harness.plugins.spaces.nds.space import NDSSpace
    from harness.plugins.spaces.nds.sweeps import SPACE_NAMES

    for name in SPACE_NAMES:
        register(NDSSpace(name))
