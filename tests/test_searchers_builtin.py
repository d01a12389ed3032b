"""Built-in searchers on a toy space: integers 0..99, mutation = a step of +-1..3."""

import math
import random

import pytest

from harness.errors import ConfigError
from harness.plugins.searchers.algorithms import RandomSearch, RegularizedEvolution
from harness.protocols import Searcher

CANDIDATES = [str(i) for i in range(100)]


class LineSpace:
    name = "line"

    def mutate(self, arch_id: str, rng: random.Random) -> str:
        step = rng.choice([-3, -2, -1, 1, 2, 3])
        return str(min(99, max(0, int(arch_id) + step)))


def peak_at_73(arch_id: str) -> float:
    return -abs(int(arch_id) - 73)


def test_registered(fresh_registry):
    assert {"random", "evolution"} <= set(fresh_registry.names("searcher"))
    assert isinstance(fresh_registry.get("searcher", "evolution"), Searcher)


def test_random_search_spends_its_budget_on_distinct_candidates():
    result = RandomSearch().search(LineSpace(), CANDIDATES, peak_at_73, 30, random.Random(0))
    archs = [arch for arch, _ in result.history]
    assert len(archs) == 30 and len(set(archs)) == 30
    assert result.best_arch == max(archs, key=peak_at_73)
    everything = RandomSearch().search(LineSpace(), CANDIDATES, peak_at_73, 500, random.Random(0))
    assert len(everything.history) == 100 and everything.best_arch == "73"


def test_evolution_climbs_to_the_peak_and_is_deterministic():
    evolution = RegularizedEvolution(population_size=10, sample_size=3)
    first = evolution.search(LineSpace(), CANDIDATES[:20], peak_at_73, 150, random.Random(1))
    again = evolution.search(LineSpace(), CANDIDATES[:20], peak_at_73, 150, random.Random(1))
    assert first.history == again.history, "same seed, same search"
    assert len(first.history) == 150
    assert first.best_arch == "73", "starting below 20, only mutation can reach 73"
    assert all(int(arch) < 20 for arch, _ in first.history[:10]), "population starts random"


def test_aging_removes_the_oldest_member():
    # with a population of 1 and sample size 1, every child's parent is the previous child
    evolution = RegularizedEvolution(population_size=1, sample_size=1)
    result = evolution.search(LineSpace(), ["50"], lambda arch: 0.0, 20, random.Random(0))
    for (previous, _), (child, _) in zip(result.history, result.history[1:], strict=False):
        assert abs(int(child) - int(previous)) <= 3


def test_nan_fitness_ranks_last():
    scores = {"0": math.nan, "1": -5.0}
    result = RandomSearch().search(LineSpace(), ["0", "1"], scores.__getitem__, 2,
                                   random.Random(0))
    assert result.best_arch == "1"


def test_bad_settings():
    with pytest.raises(ConfigError, match="sample_size"):
        RegularizedEvolution(population_size=5, sample_size=6)
    with pytest.raises(ConfigError, match="budget"):
        RandomSearch().search(LineSpace(), CANDIDATES, peak_at_73, 0, random.Random(0))
