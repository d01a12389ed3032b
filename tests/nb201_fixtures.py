"""Writers of tiny NB201 / NATS-Bench files in the official layouts (as D-X-Y/NAS-Bench-201's
``nas_201_api`` and D-X-Y/NATS-Bench's ``nats_bench`` read them).

The states follow the ``ArchResults`` / ``ResultsCount`` dict layout of the real files; values
are made up so that the expected table entries are exact.
"""

from __future__ import annotations

import bz2
import pickle
import random
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from harness.plugins.spaces.nb201 import arch as nb201_arch

EVAL_SETS = {"cifar10-valid": ["x-valid", "ori-test"], "cifar10": ["ori-test"],
             "cifar100": ["x-valid", "x-test", "ori-test"],
             "ImageNet16-120": ["x-valid", "x-test", "ori-test"]}
CLASSES = {"cifar10-valid": 10, "cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}


def meta_archs() -> list[str]:
    """All 15,625 strings in a seeded shuffle (the reader must follow the file's order)."""
    archs = [nb201_arch.ops_to_str(ops) for ops in nb201_arch.all_ops()]
    random.Random(201).shuffle(archs)
    return archs


def accuracy(index: int, dataset: str, eval_set: str, seed: int, epochs: int) -> float:
    """The made-up final accuracy of one run (exact binary fractions, so means are exact)."""
    return 50.0 + (index % 7) + 0.25 * list(EVAL_SETS).index(dataset) \
        + 0.125 * EVAL_SETS[dataset].index(eval_set) + seed / 1000 + (epochs == 200) * 10


def result(index: int, arch_str: str, dataset: str, seed: int, epochs: int) -> dict:
    eval_acc1es = {}
    for eval_set in EVAL_SETS[dataset]:
        final = accuracy(index, dataset, eval_set, seed, epochs)
        for epoch in (0, epochs // 2, epochs - 1):
            eval_acc1es[f"{eval_set}@{epoch}"] = final - (epochs - 1 - epoch) * 0.01
    return {"name": dataset, "net_state_dict": None,
            "train_acc1es": {e: 10.0 + e for e in range(epochs)}, "train_acc5es": None,
            "train_losses": {e: 1.0 / (e + 1) for e in range(epochs)},
            "train_times": OrderedDict((e, 1.5) for e in range(epochs)),
            "arch_config": {"channel": 16, "num_cells": 5, "arch_str": arch_str,
                            "class_num": CLASSES[dataset]},
            "params": np.float64(0.1 + index / 1e6), "flop": 10.0 + index,
            "seed": f"{seed:04d}", "epochs": epochs, "latency": [np.float64(0.01)],
            "eval_names": EVAL_SETS[dataset], "eval_acc1es": eval_acc1es,
            "eval_times": {}, "eval_losses": {}}


def state(index: int, arch_str: str, epochs: int) -> dict:
    seeds = {"cifar10-valid": [777, 888, 999], "cifar10": [777, 888], "cifar100": [777],
             "ImageNet16-120": [777, 999]} if epochs == 200 else \
        {"cifar10-valid": [111, 777], "cifar10": [111], "cifar100": [111], "ImageNet16-120": [111]}
    return {"arch_index": index, "arch_str": arch_str,
            "all_results": {(d, s): result(index, arch_str, d, s, epochs)
                            for d, ss in seeds.items() for s in ss},
            "dataset_seed": seeds, "clear_net_done": True}


INDICES = (3, 42, 15624)


def budgets(index: int, archs: list[str], nb201_keys: bool = False) -> OrderedDict:
    short, full = ("less", "full") if nb201_keys else ("12", "200")
    return OrderedDict([(short, state(index, archs[index], 12)),
                        (full, state(index, archs[index], 200))])


def write_pth(path: Path, archs: list[str], *, legacy: bool = True) -> Path:
    data = {"meta_archs": archs, "arch2infos": {i: budgets(i, archs, True) for i in INDICES},
            "evaluated_indexes": set(INDICES)}
    torch.save(data, path, _use_new_zipfile_serialization=not legacy)
    return path


def write_bz2_pickle(path: Path, obj: object) -> Path:
    with bz2.open(path, "wb") as handle:
        pickle.dump(obj, handle, protocol=4)
    return path


def write_nats_single(path: Path, archs: list[str]) -> Path:
    return write_bz2_pickle(path, {"meta_archs": archs, "total_archs": len(archs),
                                   "arch2infos": {i: budgets(i, archs) for i in INDICES},
                                   "evaluated_indexes": set(INDICES)})


def write_nats_folder(folder: Path, archs: list[str], indices=INDICES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_bz2_pickle(folder / "meta.pickle.pbz2",
                     {"meta_archs": archs, "total_archs": len(archs), "arch2infos": None,
                      "evaluated_indexes": set()})
    for i in indices:
        write_bz2_pickle(folder / f"{i:06d}.pickle.pbz2", budgets(i, archs))
    return folder


def write_full_size_nats_folder(folder: Path, real_record: Path) -> Path:
    """A NATS simple folder of all 15,625 archs whose per-arch files have real size: one real
    record (``real_record``, e.g. the official ``000011.pickle.pbz2``) with its arch strings
    removed, so the reader takes each index's arch from the meta file, linked once per index.
    For memory measurements of streaming prepare; every arch gets the same accuracies."""
    folder.mkdir(parents=True)
    with bz2.open(real_record) as handle:
        record = pickle.load(handle)  # the shared data's real file, read by the test only
    for state in record.values():
        state["arch_str"] = None
    shared = write_bz2_pickle(folder.parent / f"{folder.name}-record.pickle.pbz2", record)
    archs = [nb201_arch.ops_to_str(ops) for ops in nb201_arch.all_ops()]
    write_bz2_pickle(folder / "meta.pickle.pbz2", {"meta_archs": archs, "arch2infos": None})
    for index in range(len(archs)):
        (folder / f"{index:06d}.pickle.pbz2").symlink_to(shared)
    return folder
