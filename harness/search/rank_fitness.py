"""An aggregate of scorers (``harness.reports.aggregates``) as a search's fitness.

Ranks are taken within the archs the search has seen so far, as AZ-NAS's evolutionary search
ranks each candidate among those it has evaluated (Lee and Ham, CVPR 2024; official code
cvlab-yonsei/AZ-NAS): each round's archs join the seen ones and are ranked together with them.
A value once told to the searcher is not revised when later archs change the ranks; a searcher
compares values told at different times, as AZ-NAS's search does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from harness.reports.aggregates import AggregateSpec
from harness.search.lockstep import Fitness


@dataclass
class RankFitness(Fitness):
    """``spec``'s aggregate over the archs seen so far; ``part_score(scorer, arch)`` reads a
    part's stored score (NaN for a failed trial)."""

    spec: AggregateSpec | None = None
    part_score: Callable[[str, str], float] | None = None
    seen: list[str] = field(default_factory=list)

    def values(self, archs: Sequence[str]) -> list[float]:
        assert self.spec is not None and self.part_score is not None
        known = set(self.seen)
        self.seen += [arch for arch in dict.fromkeys(archs) if arch not in known]
        leaves = self.spec.leaves()
        scores = {leaf: [self.part_score(leaf, arch) for arch in self.seen] for leaf in leaves}
        combined = dict(zip(self.seen, self.spec.evaluate(scores).tolist(), strict=True))
        return [combined[arch] for arch in archs]


def rank_fitness(spec: AggregateSpec, part_score: Callable[[str, str], float]) -> RankFitness:
    """The fitness of ``spec`` for one search (its own seen archs)."""
    fitness = RankFitness(spec.name, lambda arch: fitness.values([arch])[0], spec.leaves(),
                          spec=spec, part_score=part_score)
    return fitness
