"""Random recipes and their mutations, within the rules of the benchmark's generator.

NAS-Bench-NLP (Klyuchnikov et al. 2020, §3) drew its cells as random DAGs over the ops of
``recipe.OP_ARITY``. The rules below are the ones every one of its released recipes obeys
(checked on the 345 WikiText-2 logs by tests/test_nbnlp_space.py): 1-3 hidden states; at most
``MAX_NODES`` nodes; ``linear`` reads 2 or 3 distinct inputs, ``elementwise_*`` 2, ``blend`` 3,
activations 1; the cell reads ``x``; every node feeds some ``h_new_k`` (no dead nodes) and
every hidden state is both written and read.

Sampling builds the graph from the outputs backwards (each node picks its inputs among the
cell inputs and nodes created later, which are placed before it), so it is acyclic by
construction, then rejects graphs that break a rule. Mutation changes one op (to another of
the same arity) or one input (to another legal source) and keeps the result when it obeys the
rules.
"""

from __future__ import annotations

import random

from harness.errors import ConfigError
from harness.plugins.spaces.nbnlp.recipe import INPUT, Node, Recipe, parse_recipe

MAX_NODES = 24
MAX_HIDDEN = 3
GENERATED_ARITY = {"linear": (2, 3), "elementwise_prod": (2, 2), "elementwise_sum": (2, 2),
                   "blend": (3, 3), "activation_tanh": (1, 1), "activation_sigm": (1, 1),
                   "activation_leaky_relu": (1, 1)}
_ATTEMPTS = 1000


def follows_rules(recipe: Recipe) -> bool:
    """Whether ``recipe`` obeys the generator's rules (module docstring)."""
    if len(recipe.nodes) > MAX_NODES or recipe.hidden_count > MAX_HIDDEN:
        return False
    for node in recipe.nodes:
        least, most = GENERATED_ARITY[node.op]
        if not least <= len(node.inputs) <= most or len(set(node.inputs)) != len(node.inputs):
            return False
    read = {source for node in recipe.nodes for source in node.inputs}
    hidden_read = {f"h_prev_{k}" for k in range(recipe.hidden_count)}
    if INPUT not in read or not hidden_read <= read:
        return False
    outputs = {f"h_new_{k}" for k in range(recipe.hidden_count)}
    return all(node.name in outputs or node.name in read for node in recipe.nodes)


def _draw(rng: random.Random) -> dict[str, dict]:
    hidden = rng.randint(1, MAX_HIDDEN)
    count = rng.randint(hidden + 1, MAX_NODES)
    names = [f"h_new_{k}" for k in range(hidden)] + [f"node_{i}" for i in range(count - hidden)]
    cell_inputs = [INPUT] + [f"h_prev_{k}" for k in range(hidden)]
    recipe = {}
    for position, name in enumerate(names):
        op = rng.choice(list(GENERATED_ARITY))
        least, most = GENERATED_ARITY[op]
        sources = cell_inputs + names[position + 1:]
        arity = min(rng.randint(least, most), len(sources))
        recipe[name] = {"op": op, "input": rng.sample(sources, arity)}
    return dict(reversed(recipe.items()))


def random_recipe(rng: random.Random) -> Recipe:
    """One recipe drawn with ``rng`` that obeys the generator's rules."""
    for _ in range(_ATTEMPTS):
        try:
            recipe = parse_recipe(_draw(rng))
        except ConfigError:
            continue
        if follows_rules(recipe):
            return recipe
    raise RuntimeError("no valid NB-NLP recipe in 1000 draws; the generator rules are broken")


def _changed(recipe: Recipe, rng: random.Random) -> dict[str, dict]:
    nodes = list(recipe.nodes)
    index = rng.randrange(len(nodes))
    node = nodes[index]
    if rng.random() < 0.5:
        arity = GENERATED_ARITY[node.op]
        ops = [op for op, other in GENERATED_ARITY.items() if other == arity and op != node.op]
        if ops:
            nodes[index] = Node(node.name, rng.choice(ops), node.inputs)
    else:
        sources = [INPUT] + [f"h_prev_{k}" for k in range(recipe.hidden_count)]
        sources += [n.name for n in nodes[:index]]  # earlier in topological order: no cycle
        slot = rng.randrange(len(node.inputs))
        inputs = list(node.inputs)
        inputs[slot] = rng.choice(sources)
        nodes[index] = Node(node.name, node.op, tuple(inputs))
    return Recipe(tuple(nodes), recipe.hidden_count).to_dict()


def mutate_recipe(recipe: Recipe, rng: random.Random) -> Recipe:
    """A different recipe one op or one input away that obeys the rules."""
    for _ in range(_ATTEMPTS):
        try:
            mutated = parse_recipe(_changed(recipe, rng))
        except ConfigError:
            continue
        if follows_rules(mutated) and mutated.to_json() != recipe.to_json():
            return mutated
    raise ConfigError(f"no mutation of recipe {recipe.to_json()[:80]}... obeys the generator's "
                      f"rules in {_ATTEMPTS} tries")
