"""Many searches at once, in lockstep, so that each round's new trials run as one batch.

A search written as an ask/tell generator (``arch_search.SteppedSearcher``) says which archs it
wants scored next. ``run_lockstep`` starts every search, then repeats: gather what all
searches asked, score the trial-backed part in one batch (``score_batch``: one call to the run's
executor, its workers in parallel), and send each search its values. Twenty evolutions of one
arch a step then give batches of twenty. Each search sees exactly the values it would see alone,
so lockstep changes the order trials run in, never a search's choices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.protocols import SearchResult, SearchSteps

# (scorer name, arch id) pairs a round needs from the trial store
ScoreBatch = Callable[[list[tuple[str, str]]], None]


@dataclass
class Fitness:
    """What a search maximizes: ``value(arch)``; ``scorers`` names the scorers whose trials
    ``value`` reads (they must be scored first), none for a fitness that needs no trial.
    ``values(archs)`` gives a round's values at once (an aggregate ranks them together)."""

    name: str
    value: Callable[[str], float]
    scorers: tuple[str, ...] = ()

    def trial_keys(self, archs: Sequence[str]) -> list[tuple[str, str]]:
        return [(scorer, arch) for arch in archs for scorer in self.scorers]

    def values(self, archs: Sequence[str]) -> list[float]:
        return [float(self.value(arch)) for arch in archs]


@dataclass
class SteppedSearch:
    """One search in flight: its generator, its fitness, what it asked last, and its result."""

    steps: SearchSteps
    fitness: Fitness
    asked: list[str] | None = None
    result: SearchResult | None = None

    def start(self) -> None:
        self._advance(None)

    def tell(self) -> None:
        self._advance(self.fitness.values(self.asked or []))

    def _advance(self, values: list[float] | None) -> None:
        try:
            self.asked = next(self.steps) if values is None else self.steps.send(values)
        except StopIteration as finished:
            self.asked, self.result = None, finished.value


def run_lockstep(searches: Sequence[SteppedSearch], score_batch: ScoreBatch) -> None:
    """Drive ``searches`` to their ends; each round scores all their asks in one batch."""
    for search in searches:
        search.start()
    active = [s for s in searches if s.result is None]
    while active:
        score_batch([key for s in active for key in s.fitness.trial_keys(s.asked or [])])
        for search in active:
            search.tell()
        active = [s for s in active if s.result is None]
