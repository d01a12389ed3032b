"""NAS-Bench-NLP recipes: parse, validate, order and hash the recurrent cell's DAG.

A recipe (Klyuchnikov et al., "NAS-Bench-NLP", 2020; github.com/fmsnew/nas-bench-nlp-release)
is a JSON object ``{node name: {"op": OP, "input": [names...]}}``. Names an input may use:
``x`` (the step's input), ``h_prev_k`` (element k of the previous hidden tuple) and any node of
the recipe. Nodes ``h_new_0 .. h_new_{n-1}`` form the new hidden tuple; ``h_new_0`` is the
step's output. Every problem (not an object, unknown op, wrong number of inputs, unknown
input, cycle, missing ``h_new_0``, a gap in the ``h_new_k`` or a ``h_prev_k`` beyond them) is
one ``ConfigError`` naming the node and what is allowed.

Arch ids: a benchmark recipe is named by its log's ``recepie_id``; any other recipe by
``recipe_hash`` (``sha:`` + 16 hex digits of the sha256 of its compact sorted-key JSON).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from harness.errors import ConfigError

# op -> (least, most) inputs; the logs' generator used 2-3 for linear, 2 for the elementwise
# ops, 3 for blend, 1 for activations. The elementwise ops are n-ary by definition.
OP_ARITY: dict[str, tuple[int, int]] = {
    "linear": (1, 3),
    "elementwise_prod": (2, 3),
    "elementwise_sum": (2, 3),
    "blend": (3, 3),
    "activation_tanh": (1, 1),
    "activation_sigm": (1, 1),
    "activation_leaky_relu": (1, 1),
}
INPUT = "x"
_HIDDEN_OUT = re.compile(r"h_new_(\d+)")
_HIDDEN_IN = re.compile(r"h_prev_(\d+)")


@dataclass(frozen=True)
class Node:
    """One recipe node: its name, op and input names (in recipe order)."""

    name: str
    op: str
    inputs: tuple[str, ...]


@dataclass(frozen=True)
class Recipe:
    """A validated recipe; ``nodes`` are in a topological order (recipe order where free)."""

    nodes: tuple[Node, ...]
    hidden_count: int

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The JSON object of the official format."""
        return {node.name: {"op": node.op, "input": list(node.inputs)} for node in self.nodes}

    def to_json(self) -> str:
        """Compact JSON with sorted keys: equal recipes give equal text."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @property
    def linear_nodes(self) -> list[Node]:
        return [node for node in self.nodes if node.op == "linear"]


def recipe_hash(recipe: Recipe) -> str:
    """The arch id of a recipe that has no benchmark ``recepie_id``."""
    return "sha:" + hashlib.sha256(recipe.to_json().encode()).hexdigest()[:16]


def parse_recipe(value: Any) -> Recipe:
    """Validate a recipe given as a dict or its JSON text (see the module docstring)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"recipe is not valid JSON ({exc}); expected an object "
                              f'{{"node": {{"op": ..., "input": [...]}}}}') from exc
    if not isinstance(value, dict) or not value:
        raise ConfigError(f"a recipe must be a non-empty JSON object of nodes, got "
                          f"{type(value).__name__}")
    nodes = [_parse_node(name, spec) for name, spec in value.items()]
    hidden_count = _check_outputs(nodes)
    _check_inputs(nodes, hidden_count)
    return Recipe(tuple(_topological_order(nodes)), hidden_count)


def _parse_node(name: Any, spec: Any) -> Node:
    if not isinstance(name, str) or name == INPUT or _HIDDEN_IN.fullmatch(name):
        raise ConfigError(f"recipe node name {name!r} is reserved for a cell input (x, h_prev_k)")
    if not isinstance(spec, dict) or set(spec) != {"op", "input"}:
        raise ConfigError(f"recipe node {name!r} must be an object with exactly 'op' and "
                          f"'input', got {spec!r}")
    op, inputs = spec["op"], spec["input"]
    if op not in OP_ARITY:
        raise ConfigError(f"recipe node {name!r} has unknown op {op!r}; known ops: "
                          f"{', '.join(OP_ARITY)}")
    if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
        raise ConfigError(f"recipe node {name!r}: 'input' must be a list of node names")
    least, most = OP_ARITY[op]
    if not least <= len(inputs) <= most:
        raise ConfigError(f"recipe node {name!r}: {op} takes {least}-{most} inputs, got "
                          f"{len(inputs)}")
    return Node(name, op, tuple(inputs))


def _check_outputs(nodes: list[Node]) -> int:
    """The hidden-tuple size: outputs must be h_new_0 .. h_new_{n-1} without gaps."""
    indices = sorted(int(m.group(1)) for node in nodes if (m := _HIDDEN_OUT.fullmatch(node.name)))
    if 0 not in indices:
        raise ConfigError("recipe has no node 'h_new_0' (the cell's output); every recipe needs "
                          "one")
    if indices != list(range(len(indices))):
        raise ConfigError(f"recipe outputs must be h_new_0..h_new_{{n-1}} without gaps, got "
                          f"{', '.join(f'h_new_{i}' for i in indices)}")
    return len(indices)


def _check_inputs(nodes: list[Node], hidden_count: int) -> None:
    names = {node.name for node in nodes}
    for node in nodes:
        for source in node.inputs:
            match = _HIDDEN_IN.fullmatch(source)
            if match and int(match.group(1)) >= hidden_count:
                raise ConfigError(f"recipe node {node.name!r} reads {source}, but the cell only "
                                  f"has {hidden_count} hidden state(s) (h_new_0..h_new_"
                                  f"{hidden_count - 1})")
            if source != INPUT and not match and source not in names:
                raise ConfigError(f"recipe node {node.name!r} reads unknown input {source!r}; "
                                  f"inputs are x, h_prev_k or a node of the recipe")


def _topological_order(nodes: list[Node]) -> list[Node]:
    """Kahn's algorithm, taking ready nodes in recipe order; a cycle is a ``ConfigError``."""
    by_name = {node.name: node for node in nodes}
    done: set[str] = set()
    ordered: list[Node] = []
    pending = list(nodes)
    while pending:
        ready = next((node for node in pending
                      if all(s in done or s not in by_name for s in node.inputs)), None)
        if ready is None:
            cycle = ", ".join(sorted(node.name for node in pending))
            raise ConfigError(f"recipe has a cycle among nodes {cycle}; a cell must be acyclic "
                              f"(use h_prev_k to read the previous step)")
        ordered.append(ready)
        done.add(ready.name)
        pending.remove(ready)
    return ordered
