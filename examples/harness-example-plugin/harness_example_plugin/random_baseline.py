"""A seeded random-score baseline: the rank correlation any proxy must beat.

Every trial gets a uniform draw from the trial's own generator, which the harness seeds from
(run seed, space, arch id); the score is therefore reproducible and independent of trial order
or worker count, and its Kendall tau with any ground truth is about 0 (within the run's
sampling noise). Reporting it beside real proxies shows how far from chance they are.
"""

import torch

import harness


class RandomBaseline:
    """Score = U(0, 1) drawn from ``ctx.generator``; needs neither inputs nor a model."""

    name = "random"
    needs_inputs = False
    defaults = {"batch_size": 1}

    def score(self, ctx: harness.ScoringContext) -> float:
        return float(torch.rand(1, generator=ctx.generator).item())
