"""Registers the built-in weight and bias initialization schemes of ``harness.seeding``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.hookspecs import Register, hookimpl
from harness.protocols import Initializer


@dataclass(frozen=True)
class InitScheme:
    """A function ``function(model)`` registered as the ``kind`` ("weight" or "bias") scheme
    ``name``; an ``Initializer``."""

    name: str
    kind: str
    function: Callable[[Any], None]

    def __call__(self, model: Any) -> None:
        self.function(model)


@hookimpl
def harness_register_initializers(register: Register[Initializer]) -> None:
    from harness import seeding

    for name, function in seeding.WEIGHT_INITS.items():
        register(InitScheme(name, "weight", function))
    for name, function in seeding.BIAS_INITS.items():
        register(InitScheme(name, "bias", function))
