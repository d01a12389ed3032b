"""GenNAS on light NB-201 cells: the loop of a past commit against the current one, interleaved.

The "before" side is ``harness/plugins/scorers/gennas/kernels.py`` and ``train.py`` as they were
at ``--before`` (default 0d254b4, before the contiguous pool adds and the train-mode change;
docs/performance.md), read from git into this process; the "after" side is the installed code.
First every loss of a few cells is compared (the change must not move a score), then each side
trains the light cells (every edge a 3x3 pool or a skip) in alternating rounds (ABAB, BABA), CPU
time, one thread. Prints each round's seconds and the paired median ratio.

    nice python benchmarks/gennas_light_cells_before_after.py --iterations 20 --rounds 6
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gennas_profile import make_problem, profile_cells  # noqa: E402
from gpu_gennas import official_node_sums  # noqa: E402

from harness.plugins.scorers.gennas import train as train_now  # noqa: E402

GENNAS = "harness/plugins/scorers/gennas"
REPOSITORY = Path(__file__).resolve().parents[1]


def load_past_loop(commit: str, folder: Path):
    """The ``train`` module of ``commit``, using that commit's kernels."""
    modules = {}
    for name in ("kernels", "train"):
        source = subprocess.run(["git", "-C", str(REPOSITORY), "show", f"{commit}:{GENNAS}/"
                                 f"{name}.py"], check=True, capture_output=True, text=True).stdout
        path = folder / f"{name}_{commit}.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        spec.loader.exec_module(module)
        modules[name] = module
    modules["train"].use_fast_kernels = modules["kernels"].use_fast_kernels
    return modules["train"]


def losses(train_module, problem, arch: str, memory_format: str | None = None,
           past: bool = False) -> list[float]:
    """Every evaluation loss and the last training loss of one cell's GenNAS training (in
    ``memory_format`` when given, else the scorer's default; a past side's node sums when
    ``past``)."""
    task = problem.scorer.task
    settings = problem.settings
    if memory_format is not None:
        settings = replace(settings, memory_format=memory_format)
    with official_node_sums() if past else contextlib.nullcontext():
        result = train_module.train(problem.model(arch), problem.inputs, problem.targets,
                                    task.noise, settings, task.loss_weights,
                                    task.scored_weights, torch.Generator().manual_seed(0))
    return [*result.eval_losses, result.last_train_loss]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default="0d254b4")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--before-memory-format", choices=("contiguous", "channels_last"),
                        help="the past side's memory order (default: the scorer's current one)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        sides = {"before": load_past_loop(args.before, Path(folder)), "after": train_now}
        formats = {"before": args.before_memory_format, "after": None}
        problem = make_problem("gennas-search-n", args.iterations, 16)
        cells = profile_cells(4, seed=1)
        light = [arch for kind, arch in cells if kind == "light"]
        pooled = [arch for kind, arch in cells if kind == "mid" and "avg_pool" in arch]
        for arch in (light[:3] + pooled)[:5]:
            before, after = (losses(sides[side], problem, arch, formats[side],
                                    side == "before") for side in ("before", "after"))
            gap = max(abs(x - y) / max(abs(x), 1e-30) for x, y in zip(before, after, strict=True))
            print(f"{arch}: {'bit-identical' if before == after else f'max rel. diff {gap:.2e}'}")
        seconds: dict[str, list[float]] = {"before": [], "after": []}
        for round_index in range(args.rounds):
            order = ("before", "after") if round_index % 2 == 0 else ("after", "before")
            for side in order:
                start = time.process_time()
                for arch in light:
                    losses(sides[side], problem, arch, formats[side], side == "before")
                seconds[side].append(time.process_time() - start)
    ratios = [b / a for b, a in zip(seconds["before"], seconds["after"], strict=True)]
    print(f"{len(light)} light cells, {args.iterations} iterations, {args.rounds} rounds")
    for side, values in seconds.items():
        print(f"{side:6} {' '.join(f'{v:.2f}' for v in values)}  median "
              f"{statistics.median(values):.2f} s")
    print(f"ratio  {' '.join(f'{r:.3f}' for r in ratios)}  median {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
