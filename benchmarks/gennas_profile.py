"""Where GenNAS's CPU time goes: GFLOP/s per GenNAS scorer, its share of a GEMM peak measured in
the same run, and the time split into convolution, normalization, elementwise, memory and
Python/dispatch work (docs/performance.md).

Cells: a seeded set that spans NB-201 (``profile_cells``): *heavy* cells (every edge a
convolution, 3x3 three times in four), *mid* cells (every edge uniform over the five ops, as
``harness compare`` samples) and *light* cells (every edge a 3x3 average pool or a skip). Each
cell is trained as its scorer trains it (``gpu_gennas.gennas_model`` and ``train_row``: dead
paths skipped, the shifted-add pool, foreach SGD), three times from the same initial weights:

- timed: CPU seconds (``time.process_time``) of the whole training, nothing else running in
  the process;
- counted: the FLOPs of one training iteration (forward, backward) and of one evaluation
  forward pass, by ``torch.utils.flop_counter.FlopCounterMode`` on a 1- and a 2-iteration
  training (convolutions and matmuls only: what a GEMM peak compares with; batch norm, pooling
  and elementwise work count zero), scaled to the schedule;
- profiled: ``torch.profiler`` on the CPU, each aten op's self time put in one family
  (``FAMILIES``); what no aten op holds (the Python loop and module calls, the autograd
  engine's bookkeeping, the profiler's own labels) is Python/dispatch. The profiler adds a
  few microseconds per op, so the split is read as shares of the profiled run (its overhead,
  profiled / timed CPU seconds, is printed; the profiler's times are wall-clock intervals, so
  the shares are of the profiled run's wall seconds), and the loop's phases (noise, forward,
  loss, backward, optimizer, evaluation) are labelled with ``record_function`` around the train
  module's own functions.

GEMM peak: the best of ``--gemm-repeats`` CPU-timed 1024x1024 fp32 matmuls (2 * 1024^3 FLOPs
each) on one thread. Run with

    OMP_NUM_THREADS=1 nice -n 15 python benchmarks/gennas_profile.py --cells-per-kind 2 \\
        --iterations 20 --json /tmp/gennas_profile.json

``--iterations`` caps every scorer's schedule (evaluations stay every ``eval_interval``); by
default each scorer runs its own (100 for gennas-search-n, 30 for gennas-search-n-fast).
``benchmarks/test_gennas_profile.py`` runs it small as a smoke test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile, record_function
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_gennas import gennas_model, random_nb201_archs, train_row  # noqa: E402

from harness.plugins.scorers.gennas import train as train_module  # noqa: E402
from harness.plugins.scorers.gennas.plugin import harness_register_scorers  # noqa: E402
from harness.plugins.scorers.gennas.scorer import GenNASScorer, train_settings  # noqa: E402
from harness.plugins.scorers.gennas.signals import build_targets  # noqa: E402
from harness.plugins.scorers.gennas.train import TrainSettings  # noqa: E402
from harness.plugins.spaces.nb201.space import NB201Space  # noqa: E402

SCORERS = ("gennas-search-n", "gennas-search-n-fast", "gennas-single", "gennas-combo")
KINDS = ("heavy", "mid", "light")
GEMM_SIZE = 1024
# aten op families by name fragment, first match wins; an aten op matching none is elementwise.
FAMILIES = (
    ("convolution", ("conv",)),
    ("normalization", ("batch_norm",)),
    ("memory", ("empty", "zeros", "ones", "copy_", "clone", "contiguous", "aten::to",
                "_to_copy", "stack", "cat", "view", "as_strided", "slice", "select", "narrow",
                "expand", "detach", "resize", "reshape", "unsqueeze", "squeeze", "permute",
                "transpose", "aten::t", "alias", "lift", "unbind", "split", "pad",
                "constant_pad", "set_")),
)
COLUMNS = ("convolution", "normalization", "elementwise", "memory", "python_dispatch")
PHASES = ("noise", "forward", "loss", "backward", "zero_grad", "optimizer_step", "eval")


def profile_cells(per_kind: int, seed: int) -> list[tuple[str, str]]:
    """``per_kind`` seeded heavy, mid and light NB-201 cells as (kind, arch string)."""
    rng = random.Random(seed)
    heavy_ops = ("nor_conv_3x3",) * 3 + ("nor_conv_1x1",)
    light_ops = ("avg_pool_3x3", "skip_connect")
    cells = []
    for _ in range(per_kind):
        for kind, ops in (("heavy", heavy_ops), ("light", light_ops)):
            edges = [rng.choice(ops) for _ in range(6)]
            cells.append((kind, f"|{edges[0]}~0|+|{edges[1]}~0|{edges[2]}~1|"
                                f"+|{edges[3]}~0|{edges[4]}~1|{edges[5]}~2|"))
    cells.extend(("mid", arch) for arch in random_nb201_archs(per_kind, seed))
    return sorted(cells, key=lambda cell: KINDS.index(cell[0]))


def cpu_model() -> str:
    """The CPU's model name (Linux), else the platform's machine type."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


