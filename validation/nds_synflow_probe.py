"""Synflow on every ImageNet record of NDS ResNeXt-A and -B (and the cell spaces) under the
settings the GenNAS appendix might have used: network form, input side, class count, BN kept or
removed, float64 (the reference's ``net.double()``) or float32 (where ResNeXt's flow overflows).

Why: the appendix's synflow Kendall on ResNeXt-A / -B (0.28 / 0.21) is far below what the
harness measures (0.482 / 0.369), while synflow matches on the five cell spaces
(validation/study-gennas-appendix-cpu.md). Each record's network is built with the harness's
NDS space plugin (``torch.manual_seed(seed)`` before the build, so float64 and float32 score the
same weights); synflow is computed as the zero-cost reference computes it (absolute value of
every state tensor, BN forward replaced by the identity unless kept, one all-ones image, the sum
of the outputs back-propagated, sum over Conv2d / Linear weights of |W * dR/dW|, accumulated in
the model's dtype). ``score`` appends one JSON line per (space, arch, config, seed), resuming a
file; ``table`` prints Kendall tau-b against ``imagenet/top1`` with a 95 % bootstrap interval.

    HARNESS_DATA_DIR=DATA python validation/nds_synflow_probe.py score scores.jsonl \
        [--configs nds-32-nc10,gennas-32-nc1] [--spaces nds-resnext-a,nds-resnext-b] [--seeds 0]
    HARNESS_DATA_DIR=DATA python validation/nds_synflow_probe.py table scores.jsonl
"""

from __future__ import annotations

import argparse
import copy
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from harness import metrics
from harness.datadir import resolve_data_dir
from harness.registry import get_registry

SPACES = ("nds-resnext-a", "nds-resnext-b")
# name: (network form, input side, classes, BN kept in train mode, imagenet_input_side option)
CONFIGS = {
    "nds-32-nc10": ("nds", 32, 10, False, None),  # the harness's synflow default
    "nds-32-nc1": ("nds", 32, 1, False, None),
    "nds-32-nc1000": ("nds", 32, 1000, False, None),
    "nds-224-nc10": ("nds", 224, 10, False, None),
    "nds-224-nc10-bn": ("nds", 224, 10, True, None),
    "nds-32-nc10-bn": ("nds", 32, 10, True, None),
    "gennas-32-nc10": ("gennas", 32, 10, False, None),
    "gennas-32-nc1": ("gennas", 32, 1, False, None),  # GenNAS's fbnas.py NDS network: nc = 1
    "gennas-32-nc1-bn": ("gennas", 32, 1, True, None),
    "naswot-224-nc10": ("naswot", 224, 10, False, 224),
    "naswot-224-nc1": ("naswot", 224, 1, False, 224),
}


def synflow(model: nn.Module, side: int, dtype: torch.dtype, keep_bn: bool) -> float:
    """The zero-cost reference's synflow of ``model`` in ``dtype``."""
    model.train()
    if not keep_bn:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.forward = lambda x: x
    with torch.no_grad():
        for tensor in model.state_dict().values():
            tensor.abs_()
    model.to(dtype)
    output = model(torch.ones(1, 3, side, side, dtype=dtype))
    output = output[0] if isinstance(output, tuple | list) else output
    torch.sum(output).backward()
    total = torch.zeros((), dtype=dtype)
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.Linear) and module.weight.grad is not None:
            total = total + torch.sum(torch.abs(module.weight * module.weight.grad)).detach()
    return float(total)


def imagenet_records(space, data_dir: Path):
    truth = space.ground_truth(data_dir).frame
    return truth, [arch for arch in truth["imagenet/top1"].dropna().index
                   if str(arch).startswith("in-")]


def score(out: Path, configs: list[str], spaces: list[str], seeds: list[int]) -> None:
    torch.set_num_threads(1)
    data_dir = resolve_data_dir(None)
    done = set()
    if out.exists():
        for line in out.read_text().splitlines():
            row = json.loads(line)
            done.add((row["space"], row["arch"], row["config"], row["seed"]))
    registry = get_registry()
    with out.open("a") as sink:
        for name in configs:
            form, side, classes, keep_bn, input_side = CONFIGS[name]
            for space_name in spaces:
                space = registry.get("space", space_name)
                for arch in imagenet_records(space, data_dir)[1]:
                    for seed in seeds:
                        if (space_name, arch, name, seed) in done:
                            continue
                        torch.manual_seed(seed)
                        model = space.build_model(arch, num_classes=classes, variant=form,
                                                  imagenet_input_side=input_side,
                                                  data_dir=data_dir)
                        row = {"space": space_name, "arch": arch, "config": name, "seed": seed}
                        try:
                            row["f64"] = synflow(copy.deepcopy(model), side, torch.float64,
                                                 keep_bn)
                            row["f32"] = synflow(copy.deepcopy(model), side, torch.float32,
                                                 keep_bn)
                        except ValueError as error:  # BN in train mode on a 1x1 map
                            row["error"] = str(error)[:120]
                        sink.write(json.dumps(row) + "\n")
                        sink.flush()


def table(path: Path) -> None:
    data_dir = resolve_data_dir(None)
    registry = get_registry()
    cells: dict[tuple, dict[str, dict]] = defaultdict(dict)
    for line in path.read_text().splitlines():
        row = json.loads(line)
        cells[(row["space"], row["config"], row["seed"])][row["arch"]] = row
    print("| space | config | seed | n | float32 inf+nan | Kendall, float64 [95 %] | Kendall, "
          "float32 with non-finite tied at the top [95 %] |\n| --- | --- | --- | --- | --- | --- "
          "| --- |")
    for (space_name, config, seed), rows in sorted(cells.items()):
        truth = registry.get("space", space_name).ground_truth(data_dir).frame
        archs = [arch for arch, row in rows.items() if "f64" in row]
        if not archs:
            print(f"| {space_name} | {config} | {seed} | 0 | | every record failed | |")
            continue
        top1 = truth.loc[archs, "imagenet/top1"].to_numpy(float)
        f64 = np.array([rows[arch]["f64"] for arch in archs])
        f32 = np.array([rows[arch]["f32"] for arch in archs])
        tied = np.where(np.isnan(f32), np.inf, f32)
        exact, rounded = (metrics.evaluate(values, top1, bootstrap=1000) for values in (f64, tied))
        shown = [f"{q.kendall:.3f} [{q.kendall_interval[0]:.3f}, {q.kendall_interval[1]:.3f}]"
                 for q in (exact, rounded)]
        print(f"| {space_name} | {config} | {seed} | {len(archs)} | "
              f"{int((~np.isfinite(f32)).sum())} | {shown[0]} | {shown[1]} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("score", "table"))
    parser.add_argument("scores", type=Path)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--spaces", default=",".join(SPACES))
    parser.add_argument("--seeds", default="0")
    args = parser.parse_args()
    if args.command == "score":
        score(args.scores, args.configs.split(","), args.spaces.split(","),
              [int(seed) for seed in args.seeds.split(",")])
    else:
        table(args.scores)
