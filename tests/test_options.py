"""Scorer options checked by a pydantic model made from the scorer's defaults and ranges."""

from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from harness.errors import ConfigError
from harness.options import check_options, options_model


@dataclass
class Ranged:
    """A scorer with options of every kind a default can have, and declared bounds."""

    name: str = "ranged"
    needs_inputs: bool = True
    defaults: dict[str, Any] = field(default_factory=lambda: {
        "batch_size": 8, "lr": 0.1, "steps": 3, "flag": False, "mode": "fast",
        "inputs": {"split": "train", "size": 4}, "layers": [1, 2], "anything": None})
    option_ranges: ClassVar[dict] = {"lr": (0, 1), "inputs.size": (1, 64)}

    def score(self, ctx: Any) -> float:
        return 0.0


def _with(**overrides: Any) -> dict[str, Any]:
    return {**Ranged().defaults, **overrides}


@pytest.mark.parametrize(("overrides", "message"), [
    ({"batch_size": -4}, "--option ranged.batch_size=-4: must be at least 1"),
    ({"batch_size": 2.5}, "ranged.batch_size=2.5: expects an integer (default 8)"),
    ({"batch_size": "8"}, "ranged.batch_size='8': expects an integer"),
    ({"steps": True}, "ranged.steps=True: expects an integer"),
    ({"lr": 1.5}, "ranged.lr=1.5: must be at most 1"),
    ({"lr": float("inf")}, "ranged.lr=inf: expects a finite number (default 0.1)"),
    ({"flag": 1}, "ranged.flag=1: expects true or false"),
    ({"mode": 3}, "ranged.mode=3: expects a string"),
    ({"inputs": 3}, "ranged.inputs=3: expects a JSON object"),
    ({"inputs": {"split": "train", "size": 0}}, "ranged.inputs.size=0: must be at least 1"),
    ({"inputs": {"split": 7, "size": 4}}, "ranged.inputs.split=7: expects a string "
                                          "(default 'train')"),
    ({"layers": "1,2"}, "ranged.layers='1,2': expects a JSON list (default [1, 2])"),
])
def test_a_refused_option_names_it_and_the_rule(overrides, message):
    with pytest.raises(ConfigError) as caught:
        check_options(Ranged(), _with(**overrides))
    assert message in str(caught.value)


@pytest.mark.parametrize("overrides", [
    {},
    {"lr": 1},  # an integer is a number
    {"lr": 0, "batch_size": 1},  # the bounds are inclusive
    {"layers": (3,)},  # a tuple is a list
    {"anything": {"x": [1]}},  # a None default takes any value
    {"inputs": {"split": "test", "size": 64, "extra": "kept"}},  # unlisted keys pass
])
def test_accepted_options(overrides):
    check_options(Ranged(), _with(**overrides))


def test_the_model_lists_every_default_and_the_network_options():
    assert list(options_model(Ranged()).model_fields) == ["network", "model_options",
                                                          *Ranged().defaults]


@pytest.mark.parametrize("overrides", [{"network": 3}, {"model_options": "nb201"}])
def test_network_options_are_typed(overrides):
    with pytest.raises(ConfigError):
        check_options(Ranged(), _with(**overrides))
