"""Seconds per NB201 architecture and peak memory of GenNAS, batch sizes 16..96 (appendix Table 6).

Self-contained: random NB201 cells, random normalized inputs of the requested batch size, the
real GenNAS targets of a named task, the harness's training loop. For comparison it also times
a faithful re-implementation of the official loop (``reference_train``: host noise copied to the
device for every forward pass, each evaluation loss read when taken, torch's own modules, every
selected op run, each node summed with Python's ``sum`` as the official cell does) on the same
architectures; the harness loop trains them as the GenNAS scorer
does (dead paths skipped, ``--memory-format`` its option). The two are timed arch by arch,
interleaved, wall time after ``torch.cuda.synchronize()`` on a GPU, CPU time
(``time.process_time``) on a CPU.

    python benchmarks/gpu_gennas.py --device cuda                 # full table
    python benchmarks/gpu_gennas.py --device cpu --batch-sizes 16 --archs 1 --iterations 3

Prints a table; writes JSON to ``--json PATH`` or, when set, ``$OUT/gpu_gennas.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import nn

from harness.plugins.scorers.gennas.plugin import named_task
from harness.plugins.scorers.gennas.signals import build_targets
from harness.plugins.scorers.gennas.task import Noise, Task
from harness.plugins.scorers.gennas.train import (
    TrainSettings,
    parameter_groups,
    train,
    weighted_mse,
)
from harness.plugins.scorers.gennas.wrapper import wrap
from harness.plugins.spaces.nb201 import model as nb201_model
from harness.plugins.spaces.nb201.space import NB201Space

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


def random_nb201_archs(count: int, seed: int) -> list[str]:
    """``count`` random NB201 arch strings (uniform op per edge)."""
    rng = random.Random(seed)
    archs = []
    for _ in range(count):
        ops = [rng.choice(NB201_OPS) for _ in range(6)]
        archs.append(f"|{ops[0]}~0|+|{ops[1]}~0|{ops[2]}~1|+|{ops[3]}~0|{ops[4]}~1|{ops[5]}~2|")
    return archs


def reference_train(model: nn.Module, inputs_host: torch.Tensor, targets: list[torch.Tensor],
                    noise: Noise, settings: TrainSettings, train_weights: tuple[float, ...],
                    eval_weights: tuple[float, ...]) -> list[float]:
    """The official GenNAS loop (github.com/leeyeehoo/GenNAS, ``builder_evaluator.py``), re-written
    from its description: every forward pass (training and evaluation) takes a fresh noise draw
    made on the host from the global generator and copied to the device, as its ``get_data()``
    does; the training loss is never read on the host; each evaluation's loss is read with
    ``.item()`` when it is taken (every ``eval_interval`` iterations), as the official code
    records it. Torch's own modules and the default single-tensor SGD step."""
    device = targets[0].device
    optimizer = torch.optim.SGD(parameter_groups(model, settings.weight_decay), lr=settings.lr,
                                momentum=settings.momentum)

    def get_data() -> torch.Tensor:
        draw = (torch.rand(inputs_host.shape) * 2 - 1 if noise.type == "uniform"
                else torch.randn(inputs_host.shape))
        return (inputs_host + draw * noise.noise_level).to(device)

    eval_losses = []
    for iteration in range(1, settings.iterations + 1):
        model.train()
        loss = weighted_mse(model(get_data()), targets, train_weights)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if iteration % settings.eval_interval == 0 or iteration == settings.iterations:
            model.eval()
            with torch.no_grad():
                eval_losses.append(weighted_mse(model(get_data()), targets, eval_weights).item())
    return eval_losses


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def _peak_mb(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


@contextlib.contextmanager
def official_node_sums() -> Iterator[None]:
    """NB-201 cells that sum each node as the official cell does: Python's ``sum`` of the
    incoming edges' outputs, from ``0 +`` (``InferCell.forward``,
    github.com/D-X-Y/AutoDL-Projects, and its ports); the harness's cell gives the same numbers
    without those ``0 +`` adds (``nb201.model._node_sum``)."""
    current = nb201_model._node_sum
    nb201_model._node_sum = lambda terms, nodes: sum(terms)
    try:
        yield
    finally:
        nb201_model._node_sum = current


def gennas_model(space: NB201Space, arch: str, task: Task, inputs: torch.Tensor, *,
                 reference: bool, seed: int) -> nn.Module:
    """``arch``'s GenNAS network with its heads on ``inputs``' device, initialized from
    ``seed``, as its row trains it: the harness skips dead paths as the GenNAS scorer does, the
    official loop runs every selected op."""
    torch.manual_seed(seed)
    backbone = space.build_model(arch, num_classes=10, variant="gennas").to(inputs.device)
    if not reference:
        space.skip_dead_paths(backbone)
    return wrap(space, backbone, task.channels, inputs[:2])


def train_row(model: nn.Module, inputs: torch.Tensor, targets: list[torch.Tensor], task: Task,
              settings: TrainSettings, *, reference: bool, seed: int) -> None:
    """One GenNAS training of ``model``: the faithful official loop (host inputs; it ignores
    ``settings.memory_format``; its cells sum nodes as the official cell does) or the harness
    loop with a generator seeded ``seed``."""
    if reference:
        with official_node_sums():
            reference_train(model, inputs.cpu(), targets, task.noise, settings,
                            task.loss_weights, task.scored_weights)
    else:
        generator = torch.Generator(device=inputs.device).manual_seed(seed)
        train(model, inputs, targets, task.noise, settings, task.loss_weights,
              task.scored_weights, generator)


def time_arch(space: NB201Space, arch: str, inputs: torch.Tensor, targets: list[torch.Tensor],
              task_name: str, settings: TrainSettings, *, reference: bool,
              seed: int) -> tuple[float, float | None]:
    """Seconds (wall after a synchronize on a GPU, CPU time on a CPU) and peak device MB of one
    architecture's GenNAS training."""
    task = named_task(task_name)
    device = inputs.device
    model = gennas_model(space, arch, task, inputs, reference=reference, seed=seed)
    clock = time.perf_counter if device.type == "cuda" else time.process_time
    _synchronize(device)
    _reset_peak(device)
    start = clock()
    train_row(model, inputs, targets, task, settings, reference=reference, seed=seed)
    _synchronize(device)
    return clock() - start, _peak_mb(device)


def run(device: torch.device, batch_sizes: list[int], archs: int, iterations: int,
        task_name: str, reference: bool, seed: int,
        memory_format: str = TrainSettings.memory_format) -> list[dict]:
    space = NB201Space()
    task = named_task(task_name)
    settings = TrainSettings(iterations=iterations, memory_format=memory_format)
    arch_list = random_nb201_archs(archs, seed)
    rows = []
    for index, batch_size in enumerate(batch_sizes):
        inputs = torch.randn(batch_size, 3, 32, 32, generator=torch.Generator().manual_seed(seed))
        targets = [t.to(device) for t in build_targets(task, inputs, seed)]
        inputs = inputs.to(device)
        if index == 0:  # warm-up: kernel selection, allocator, lazy CUDA init
            time_arch(space, arch_list[0], inputs, targets, task_name, settings, reference=False,
                      seed=seed)
        ours, ref = [], []
        for arch in arch_list:  # interleaved, so a change of load hits both loops alike
            ours.append(time_arch(space, arch, inputs, targets, task_name, settings,
                                  reference=False, seed=seed))
            if reference:
                ref.append(time_arch(space, arch, inputs, targets, task_name, settings,
                                     reference=True, seed=seed)[0])
        row = {"batch_size": batch_size, "archs": archs, "iterations": iterations,
               "memory_format": memory_format,
               "s_per_arch": statistics.mean(t for t, _ in ours),
               "s_per_iter": statistics.mean(t for t, _ in ours) / iterations,
               "peak_mem_mb": max((m for _, m in ours if m is not None), default=None)}
        if reference:
            row["reference_s_per_arch"] = statistics.mean(ref)
            # Paired: the median over archs of reference / harness seconds on the same arch.
            row["speedup_vs_reference"] = statistics.median(
                r / t for r, (t, _) in zip(ref, ours, strict=True))
        rows.append(row)
        print(_format_row(row), flush=True)
    return rows


def _format_row(row: dict) -> str:
    peak = "-" if row["peak_mem_mb"] is None else f"{row['peak_mem_mb']:.0f}"
    text = (f"| {row['batch_size']:>5} | {row['s_per_arch']:9.3f} | {row['s_per_iter']:9.4f} "
            f"| {peak:>12} |")
    if "reference_s_per_arch" in row:
        text += f" {row['reference_s_per_arch']:12.3f} | {row['speedup_vs_reference']:7.2f} |"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--batch-sizes", default="16,32,48,64,80,96")
    parser.add_argument("--archs", type=int, default=10, help="random NB201 cells per batch size")
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--task", default="gennas-search-n")
    parser.add_argument("--no-reference", action="store_true",
                        help="skip timing the reference-style loop")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--memory-format", default=TrainSettings.memory_format,
                        choices=("contiguous", "channels_last"),
                        help="the harness loop's memory_format option (default: the scorers' "
                             "default; the reference loop: torch's contiguous)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(1)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"GenNAS on NB201 ({args.task}), {args.archs} random cells, {args.iterations} "
          f"iterations, {args.memory_format}, device {name}, torch {torch.__version__}")
    header = "| batch | s/arch    | s/iter    | peak mem MB  |"
    if not args.no_reference:
        header += " reference s  | speedup |"
    print(header)
    rows = run(device, [int(b) for b in args.batch_sizes.split(",")], args.archs,
               args.iterations, args.task, not args.no_reference, args.seed,
               args.memory_format)
    out = args.json or (Path(os.environ["OUT"]) / "gpu_gennas.json" if os.environ.get("OUT")
                        else None)
    if out is not None:
        out.write_text(json.dumps({"device": name, "torch": torch.__version__, "task": args.task,
                                   "rows": rows}, indent=2))
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
