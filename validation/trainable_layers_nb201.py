"""VKDNW's trainable-layer baseline on every NAS-Bench-201 cell, and the cells its Table 1 uses.

Týbl and Neumann (CVPR 2025, Table 1) publish Kendall τ 0.626 / 0.646 / 0.623 on CIFAR-10 /
CIFAR-100 / ImageNet16-120 for the number of trainable layers (the official code's
``vkdnw_dim``, ``NB201/ZeroShotProxy/compute_vkdnw_score.py``). Their analysis code
(``NB201/tss_analyze.py``, ``NB201/paper_preparation.ipynb``) correlates only the cells that
have GRAF features (``compute_graf = True``: the rows whose ``net`` is not null after a merge
with GRAF's ``nb201_features.csv``; Kadlecová et al., github.com/gabikadlecova/zc_combine).
GRAF keeps a cell when removing its dead branches changes nothing
(``zc_combine/fixes/nb201.py``, ``remove_zero_branches``): every op other than ``none`` lies on
a path of non-``none`` edges from the cell input to its output. This script counts those cells
and gives Kendall τ-b (``scipy.stats.kendalltau``, the pandas ``corr('kendall')`` of the
official ``get_metrics``) over them and over all 15,625 cells, for the columns the official
``get_results_from_api`` reads (200 epochs, seed mean): ``ori-test`` of the ``cifar10`` run,
``x-test`` of CIFAR-100 and ImageNet16-120; the validation columns beside them.

Scores are the ``trainable_layers`` count of the harness's own benchmark network, built once
per multiset of ops (the count depends on nothing else). No training, no data: seconds.
Usage: python validation/trainable_layers_nb201.py
"""

from __future__ import annotations

from importlib import resources

import pandas as pd
from scipy import stats

from harness.plugins.scorers.trainable_layers import trainable_tensor_count
from harness.plugins.spaces.nb201.arch import EDGES, OPS, Ops, str_to_ops
from harness.plugins.spaces.nb201.space import BUNDLED_TABLE, NB201Space

NONE = OPS.index("none")
OUTPUT = 3
COLUMNS = ("cifar10/ori-test", "cifar100/x-test", "imagenet16-120/x-test",
           "cifar10-valid/x-valid", "cifar100/x-valid", "imagenet16-120/x-valid")
PUBLISHED = {"cifar10/ori-test": 0.626, "cifar100/x-test": 0.646, "imagenet16-120/x-test": 0.623}


def _reachable(ops: Ops, start: int, forward: bool) -> set[int]:
    """Nodes joined to ``start`` by non-``none`` edges, downstream (forward) or upstream."""
    seen = {start}
    ordered = sorted(enumerate(EDGES), key=lambda item: item[1][1] if forward else -item[1][1])
    for k, (src, dst) in ordered:
        if ops[k] == NONE:
            continue
        if forward and src in seen:
            seen.add(dst)
        elif not forward and dst in seen:
            seen.add(src)
    return seen


def graf_valid(ops: Ops) -> bool:
    """Whether GRAF keeps the cell: it has an input-to-output path, and every non-``none`` edge
    lies on one (no op on a dead branch)."""
    from_input, to_output = _reachable(ops, 0, True), _reachable(ops, OUTPUT, False)
    if OUTPUT not in from_input:
        return False
    return all(ops[k] == NONE or (src in from_input and dst in to_output)
               for k, (src, dst) in enumerate(EDGES))


def trainable_layers(arch_ids: pd.Series) -> pd.Series:
    """The scorer's count on the benchmark network, one build per multiset of ops."""
    space, counts = NB201Space(), {}
    values = []
    for arch_id in arch_ids:
        key = tuple(sorted(str_to_ops(arch_id)))
        if key not in counts:
            counts[key] = trainable_tensor_count(space.build_model(arch_id, num_classes=10))
        values.append(counts[key])
    return pd.Series(values, index=arch_ids.index, dtype=float)


def main() -> None:
    path = resources.files("harness.plugins.spaces.nb201").joinpath("data", BUNDLED_TABLE)
    with resources.as_file(path) as table:
        cells = pd.read_parquet(table).reset_index()
    cells["score"] = trainable_layers(cells["arch_id"])
    cells["valid"] = [graf_valid(str_to_ops(a)) for a in cells["arch_id"]]
    print("| cells | n | " + " | ".join(f"`{c}`" for c in COLUMNS) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in COLUMNS) + " |")
    for label, subset in (("all", cells), ("GRAF-valid", cells[cells["valid"]])):
        taus = [stats.kendalltau(subset["score"], subset[c]).statistic for c in COLUMNS]
        print(f"| {label} | {len(subset)} | " + " | ".join(f"{t:.3f}" for t in taus) + " |")
    print("published (VKDNW Table 1): " + ", ".join(f"{c} {v}" for c, v in PUBLISHED.items()))


if __name__ == "__main__":
    main()
