"""Wall time of one trial of each zero-cost / NASWOT / size scorer, of the proxies of 2022-2025
(ZiCo, MeCo, SWAP, GradSign, trainable layers) and of the AZ-NAS, TE-NAS and VKDNW parts on
NB-201 (CPU).

One trial = what the worker (``harness.trial``) times: ``scorer.score(ctx)``, including the model
copies the scorer builds (its network form's: the zero-cost NB-201 builder for the zero-cost
family, the official network for naswot / params / flops). Inputs: random CIFAR-shaped
images, batch 64 for every scorer that takes a batch (naswot's default is 128; 64 here so all rows
share one batch size; vkdnw's default is 32). ``ntk_cond`` (one backward pass per image) and
``vkdnw`` (one reverse pass of the batch per class) cost more than one forward and backward
pass (docs/te-nas.md, docs/vkdnw.md). Architecture: a mid-size cell. The baseline row is ``params``
(a model build and a count); the ratio of each scorer to it is printed. Run with

    OMP_NUM_THREADS=1 pytest benchmarks/test_scorer_cost.py --benchmark-enable -s

Without ``--benchmark-enable`` (the project default) each scorer runs once, as a smoke test.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from harness.options import NETWORK_DEFAULTS
from harness.plan import network_builder_options
from harness.plugins.scorers.model_size import Flops, Params
from harness.plugins.scorers.naswot import Naswot, NaswotV1
from harness.plugins.scorers.plugin import recent_proxy_parts, recent_scorers, zerocost_scorers
from harness.plugins.spaces.nb201.space import NB201Space
from harness.protocols import Batch, ScoringContext

ARCH = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
        "+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
BATCH_SIZE = 64
SCORERS = [Params(), Flops(), *zerocost_scorers(), Naswot(), NaswotV1(), *recent_scorers(),
           *recent_proxy_parts()]
_seconds: dict[str, float] = {}


def context(scorer: Any, arch: str = ARCH) -> ScoringContext:
    """A trial context as the worker (``harness.trial``) builds it for ``arch``: seeded, train
    mode, CPU."""
    space = NB201Space()
    generator = torch.Generator().manual_seed(0)
    batch = Batch(torch.randn(BATCH_SIZE, 3, 32, 32, generator=generator),
                  torch.randint(0, 10, (BATCH_SIZE,), generator=generator))

    network = network_builder_options({**NETWORK_DEFAULTS, **scorer.defaults}, space)

    def build_model(**options: Any) -> torch.nn.Module:
        torch.manual_seed(0)
        options.setdefault("num_classes", 10)
        return space.build_model(arch, **{**network, **options}).train()

    config = {**scorer.defaults, "batch_size": BATCH_SIZE}
    return ScoringContext(space=space, arch_id=arch, dataset="cifar10", num_classes=10,
                          input_shape=(3, 32, 32), batch=batch, config=config,
                          device=torch.device("cpu"), trial_seed=0, generator=generator,
                          build_model=build_model, builder_options=network)


@pytest.mark.benchmark(group="scorer-trial-nb201-cpu-batch64")
@pytest.mark.parametrize("scorer", SCORERS, ids=lambda scorer: scorer.name)
def test_trial_seconds(benchmark, scorer):
    torch.set_num_threads(1)
    ctx = context(scorer)
    benchmark.pedantic(scorer.score, args=(ctx,), rounds=3, warmup_rounds=1)
    if benchmark.stats is not None:
        _seconds[scorer.name] = benchmark.stats.stats.mean
        base = _seconds.get("params")
        if base:
            print(f"\n{scorer.name}: {_seconds[scorer.name]:.3f} s per trial, "
                  f"{_seconds[scorer.name] / base:.1f}x params")
