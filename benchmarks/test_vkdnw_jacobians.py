"""CPU time of VKDNW's per-sample Jacobians on NB-201 cells: the official code's way against the
harness's.

VKDNW needs, for each of N images, the Jacobian of the C logits with respect to the first
element of every parameter tensor. The baseline row computes it as the official code does
(github.com/ondratybl/VKDNW, ``NB201/ZeroShotProxy/compute_vkdnw_score.py``: ``torch.func``,
vmap over the samples of a reverse-mode Jacobian of the network with those elements spliced into
its weights), which is also what the harness did before. The ``perturbed`` row is
``harness.plugins.scorers.vkdnw.first_element_jacobians``: per-sample perturbations added by the
modules that own the parameters, then one reverse pass of the batch per class. Both rows get
the same re-initialized eval-mode networks and the same Gaussian batch of 32 (the scorer's
defaults); the values agree to float rounding (tests/test_scorers_recent_parts.py compares the
harness's with a sample-by-sample autograd loop). Archs: ``VKDNW_BENCH_ARCHS`` uniform random
NB-201 cells (seed 0; default 6 at 10 classes, the first 2 of them at 100 classes, where the
baseline takes about a minute per cell). The rows are interleaved per round; the printed
speed-up is the median over rounds of baseline / harness CPU seconds of the same round. Run with

    OMP_NUM_THREADS=1 nice -n 10 pytest benchmarks/test_vkdnw_jacobians.py --benchmark-enable \\
        --benchmark-timer time.process_time -s -p no:cacheprovider

Without ``--benchmark-enable`` each row runs once (a smoke test).
"""

from __future__ import annotations

import os
import statistics

import pytest
import torch
from gpu_gennas import random_nb201_archs  # benchmarks/ is on sys.path under pytest
from test_scorer_cost import context  # a trial context as the worker builds it
from torch import nn
from torch.func import functional_call, jacrev, vmap

from harness.plugins.scorers.kaiming import reinitialize
from harness.plugins.scorers.vkdnw import Vkdnw, first_element_jacobians
from harness.plugins.scorers.zerocost_common import fresh_model, logits_of

ARCH_COUNT = int(os.environ.get("VKDNW_BENCH_ARCHS", "6"))
ARCHS = {10: random_nb201_archs(ARCH_COUNT, seed=0),
         100: random_nb201_archs(ARCH_COUNT, seed=0)[:2]}
ROUNDS = int(os.environ.get("VKDNW_BENCH_ROUNDS", "3"))
BATCH_SIZE = 32
ROWS = ("perturbed", "official")
_seconds: dict[tuple[int, str], list[float]] = {}


def official_jacobians(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """(N, C, P) the official way: per sample, the reverse-mode Jacobian of the logits with
    respect to the first elements, spliced into otherwise fixed weights."""
    parameters = {name: value.detach() for name, value in model.named_parameters()}
    buffers = {name: value.detach() for name, value in model.named_buffers()}

    def logits(firsts: dict[str, torch.Tensor], sample: torch.Tensor) -> torch.Tensor:
        spliced = {name: torch.cat([firsts[name].reshape(1), value.reshape(-1)[1:]])
                   .reshape(value.shape) for name, value in parameters.items()}
        return logits_of(functional_call(model, (spliced, buffers), (sample.unsqueeze(0),)))[0]

    firsts = {name: value.reshape(-1)[0] for name, value in parameters.items()}
    per_sample = vmap(jacrev(logits), in_dims=(None, 0))(firsts, inputs)
    return torch.stack([per_sample[name] for name in parameters], dim=-1)


def networks(classes: int) -> list[tuple[nn.Module, torch.Tensor]]:
    """The scorer's re-initialized eval-mode network of each arch and its Gaussian batch."""
    prepared = []
    for arch in ARCHS[classes]:
        ctx = context(Vkdnw(), arch)
        model = fresh_model(ctx, num_classes=classes)
        reinitialize(model, "kaiming", torch.Generator().manual_seed(0))
        inputs = torch.randn(BATCH_SIZE, *ctx.input_shape,
                             generator=torch.Generator().manual_seed(1))
        prepared.append((model.eval(), inputs))
    return prepared


def jacobians_of_all(row: str, prepared: list[tuple[nn.Module, torch.Tensor]]) -> None:
    compute = first_element_jacobians if row == "perturbed" else official_jacobians
    for model, inputs in prepared:
        compute(model, inputs)


@pytest.mark.benchmark(group="vkdnw-jacobians-nb201-cpu")
@pytest.mark.parametrize(("classes", "round_", "row"),
                         [(c, r, row) for c in ARCHS for r in range(ROUNDS) for row in ROWS],
                         ids=lambda value: str(value))
def test_vkdnw_jacobian_seconds(benchmark, classes, round_, row):
    torch.set_num_threads(1)
    prepared = networks(classes)
    benchmark.pedantic(jacobians_of_all, args=(row, prepared), rounds=1)
    if benchmark.stats is not None:
        _seconds.setdefault((classes, row), []).append(benchmark.stats.stats.mean)
        if row == ROWS[-1]:
            pairs = list(zip(_seconds[classes, "perturbed"], _seconds[classes, "official"],
                             strict=False))
            print(f"\nVKDNW Jacobians, {classes} classes, {len(ARCHS[classes])} NB-201 archs, "
                  f"{len(pairs)} round(s): official "
                  f"{statistics.median(b for _, b in pairs):.2f} s, harness "
                  f"{statistics.median(s for s, _ in pairs):.2f} s, speed-up (paired median) "
                  f"{statistics.median(b / s for s, b in pairs):.2f}x (rounds: "
                  f"{', '.join(f'{b / s:.2f}' for s, b in pairs)})")