def gemm_peak_gflops(repeats: int) -> float:
    """Best CPU-time GFLOP/s of a 1024x1024 fp32 matmul (one call per repeat, after a warm-up)."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(GEMM_SIZE, GEMM_SIZE, generator=generator)
    b = torch.randn(GEMM_SIZE, GEMM_SIZE, generator=generator)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        torch.mm(a, b)
        best = min(best, time.process_time() - start)
    return 2 * GEMM_SIZE**3 / best / 1e9


def scorer_schedule(name: str, iterations: int | None) -> tuple[GenNASScorer, TrainSettings]:
    """The registered GenNAS scorer ``name`` and its training settings, capped at
    ``iterations`` when given."""
    registered: list = []
    harness_register_scorers(registered.append)
    scorer = next(s for s in registered if s.name == name)
    settings = train_settings(scorer.defaults)
    if iterations is not None and iterations < settings.iterations:
        settings = replace(settings, iterations=iterations)
    return scorer, settings


@dataclass
class Problem:
    """One scorer's fixed input batch and targets."""

    scorer: GenNASScorer
    settings: TrainSettings
    inputs: torch.Tensor
    targets: list[torch.Tensor]

    def model(self, arch: str) -> torch.nn.Module:
        return gennas_model(NB201Space(), arch, self.scorer.task, self.inputs, reference=False,
                            seed=0)

    def train(self, model: torch.nn.Module, settings: TrainSettings | None = None) -> None:
        train_row(model, self.inputs, self.targets, self.scorer.task, settings or self.settings,
                  reference=False, seed=0)


