"""Mutation inside an NDS sweep: move to a nearest other record of the same sweep file.

An NDS sweep is a random sample of its design space (hundreds of records out of astronomically
many nets), so a freshly mutated net would almost never have ground truth or an arch id. A
neighbour is therefore the record of the same sweep closest to the arch, ties drawn with the
searcher's ``rng``:

- cell spaces: the number of genotype slots (``[op, input]`` pairs, normal and reduce) that
  differ, plus one per differing ``*_concat``, ``width`` and ``depth``;
- AnyNet spaces: the number of stage entries of ``ds``, ``ws``, ``bot_muls`` and ``num_gs``
  that differ (the stage widths and depths), plus one per differing ``block_type`` or ``ss``.
"""

from __future__ import annotations

import json
import random
from typing import Any

from harness.errors import ConfigError


def cell_distance(a: dict[str, Any], b: dict[str, Any]) -> int:
    distance = sum(a.get(key) != b.get(key) for key in ("width", "depth"))
    ga, gb = a.get("genotype", {}), b.get("genotype", {})
    for kind in ("normal", "reduce"):
        pa, pb = ga.get(kind, []), gb.get(kind, [])
        distance += sum(x != y for x, y in zip(pa, pb, strict=False)) + abs(len(pa) - len(pb))
        distance += ga.get(f"{kind}_concat") != gb.get(f"{kind}_concat")
    return distance


def anynet_distance(a: dict[str, Any], b: dict[str, Any]) -> int:
    distance = sum(a.get(key) != b.get(key) for key in ("block_type", "ss"))
    for key in ("ds", "ws", "bot_muls", "num_gs"):
        la, lb = a.get(key) or [], b.get(key) or []
        distance += sum(x != y for x, y in zip(la, lb, strict=False)) + abs(len(la) - len(lb))
    return distance


def nearest_record(frame: Any, arch_id: str, rng: random.Random, *, anynet: bool) -> str:
    """A record of ``arch_id``'s sweep at the smallest distance from it (never itself)."""
    if arch_id not in frame.index:
        raise ConfigError(f"{arch_id!r} is not a prepared record; cannot mutate it")
    sweep = frame.at[arch_id, "sweep"]
    same = frame[frame["sweep"] == sweep]
    net = json.loads(frame.at[arch_id, "net"])
    distance = anynet_distance if anynet else cell_distance
    best: list[str] = []
    best_distance = None
    for other, other_json in same["net"].items():
        if other == arch_id or other_json == frame.at[arch_id, "net"]:
            continue
        d = distance(net, json.loads(other_json))
        if best_distance is None or d < best_distance:
            best, best_distance = [str(other)], d
        elif d == best_distance:
            best.append(str(other))
    if not best:
        raise ConfigError(f"the {sweep} sweep has no other net than {arch_id}'s to mutate to")
    return rng.choice(best)
