"""Mutation of NAS-Bench-101 cells for regularized evolution (Ying et al. 2019, §5.1).

The benchmark paper mutates the *raw* 7-vertex spec: every interior op is replaced by another
op with probability 1/|V|, every possible edge (upper triangle) is flipped with probability
1/|possible edges|, and the draw is repeated until the pruned result is a valid cell. Our ids
are pruned cells, so a cell with fewer than 7 vertices is first padded back to 7 with
unconnected vertices (pruning removes them again, so the padded spec is the same cell); that
keeps every valid cell reachable. A draw equal to the parent cell is redrawn as well, so a
mutation always spends a fitness evaluation on a new cell.
"""

from __future__ import annotations

import random

from harness.errors import ConfigError
from harness.plugins.spaces.nb101.cell import MAX_VERTICES, OPERATIONS, Cell, make_cell

MAX_DRAWS = 10_000


def pad_cell(cell: Cell, rng: random.Random) -> tuple[list[list[int]], list[str]]:
    """Raw 7x7 spec of ``cell``: unconnected vertices with random ops inserted before the output."""
    size = cell.num_vertices
    extra = MAX_VERTICES - size
    matrix = [[0] * MAX_VERTICES for _ in range(MAX_VERTICES)]
    for i in range(size):
        for j in range(size):
            if cell.matrix[i][j]:
                # the output vertex moves from index size-1 to the last index
                matrix[i if i < size - 1 else MAX_VERTICES - 1][
                    j if j < size - 1 else MAX_VERTICES - 1] = 1
    ops = list(cell.ops[:-1]) + [rng.choice(OPERATIONS) for _ in range(extra)] + [cell.ops[-1]]
    return matrix, ops


def mutate_cell(cell: Cell, rng: random.Random) -> Cell:
    """A valid cell different from ``cell``, drawn as in the benchmark paper (module docstring)."""
    parent_hash = cell.module_hash()
    size = MAX_VERTICES
    pairs = [(i, j) for i in range(size) for j in range(i + 1, size)]
    for _ in range(MAX_DRAWS):
        matrix, ops = pad_cell(cell, rng)
        for i, j in pairs:
            if rng.random() < 1 / len(pairs):
                matrix[i][j] = 1 - matrix[i][j]
        for v in range(1, size - 1):
            if rng.random() < 1 / size:
                ops[v] = rng.choice([op for op in OPERATIONS if op != ops[v]])
        try:
            child = make_cell(matrix, ops)
        except ConfigError:
            continue
        if child.module_hash() != parent_hash:
            return child
    raise ConfigError(f"no valid NB101 mutant of {parent_hash} found in {MAX_DRAWS} draws")
