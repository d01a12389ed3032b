"""A GPU kept busy (issue 19): archs per second with K trials packed on each GPU, the cost
table of ``harness profile``, and whether GPU scores agree with CPU scores. One short call:

    python benchmarks/gpu_scaleout.py --device cuda --out $OUT/scaleout
    python benchmarks/gpu_scaleout.py --device cpu --ks 1 --archs 4 --agreement-archs 3 \\
        --scorers params --spaces nb201 --profile-spaces nb201 --batch-sizes 8   # a CPU check

1. Throughput (``harness.profiling.throughput``): for each space and scorer (default
   GenNAS-search-N and synflow on NB-201 and NB-101), archs per second with K = 1, 2, 4, 8
   trials sharing each GPU through the ``local`` executor's worker pool, and the best K.
   The issue's target: GenNAS on NB-201 at >= 20 archs/s with packing (the appendix's loop,
   0.02 s per iteration on a 1080 Ti, is ~0.5 archs/s per GPU).
2. Cost per trial (``harness.profiling.profile``, appendix Table 6) for ``--profile-spaces``
   (default NB-201 and NDS-DARTS when its table is prepared) per batch size, OOM cells
   included.
3. Agreement: the same seeded archs scored on the device and on the CPU (in this process,
   one thread); Kendall's tau between the two score lists and the largest relative difference.

A space whose ground truth is neither prepared nor bundled is skipped and named. Prints the
tables; writes ``gpu_scaleout.md`` and ``gpu_scaleout.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from harness.config import RunConfig
from harness.errors import DataNotPreparedError
from harness.execute import execute_plan
from harness.metrics import kendall_tau
from harness.plan import plan_run
from harness.profiling import profile, profile_table, throughput, throughput_table
from harness.reports.render import markdown
from harness.store import load_trials


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _ints(text: str) -> list[int]:
    return [int(part) for part in _names(text)]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--spaces", type=_names, default=["nb201", "nb101"])
    parser.add_argument("--scorers", type=_names, default=["gennas-search-n", "synflow"])
    parser.add_argument("--ks", type=_ints, default=[1, 2, 4, 8], help="workers per GPU")
    parser.add_argument("--archs", type=int, default=48, help="archs per throughput cell")
    parser.add_argument("--profile-spaces", type=_names, default=["nb201", "nds-darts"],
                        help="spaces of the cost table (one whose table is missing is skipped)")
    parser.add_argument("--batch-sizes", type=_ints, default=[16, 32, 64])
    parser.add_argument("--agreement-archs", type=int, default=8,
                        help="archs scored on both the device and the CPU (0: none)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


def best_k(cells: list[Any]) -> dict[str, dict[str, Any]]:
    """Per space/dataset/scorer: the K with the most archs per second, and that rate."""
    best: dict[str, dict[str, Any]] = {}
    for cell in cells:
        key = f"{cell.space}/{cell.dataset}/{cell.scorer}"
        if cell.archs_per_s is not None and cell.archs_per_s > best.get(key, {}).get(
                "archs_per_s", -1.0):
            best[key] = {"k": cell.workers_per_gpu, "archs_per_s": cell.archs_per_s}
    return best


def _scores(config: RunConfig) -> dict[str, float]:
    execute_plan(plan_run(config), progress=False)
    trials = load_trials(Path(config.out))
    ok = trials[trials.status == "ok"]
    return dict(zip(ok.arch_id, ok.score, strict=True))


def agreement(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Kendall's tau and the largest relative difference between device and CPU scores."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="harness-agreement-") as scratch:
        for space in args.spaces:
            for scorer in args.scorers:
                base = dict(spaces=[space], scorers=[scorer], samples=args.agreement_archs,
                            workers=0, data_dir=args.data_dir)
                device = _scores(RunConfig(**base, device=args.device,
                                           out=f"{scratch}/{space}-{scorer}-dev"))
                cpu = _scores(RunConfig(**base, device="cpu",
                                        out=f"{scratch}/{space}-{scorer}-cpu"))
                common = sorted(set(device) & set(cpu))
                if not common:
                    continue
                a = [device[arch] for arch in common]
                b = [cpu[arch] for arch in common]
                worst = max(abs(x - y) / max(abs(y), 1e-12) for x, y in zip(a, b, strict=True))
                rows.append({"space": space, "scorer": scorer, "archs": len(common),
                             "kendall_tau": kendall_tau(a, b) if len(common) > 1 else None,
                             "max_rel_diff": worst})
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)
    rates, skipped = [], {}
    for space in args.spaces:  # one space at a time: a missing table skips only that space
        try:
            rates += throughput([space], args.ks, scorers=args.scorers, archs=args.archs,
                                device=args.device, data_dir=args.data_dir)
        except DataNotPreparedError as exc:
            skipped[space] = str(exc)
            print(f"skipped space {space}: {exc}", file=sys.stderr)
    args.spaces = [space for space in args.spaces if space not in skipped]
    cells = []
    for space in args.profile_spaces:
        try:
            cells += profile([space], args.batch_sizes, scorers=args.scorers, archs=2,
                             repeats=3, device=args.device, data_dir=args.data_dir)
        except DataNotPreparedError as exc:
            skipped[space] = str(exc)
            print(f"skipped space {space}: {exc}", file=sys.stderr)
    agree = agreement(args) if args.agreement_archs > 0 else []
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    text = "\n".join([f"# GPU scale-out on {args.device} ({name})",
                      markdown(throughput_table(rates)), markdown(profile_table(cells)),
                      "### GPU vs CPU scores", json.dumps(agree, indent=1)])
    print(text)
    document = {"device": args.device, "throughput": [asdict(c) for c in rates],
                "best_k": best_k(rates), "profile": [asdict(c) for c in cells],
                "agreement": agree, "skipped_spaces": skipped,
                "settings": {k: str(v) for k, v in vars(args).items()}}
    print(json.dumps(document["best_k"], indent=1))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "gpu_scaleout.md").write_text(text + "\n")
        (args.out / "gpu_scaleout.json").write_text(json.dumps(document, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
