"""Built-in searchers: ``random`` search and regularized ``evolution``.

Both spend exactly ``budget`` fitness evaluations (fewer for random search when the candidate
list is shorter) and return every evaluation in order, so searches can be compared at any
budget. A NaN fitness (a failed score) ranks below every number.

Regularized evolution (Real et al., "Regularized Evolution for Image Classifier Architecture
Search", AAAI 2019, Alg. 1): fill a population of ``population_size`` random candidates; then
repeatedly draw ``sample_size`` members at random, mutate the fittest of them
(``space.mutate``), add the child and remove the *oldest* member (aging). The NAS-Bench-101
paper ran it with the mutation of ``nb101_mutation``.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.errors import ConfigError
from harness.protocols import MutableSpace, SearchResult, Space


def _rank(fitness: float) -> float:
    return -math.inf if math.isnan(fitness) else fitness


def _result(history: list[tuple[str, float]]) -> SearchResult:
    if not history:
        raise ConfigError("a search needs a budget of at least one evaluation")
    best_arch, _ = max(history, key=lambda item: _rank(item[1]))
    return SearchResult(best_arch, history)


@dataclass
class RandomSearch:
    """Evaluate ``budget`` distinct candidates drawn uniformly; keep the best."""

    name: str = "random"

    def search(self, space: Space, candidates: Sequence[str], fitness: Callable[[str], float],
               budget: int, rng: random.Random) -> SearchResult:
        chosen = rng.sample(list(candidates), min(budget, len(candidates)))
        return _result([(arch, float(fitness(arch))) for arch in chosen])


@dataclass
class RegularizedEvolution:
    """Aging evolution with tournament selection (module docstring)."""

    name: str = "evolution"
    population_size: int = 50
    sample_size: int = 10

    def __post_init__(self) -> None:
        if not 1 <= self.sample_size <= self.population_size:
            raise ConfigError(f"evolution needs 1 <= sample_size ({self.sample_size}) <= "
                              f"population_size ({self.population_size})")

    def search(self, space: Space, candidates: Sequence[str], fitness: Callable[[str], float],
               budget: int, rng: random.Random) -> SearchResult:
        if not candidates:
            raise ConfigError("evolution needs at least one candidate to start from")
        if not isinstance(space, MutableSpace):
            raise ConfigError(f"evolution needs a space that can mutate archs; space "
                              f"{space.name!r} has no mutate method (harness.protocols."
                              f"MutableSpace)")
        candidates = list(candidates)
        population: deque[tuple[str, float]] = deque()
        history: list[tuple[str, float]] = []
        while len(history) < budget:
            if len(population) < self.population_size:
                arch = rng.choice(candidates)
            else:
                contenders = rng.sample(list(population), self.sample_size)
                parent, _ = max(contenders, key=lambda item: _rank(item[1]))
                arch = space.mutate(parent, rng)
            member = (arch, float(fitness(arch)))
            history.append(member)
            population.append(member)
            if len(population) > self.population_size:
                population.popleft()  # aging: the oldest member dies, not the worst
        return _result(history)
