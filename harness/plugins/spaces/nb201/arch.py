"""NAS-Bench-201 cell encodings and exact conversions between them (Dong & Yang, ICLR 2020;
official code github.com/D-X-Y/NAS-Bench-201, ``nas_201_api/api_201.py``).

The internal form is ``ops``: a tuple of 6 op codes in the **arch-string edge order**
``e(0→1), e(0→2), e(1→2), e(0→3), e(1→3), e(2→3)`` with the canonical op codes
0 ``none``, 1 ``skip_connect``, 2 ``nor_conv_1x1``, 3 ``nor_conv_3x3``, 4 ``avg_pool_3x3``.
Every other encoding converts to and from it:

- arch string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (the arch id of the ``nb201`` space);
- GenNAS nested lists ``[[e01], [e02, e12], [e03, e13, e23]]`` with the canonical op codes;
- NASLib tuples: op order ``skip_connect, none, nor_conv_3x3, nor_conv_1x1, avg_pool_3x3`` and
  edge order ``0→1, 0→2, 0→3, 1→2, 1→3, 2→3`` (both differ from the string).

The benchmark *index* is not an encoding of the cell: it is the position in the official
``meta_archs`` list, a fixed shuffle that no simple enumeration reproduces (checked against the
15,625-string list), so index look-ups go through a prepared table (``space.py``).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Iterator, Sequence

from harness.errors import ConfigError

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
NUM_EDGES = len(EDGES)
NUM_ARCHS = len(OPS) ** NUM_EDGES

NASLIB_OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1",
                               "avg_pool_3x3")
NASLIB_EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))

_OP_CODE = {name: code for code, name in enumerate(OPS)}
_NASLIB_TO_CODE = tuple(_OP_CODE[name] for name in NASLIB_OPS)
_CODE_TO_NASLIB = tuple(NASLIB_OPS.index(name) for name in OPS)
_NASLIB_EDGE_POS = tuple(NASLIB_EDGES.index(edge) for edge in EDGES)

Ops = tuple[int, ...]


def _check_ops(ops: Sequence[int]) -> Ops:
    if len(ops) != NUM_EDGES:
        raise ConfigError(f"an NB201 cell has {NUM_EDGES} edges, got {len(ops)} op codes: {ops!r}")
    for code in ops:
        if not isinstance(code, int) or isinstance(code, bool) or not 0 <= code < len(OPS):
            raise ConfigError(f"op code {code!r} is not one of 0..{len(OPS) - 1} "
                              f"({', '.join(f'{i} {n}' for i, n in enumerate(OPS))})")
    return tuple(ops)


def ops_to_str(ops: Sequence[int]) -> str:
    """The official arch string of a cell."""
    ops = _check_ops(ops)
    nodes = []
    for target in (1, 2, 3):
        terms = [f"{OPS[ops[k]]}~{src}" for k, (src, dst) in enumerate(EDGES) if dst == target]
        nodes.append("|" + "|".join(terms) + "|")
    return "+".join(nodes)


def str_to_ops(text: str) -> Ops:
    """Parse an arch string; inputs inside a node may come in any order, each exactly once."""
    text = text.strip()
    nodes = text.split("+")
    if len(nodes) != 3:
        raise ConfigError(f"NB201 arch string {text!r} must have 3 nodes separated by '+', "
                          f"like |nor_conv_3x3~0|+|none~0|skip_connect~1|+|...~0|...~1|...~2|; "
                          f"found {len(nodes)}")
    ops: dict[tuple[int, int], int] = {}
    for target, node in enumerate(nodes, start=1):
        if not (node.startswith("|") and node.endswith("|") and len(node) > 2):
            raise ConfigError(f"node {target} of {text!r} is {node!r}; each node is written "
                              f"between '|' characters, like |op~0|op~1|")
        for term in node[1:-1].split("|"):
            name, sep, source = term.partition("~")
            if not sep or not source.isdigit():
                raise ConfigError(f"term {term!r} of node {target} in {text!r} is not 'op~input'")
            if name not in _OP_CODE:
                raise ConfigError(f"unknown NB201 op {name!r} in {text!r}; known ops: "
                                  f"{', '.join(OPS)}")
            src = int(source)
            if src >= target:
                raise ConfigError(f"node {target} of {text!r} reads node {src}; node {target} "
                                  f"may only read nodes 0..{target - 1}")
            if (src, target) in ops:
                raise ConfigError(f"node {target} of {text!r} reads node {src} twice")
            ops[(src, target)] = _OP_CODE[name]
        missing = [src for src in range(target) if (src, target) not in ops]
        if missing:
            raise ConfigError(f"node {target} of {text!r} lacks its input(s) from node(s) "
                              f"{missing}; node {target} must read every node 0..{target - 1}")
    return tuple(ops[edge] for edge in EDGES)


def ops_to_gennas(ops: Sequence[int]) -> list[list[int]]:
    """GenNAS nested lists ``[[e01], [e02, e12], [e03, e13, e23]]`` (canonical op codes)."""
    ops = _check_ops(ops)
    return [[ops[0]], [ops[1], ops[2]], [ops[3], ops[4], ops[5]]]


def gennas_to_ops(nested: Sequence[Sequence[int]]) -> Ops:
    """Inverse of ``ops_to_gennas``; node k must list exactly k op codes."""
    if (len(nested) != 3 or not all(isinstance(node, list | tuple) for node in nested)
            or [len(node) for node in nested] != [1, 2, 3]):
        raise ConfigError(f"GenNAS NB201 encoding {nested!r} must be [[e01], [e02, e12], "
                          f"[e03, e13, e23]] (lists of 1, 2 and 3 op codes)")
    return _check_ops([code for node in nested for code in node])


def ops_to_naslib(ops: Sequence[int]) -> Ops:
    """NASLib op-index tuple (NASLib op order and edge order)."""
    ops = _check_ops(ops)
    naslib = [0] * NUM_EDGES
    for k, code in enumerate(ops):
        naslib[_NASLIB_EDGE_POS[k]] = _CODE_TO_NASLIB[code]
    return tuple(naslib)


def naslib_to_ops(naslib: Sequence[int]) -> Ops:
    """Inverse of ``ops_to_naslib``."""
    naslib = _check_ops(naslib)
    return tuple(_NASLIB_TO_CODE[naslib[_NASLIB_EDGE_POS[k]]] for k in range(NUM_EDGES))


def all_ops() -> Iterator[Ops]:
    """Every cell, in op-code product order (not the benchmark index order)."""
    return itertools.product(range(len(OPS)), repeat=NUM_EDGES)


def mutate_ops(ops: Sequence[int], rng: random.Random) -> Ops:
    """Change each edge with probability 1/6 to a different op; at least one edge changes.

    When no edge was picked, one edge is drawn uniformly instead, so the expected number of
    changes stays near one, as in regularized evolution on NB201.
    """
    ops = list(_check_ops(ops))
    picked = [k for k in range(NUM_EDGES) if rng.random() < 1 / NUM_EDGES]
    if not picked:
        picked = [rng.randrange(NUM_EDGES)]
    for k in picked:
        ops[k] = rng.choice([code for code in range(len(OPS)) if code != ops[k]])
    return tuple(ops)


def neighbour_ops(ops: Sequence[int]) -> list[Ops]:
    """All 24 cells that differ from ``ops`` on exactly one edge, in edge then op order."""
    ops = _check_ops(ops)
    return [ops[:k] + (code,) + ops[k + 1:]
            for k in range(NUM_EDGES) for code in range(len(OPS)) if code != ops[k]]


def canonical_form(ops: Sequence[int]) -> str:
    """An isomorphism-invariant description of what the cell computes.

    Each node is the sum (a multiset) of its incoming terms. ``none`` adds nothing;
    ``skip_connect`` adds its source node's terms unchanged (identity distributes over the sum);
    any other op adds one term ``op(source)``, where ``source`` is itself the sorted multiset
    of the source node. An op applied to an empty (all-zero) node is dropped, so edges out of
    nodes the input never reaches vanish. The output node's sorted multiset, written out, is the
    form: cells that differ only in dead edges, in the order of summed terms, or in how skip
    connections route identical sums get the same form. It is coarser than NATS'
    ``get_unique_str`` (which keeps zero sub-terms and term order): every pair that string calls
    identical shares this form (checked on all 15,625). Multiplicity is kept
    (``conv(x) + conv(x)`` has two separately weighted convolutions).
    """
    ops = _check_ops(ops)
    nodes: list[list[str]] = [["x"]]
    for target in (1, 2, 3):
        terms: list[str] = []
        for k, (src, dst) in enumerate(EDGES):
            if dst != target or ops[k] == 0 or not nodes[src]:
                continue
            if ops[k] == 1:
                terms.extend(nodes[src])
            else:
                terms.append(f"{OPS[ops[k]]}({'+'.join(nodes[src])})")
        nodes.append(sorted(terms))
    return "+".join(nodes[3]) or "0"


def duplicate_groups(arch_strs: Iterable[str]) -> dict[str, list[str]]:
    """Groups of the given archs that share a canonical form (only groups of two or more).

    For reports: the benchmark scores every index, so duplicates are reported, never dropped.
    """
    groups: dict[str, list[str]] = {}
    for arch in arch_strs:
        groups.setdefault(canonical_form(str_to_ops(arch)), []).append(arch)
    return {form: archs for form, archs in groups.items() if len(archs) > 1}
