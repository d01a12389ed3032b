"""Why NASWOT on NDS ResNeXt-A/B ImageNet lands above the GenNAS appendix: the input resolution.

NASWOT's official code scored the NDS ImageNet sweeps on Imagenette images resized to 256 and
centre-cropped to 224 (``scorehook.sh``: ``--dataset imagenette2``; ``get_dataset_with_transform``:
``Resize(256), CenterCrop(224)``, batch 128), on its AnyNet port (``nasspace.py``: every ``net``
entry a stage, ``res_stem_in`` stem of width 12: the harness's ``naswot`` variant). The harness
feeds every NDS network 32x32 images. On the port, a 32x32 input leaves the stride-4 stem and the
stride-8 first stage with a 1x1 map, so most ReLU codes are the same for every image.

This probe scores NASWOT on every ImageNet record of the two sweeps on the ``naswot`` and ``nds``
networks at 32x32 and at 224x224, the 224 batch being the same 20 real CIFAR-10 test images
upsampled (bilinear): natural images at the reference's resolution, not Imagenette itself (not
available offline). Kendall tau-b against ``imagenet/top1`` with a 95 % bootstrap interval.

    nice -n 10 python validation/nds_resolution_probe.py --data-dir DD --out probe.jsonl
    (DD: a data dir where `harness data prepare nds --source ../shared/data/nds` ran)

Resumable: finished (space, variant, side, arch) lines of ``--out`` are not scored again.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import harness
from harness import metrics
from harness.registry import get_registry

SPACES = ("nds-resnext-a", "nds-resnext-b")
VARIANTS = ("naswot", "nds")
SIDES = (32, 224)
IMAGES = Path(__file__).resolve().parents[2] / "shared" / "data" / "images" / "cifar10" / \
    "cifar10_foolbox20.npz"
# CIFAR-10 channel statistics, as the harness's cifar10 normalization preset.
MEAN = torch.tensor([125.3, 123.0, 113.9]).view(1, 3, 1, 1) / 255
STD = torch.tensor([63.0, 62.1, 66.7]).view(1, 3, 1, 1) / 255


def batch(side: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The 20 real CIFAR-10 test images, normalized, at ``side`` x ``side``."""
    data = np.load(IMAGES)
    images = torch.from_numpy(data["x"]).permute(0, 3, 1, 2).float() / 255
    if side != images.shape[-1]:
        images = torch.nn.functional.interpolate(images, size=(side, side), mode="bilinear",
                                                 align_corners=False)
    return (images - MEAN) / STD, torch.from_numpy(data["y"]).long()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--summary", action="store_true", help="only print the table")
    args = parser.parse_args()
    torch.set_num_threads(1)
    done = {}
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            row = json.loads(line)
            done[(row["space"], row["variant"], row["side"], row["arch"])] = row
    registry = get_registry()
    batches = {side: batch(side) for side in SIDES}
    with args.out.open("a") as out:
        for name in SPACES:
            space = registry.get("space", name)
            table = space.ground_truth(args.data_dir)
            truth = table.frame["imagenet/top1"].dropna()
            archs = [a for a in truth.index if str(a).startswith("in-")]
            for side in SIDES:
                for variant in VARIANTS:
                    for arch in [] if args.summary else archs:
                        if (name, variant, side, arch) in done:
                            continue
                        model = space.build_model(arch, num_classes=1000, variant=variant,
                                                  data_dir=args.data_dir)
                        inputs, targets = batches[side]
                        start = time.process_time()
                        value = harness.score(model, "naswot", inputs=inputs, targets=targets,
                                              num_classes=1000)
                        row = {"space": name, "variant": variant, "side": side, "arch": arch,
                               "score": value, "cpu_s": time.process_time() - start}
                        done[(name, variant, side, arch)] = row
                        out.write(json.dumps(row) + "\n")
                        out.flush()
                    rows = [done[k] for k in done if k[:3] == (name, variant, side)]
                    scores = np.array([r["score"] for r in rows], float)
                    acc = truth[[r["arch"] for r in rows]].to_numpy(float)
                    quality = metrics.evaluate(scores, acc, higher_is_better=True, bootstrap=1000)
                    low, high = quality.kendall_interval
                    cpu = np.mean([r["cpu_s"] for r in rows])
                    print(f"| {name} | {variant} | {side} | {quality.n} | {quality.kendall:.3f} "
                          f"[{low:.3f}, {high:.3f}] | {cpu:.2f} |", flush=True)


if __name__ == "__main__":
    main()
