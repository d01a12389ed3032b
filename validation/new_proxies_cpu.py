"""CPU seconds of one trial of each new proxy (ZiCo, MeCo, SWAP, GradSign, trainable layers)
on NB-201, one thread: ``time.process_time`` around ``scorer.score`` for a seeded sample of
archs, the 20 real CIFAR-10 images of ../shared/data as the batch (each scorer reads at most its
``batch_size`` of them), each scorer's own network form. A contended machine inflates wall time
but not CPU time, so validation/validation-new-proxies.md quotes these. Usage:

    python validation/new_proxies_cpu.py [ARCHS] [SEED]
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.options import NETWORK_DEFAULTS
from harness.plan import network_builder_options
from harness.plugins.scorers.plugin import recent_scorers
from harness.plugins.spaces.nb201.space import NB201Space
from harness.protocols import Batch, ScoringContext

IMAGES = Path(__file__).resolve().parents[2] / "shared/data/images/cifar10/cifar10_foolbox20.npz"
# The CIFAR-10 mean and std every NB-201 reference normalizes with.
MEAN = np.array([0.4914, 0.4822, 0.4465])
STD = np.array([0.2470, 0.2435, 0.2616])


def real_batch(size: int) -> Batch:
    data = np.load(IMAGES)
    pixels = (data["x"][:size] / 255.0 - MEAN) / STD
    return Batch(torch.tensor(pixels.transpose(0, 3, 1, 2), dtype=torch.float32),
                 torch.tensor(data["y"][:size]))


def context(scorer: Any, space: NB201Space, arch: str, seed: int) -> ScoringContext:
    options = network_builder_options({**NETWORK_DEFAULTS, **scorer.defaults}, space)

    def build_model(**extra: Any) -> torch.nn.Module:
        torch.manual_seed(seed)
        extra.setdefault("num_classes", 10)
        return space.build_model(arch, **{**options, **extra}).train()

    return ScoringContext(space=space, arch_id=arch, dataset="cifar10", num_classes=10,
                          input_shape=(3, 32, 32),
                          batch=real_batch(min(20, int(scorer.defaults["batch_size"]))),
                          config=dict(scorer.defaults), device=torch.device("cpu"),
                          trial_seed=seed, generator=torch.Generator().manual_seed(seed),
                          build_model=build_model, builder_options=options)


def main(count: int, seed: int) -> None:
    torch.set_num_threads(1)
    space = NB201Space()
    archs = random.Random(seed).sample(sorted(space.archs()), count)
    for scorer in recent_scorers():
        seconds = []
        for arch in archs:
            ctx = context(scorer, space, arch, seed)
            start = time.process_time()
            scorer.score(ctx)
            seconds.append(time.process_time() - start)
        print(f"{scorer.name}: {statistics.mean(seconds):.3f} CPU s per arch "
              f"(mean of {count}, max {max(seconds):.3f})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10, int(sys.argv[2]) if len(sys.argv) > 2
         else 0)
