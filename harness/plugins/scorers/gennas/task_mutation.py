"""Random GenNAS tasks and their mutation: the search space of the proxy-task search.

Li et al., "Generic Neural Architecture Search via Regression" (NeurIPS 2021), appendix Alg. 1
and Fig. 1 (official code github.com/leeyeehoo/GenNAS, ``do_search``); docs/search.md.

``random_task(rng)`` draws a CNN task key by key: batch size 16; noise type (gaussian or
uniform) and level (0.0, 0.1, ..., 0.9); each level's channel multiplier from {0.25, 0.5,
0.75, 1, 1.25, 1.5}; then for each level and each basis in the order sin1d, sin2d, dot,
resize, dot_gaussian, the basis is present with probability 1/2, with an amplitude from
{0.5, 0.6, ..., 2.9}. A wave basis draws its 10 frequencies uniformly between two sorted
U(0, 0.5) draws and is local with probability 1/2; a dot basis draws ``partial`` ~ U(0, 1) and
its locality; resize has only its amplitude.

``mutate_task(task, rng)`` regenerates each *minimum mutable block* independently with
probability 0.2 (the reference's ``mutate_ratio = 0.8`` is the keep probability): the batch size,
the noise (type and level together), each channel multiplier, and each (level, basis) pair,
15 basis blocks in all. A regenerated block is drawn from the same distribution as above; a
child that comes out equal to its parent is drawn again.
Both return the task's canonical JSON object (``Task.to_dict()``), so ``--option gennas.task=``
takes them as they are.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from harness.plugins.scorers.gennas.task import LEVELS, NUM_FREQUENCIES, parse_task

MUTATION_PROBABILITY = 0.2
MAX_DRAWS = 100  # mutations drawn before a child equal to its parent is accepted
BATCH_SIZE = 16
NOISE_TYPES = ("gaussian", "uniform")
NOISE_LEVELS = tuple(i / 10 for i in range(10))
CHANNEL_MULTIPLIERS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
AMPLITUDES = tuple(0.5 + i / 10 for i in range(25))  # 0.5 .. 2.9
# The order the reference generator visits the bases of a level (it matters for the draws).
GENERATION_ORDER = ("sin1d", "sin2d", "dot", "resize", "dot_gaussian")


def _noise(rng: random.Random) -> dict[str, Any]:
    return {"type": rng.choice(NOISE_TYPES), "noise_level": rng.choice(NOISE_LEVELS)}


def _basis(name: str, rng: random.Random) -> dict[str, Any] | None:
    """One (level, basis) block: absent with probability 1/2, else freshly drawn."""
    if rng.random() < 0.5:
        return None
    block: dict[str, Any] = {"level": rng.choice(AMPLITUDES)}
    if name in ("sin1d", "sin2d"):
        low, high = sorted((rng.uniform(0, 0.5), rng.uniform(0, 0.5)))
        block["range"] = [min(rng.uniform(low, high), 0.5 - 1e-9)
                          for _ in range(NUM_FREQUENCIES)]
        block["local"] = rng.random() < 0.5
    elif name in ("dot", "dot_gaussian"):
        block["partial"] = rng.random()
        block["local"] = rng.random() < 0.5
    return block


def _canonical(task: dict[str, Any]) -> dict[str, Any]:
    """The task's canonical JSON object (validated on the way)."""
    return parse_task(task).to_dict()


def random_task(rng: random.Random) -> dict[str, Any]:
    """A task drawn as the module docstring says, as its canonical JSON object."""
    task: dict[str, Any] = {"batchsize": BATCH_SIZE, "noise": _noise(rng)}
    for level in LEVELS:
        task[f"last_channel_l{level}"] = rng.choice(CHANNEL_MULTIPLIERS)
    task["feature"] = {level: {name: _basis(name, rng) for name in GENERATION_ORDER}
                       for level in LEVELS}
    return _canonical(task)


def mutate_task(task: dict[str, Any], rng: random.Random,
                probability: float = MUTATION_PROBABILITY) -> dict[str, Any]:
    """A copy of ``task`` with each minimum mutable block regenerated with ``probability``.

    A child equal to its parent (no block drawn, or each drawn block came out the same) is
    drawn again, up to ``MAX_DRAWS`` times: the harness instantiates a task from the scoring
    seed, so a copy would only repeat its parent's fitness."""
    parent = _canonical(task)
    parent.pop("description", None)
    child = parent
    for _ in range(MAX_DRAWS if probability > 0 else 1):
        child = _mutated(parent, rng, probability)
        if child != parent:
            break
    return child


def _mutated(parent: dict[str, Any], rng: random.Random, probability: float) -> dict[str, Any]:
    child = copy.deepcopy(parent)
    if rng.random() < probability:
        child["batchsize"] = BATCH_SIZE
    if rng.random() < probability:
        child["noise"] = _noise(rng)
    for level in LEVELS:
        if rng.random() < probability:
            child[f"last_channel_l{level}"] = rng.choice(CHANNEL_MULTIPLIERS)
    for level in LEVELS:
        for name in GENERATION_ORDER:
            if rng.random() < probability:
                child["feature"][level][name] = _basis(name, rng)
    return _canonical(child)