def make_problem(name: str, iterations: int | None, batch_size: int) -> Problem:
    scorer, settings = scorer_schedule(name, iterations)
    inputs = torch.randn(batch_size, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    return Problem(scorer, settings, inputs, build_targets(scorer.task, inputs, seed=0))


def counted_flops(problem: Problem, arch: str) -> tuple[int, int]:
    """FLOPs of one training iteration and of one evaluation forward pass."""
    totals = []
    for iterations in (1, 2):  # 1 train + 1 eval, 2 train + 1 eval
        settings = replace(problem.settings, iterations=iterations, eval_interval=iterations)
        model = problem.model(arch)
        with FlopCounterMode(display=False) as counter:
            problem.train(model, settings)
        totals.append(counter.get_total_flops())
    per_iteration = totals[1] - totals[0]
    return per_iteration, totals[0] - per_iteration


def schedule_flops(settings: TrainSettings, per_iteration: int, per_eval: int) -> int:
    evaluations = len([i for i in range(1, settings.iterations + 1)
                       if i % settings.eval_interval == 0 or i == settings.iterations])
    return settings.iterations * per_iteration + evaluations * per_eval


@contextlib.contextmanager
def labelled_phases(model: torch.nn.Module) -> Iterator[None]:
    """``record_function`` labels around the loop's phases: the train module's ``add_noise``
    and ``weighted_mse``, ``model.forward`` and ``Tensor.backward`` (train or eval by the mode).
    The optimizer labels its own ``step`` and ``zero_grad``."""
    add_noise, weighted_mse, backward = (train_module.add_noise, train_module.weighted_mse,
                                         torch.Tensor.backward)
    forward = model.forward

    def labelled(label, function):
        def call(*args, **kwargs):
            phase = "eval" if torch.is_inference_mode_enabled() else label
            with record_function(f"phase:{phase}"):
                return function(*args, **kwargs)
        return call

    train_module.add_noise = labelled("noise", add_noise)
    train_module.weighted_mse = labelled("loss", weighted_mse)
    torch.Tensor.backward = labelled("backward", backward)
    model.forward = labelled("forward", forward)
    try:
        yield
    finally:
        train_module.add_noise, train_module.weighted_mse = add_noise, weighted_mse
        torch.Tensor.backward = backward
        del model.forward


def family(name: str) -> str | None:
    """The family of an aten op (None: not an aten op, i.e. Python/dispatch)."""
    if not name.startswith(("aten::", "mkldnn::")):
        return None
    for label, fragments in FAMILIES:
        if any(fragment in name for fragment in fragments):
            return label
    return "elementwise"


def profiled_split(problem: Problem, arch: str) -> dict:
    """The profiled training's CPU seconds, shares per column, phase seconds and top ops."""
    model = problem.model(arch)
    with labelled_phases(model), profile(activities=[ProfilerActivity.CPU]) as prof:
        start, start_wall = time.process_time(), time.perf_counter()
        problem.train(model)
        total_s, wall_s = time.process_time() - start, time.perf_counter() - start_wall
    seconds: dict[str, float] = defaultdict(float)
    phases: dict[str, float] = defaultdict(float)
    ops: dict[str, tuple[float, int]] = {}
    for entry in prof.key_averages():
        self_s = entry.self_cpu_time_total / 1e6
        label = family(entry.key)
        if label is not None:
            seconds[label] += self_s
            ops[entry.key] = (self_s, entry.count)
        if entry.key.startswith("phase:"):
            phases[entry.key.removeprefix("phase:")] += entry.cpu_time_total / 1e6
        elif entry.key.startswith("Optimizer.step"):
            phases["optimizer_step"] += entry.cpu_time_total / 1e6
        elif entry.key.startswith("Optimizer.zero_grad"):
            phases["zero_grad"] += entry.cpu_time_total / 1e6
    # The profiler's op times are wall-clock intervals: the remainders are of wall seconds.
    seconds["python_dispatch"] = max(wall_s - sum(seconds.values()), 0.0)
    phases["loop_python"] = max(wall_s - sum(phases.values()), 0.0)
    top = sorted(ops.items(), key=lambda item: -item[1][0])[:12]
    return {"profiled_s": total_s, "profiled_wall_s": wall_s, "seconds": dict(seconds),
            "phases": dict(phases),
            "ops_per_iteration": sum(count for _, count in ops.values())
            / problem.settings.iterations,
            "top_ops": [(name, s, count) for name, (s, count) in top]}


def measure(problem: Problem, kind: str, arch: str) -> dict:
    """Timed, counted and profiled training of one cell under one scorer."""
    model = problem.model(arch)
    start = time.process_time()
    problem.train(model)
    timed_s = time.process_time() - start
    per_iteration, per_eval = counted_flops(problem, arch)
    return {"kind": kind, "arch": arch, "iterations": problem.settings.iterations,
            "timed_s": timed_s, "flops_per_iteration": per_iteration, "flops_per_eval": per_eval,
            "flops": schedule_flops(problem.settings, per_iteration, per_eval),
            **profiled_split(problem, arch)}


def summarize(rows: list[dict], peak_gflops: float) -> dict:
    """GFLOP/s (total FLOPs / total timed CPU seconds), share of peak, column shares."""
    timed = sum(row["timed_s"] for row in rows)
    profiled = sum(row["profiled_s"] for row in rows)
    profiled_wall = sum(row["profiled_wall_s"] for row in rows)
    gflops = sum(row["flops"] for row in rows) / timed / 1e9
    shares = {column: sum(row["seconds"].get(column, 0.0) for row in rows) / profiled_wall
              for column in COLUMNS}
    phases = {phase: sum(row["phases"].get(phase, 0.0) for row in rows) / profiled_wall
              for phase in (*PHASES, "loop_python")}
    iterations = sum(row["iterations"] for row in rows)
    return {"cells": len(rows), "timed_s": timed, "ms_per_iteration": 1e3 * timed / iterations,
            "gflops": gflops, "peak_share": gflops / peak_gflops, "shares": shares,
            "phases": phases, "profiler_overhead": profiled / timed,
            "ops_per_iteration": statistics.mean(row["ops_per_iteration"] for row in rows)}


def format_row(label: str, summary: dict) -> str:
    shares = " | ".join(f"{100 * summary['shares'][c]:.0f} %" for c in COLUMNS)
    return (f"| {label} | {summary['cells']} | {summary['ms_per_iteration']:.1f} | "
            f"{summary['gflops']:.1f} | {100 * summary['peak_share']:.1f} % | {shares} | "
            f"{summary['profiler_overhead']:.2f} |")


HEADER = ("| scorer, cells | n | CPU ms/iteration | GFLOP/s | of GEMM peak | convolution | "
          "normalization | elementwise | memory | Python/dispatch | profiler overhead |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")


def run(scorers: list[str], per_kind: int, iterations: int | None, batch_size: int, seed: int,
        gemm_repeats: int) -> dict:
    torch.set_num_threads(1)
    cells = profile_cells(per_kind, seed)
    peak_before = gemm_peak_gflops(gemm_repeats)
    warm = make_problem(scorers[0], 2, batch_size)
    for _, arch in cells[:1] + cells[-1:]:  # allocator, oneDNN kernel caches
        warm.train(warm.model(arch))
    results: dict = {"scorers": {}}
    for name in scorers:
        problem = make_problem(name, iterations, batch_size)
        rows = [measure(problem, kind, arch) for kind, arch in cells]
        results["scorers"][name] = {"settings": problem.settings.__dict__, "rows": rows}
    peak = max(peak_before, gemm_peak_gflops(gemm_repeats))
    results.update({"gemm_peak_gflops": peak, "gemm_peak_before_after": [peak_before, peak],
                    "cells": cells, "batch_size": batch_size, "seed": seed,
                    "torch": torch.__version__, "machine": cpu_model(),
                    "threads": torch.get_num_threads(), "load_average": os.getloadavg()})
    for scorer_results in results["scorers"].values():
        rows = scorer_results["rows"]
        scorer_results["summary"] = {
            "all": summarize(rows, peak),
            **{kind: summarize([r for r in rows if r["kind"] == kind], peak) for kind in KINDS}}
    return results


def report(results: dict) -> str:
    lines = [f"GEMM peak {results['gemm_peak_gflops']:.1f} GFLOP/s (1024x1024 fp32, one thread, "
             f"CPU time; before/after {results['gemm_peak_before_after'][0]:.1f}/"
             f"{results['gemm_peak_before_after'][1]:.1f}), torch {results['torch']}, batch "
             f"{results['batch_size']}, {results['machine']}, "
             f"load {results['load_average'][0]:.1f}",
             HEADER]
    for name, scorer_results in results["scorers"].items():
        settings = scorer_results["settings"]
        for kind, summary in scorer_results["summary"].items():
            lines.append(format_row(f"{name} ({settings['iterations']} it.), {kind}", summary))
    lines.append("\nphases (share of the profiled wall time), ops per iteration:")
    for name, scorer_results in results["scorers"].items():
        for kind, summary in scorer_results["summary"].items():
            phases = ", ".join(f"{phase} {100 * share:.0f} %"
                               for phase, share in summary["phases"].items())
            lines.append(f"  {name}, {kind}: {phases}; {summary['ops_per_iteration']:.0f} ops")
    lines.append("\ntop aten ops of a light cell (self s, calls):")
    light = next(r for r in next(iter(results["scorers"].values()))["rows"]
                 if r["kind"] == "light")
    lines.extend(f"  {name}: {s:.3f} s, {count}" for name, s, count in light["top_ops"])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scorers", default=",".join(SCORERS))
    parser.add_argument("--cells-per-kind", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=None,
                        help="cap on every scorer's iterations (default: each scorer's own)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gemm-repeats", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    results = run(args.scorers.split(","), args.cells_per_kind, args.iterations,
                  args.batch_size, args.seed, args.gemm_repeats)
    print(report(results), flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
