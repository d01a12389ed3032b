"""Built-in searchers: ``random`` search and regularized ``evolution``.

Both spend exactly ``budget`` fitness evaluations (fewer for random search when the candidate
list is shorter) and return every evaluation in order, so searches can be compared at any
budget. A NaN fitness (a failed score) ranks below every number.

Regularized evolution (Real et al., "Regularized Evolution for Image Classifier Architecture
Search", AAAI 2019, Alg. 1): fill a population of ``population_size`` random candidates; then
repeatedly draw ``sample_size`` members at random, mutate the fittest of them
(``space.mutate``), add the child and remove the *oldest* member (aging). The NAS-Bench-101
paper ran it with the mutation of ``nb101_mutation``.

Each searcher is written once, as an ask/tell generator (``steps``, the ``SteppedSearcher``
protocol): it yields the archs it wants scored and is sent their fitness. Random search asks
for all its candidates at once, evolution for its whole initial population and then one child
at a time; ``search`` drives the same generator with a fitness function, so both ways make the
same choices.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.errors import ConfigError
from harness.protocols import MutableSpace, SearchResult, SearchSteps, Space


def _rank(fitness: float) -> float:
    return -math.inf if math.isnan(fitness) else fitness


def _result(history: list[tuple[str, float]]) -> SearchResult:
    if not history:
        raise ConfigError("a search needs a budget of at least one evaluation")
    best_arch, _ = max(history, key=lambda item: _rank(item[1]))
    return SearchResult(best_arch, history)


def drive(steps: SearchSteps, fitness: Callable[[str], float]) -> SearchResult:
    """Run an ask/tell search to its end, scoring each asked arch with ``fitness``."""
    try:
        asked = next(steps)
        while True:
            asked = steps.send([float(fitness(arch)) for arch in asked])
    except StopIteration as finished:
        return finished.value


@dataclass
class RandomSearch:
    """Evaluate ``budget`` distinct candidates drawn uniformly; keep the best."""

    name: str = "random"

    def search(self, space: Space, candidates: Sequence[str], fitness: Callable[[str], float],
               budget: int, rng: random.Random) -> SearchResult:
        return drive(self.steps(space, candidates, budget, rng), fitness)

    def steps(self, space: Space, candidates: Sequence[str], budget: int,
              rng: random.Random) -> SearchSteps:
        chosen = rng.sample(list(candidates), min(budget, len(candidates)))
        values = (yield chosen) if chosen else []
        return _result(list(zip(chosen, values, strict=True)))


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
        return drive(self.steps(space, candidates, budget, rng), fitness)

    def steps(self, space: Space, candidates: Sequence[str], budget: int,
              rng: random.Random) -> SearchSteps:
        if not candidates:
            raise ConfigError("evolution needs at least one candidate to start from")
        if not isinstance(space, MutableSpace):
            raise ConfigError(f"evolution needs a space that can mutate archs; space "
                              f"{space.name!r} has no mutate method (harness.protocols."
                              f"MutableSpace); random search works on it")
        candidates = list(candidates)
        # the initial population is drawn first and asked for in one batch
        initial = [rng.choice(candidates) for _ in range(min(budget, self.population_size))]
        values = (yield initial) if initial else []
        history: list[tuple[str, float]] = list(zip(initial, values, strict=True))
        population: deque[tuple[str, float]] = deque(history)
        while len(history) < budget:
            contenders = rng.sample(list(population), self.sample_size)
            parent, _ = max(contenders, key=lambda item: _rank(item[1]))
            child = space.mutate(parent, rng)
            (value,) = yield [child]
            history.append((child, value))
            population.append((child, value))
            population.popleft()  # aging: the oldest member dies, not the worst
        return _result(history)
