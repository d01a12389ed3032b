"""NAS-Bench-101 cells: validation, pruning and the benchmark's isomorphism-invariant hash.

A cell is an upper-triangular 0/1 adjacency matrix over at most 7 vertices (input first,
output last) with at most 9 edges, and one operation per interior vertex. The benchmark prunes
every vertex that is not on an input -> output path *before* checking those limits and before
hashing, so raw matrices that differ can be the same cell (official code
github.com/google-research/nasbench, ``nasbench/lib/model_spec.py``).

The module hash is a Weisfeiler-Lehman style fingerprint whose exact Python string formatting
(``str(tuple)``, ``str(list)``) is part of the value; it is reproduced literally so that ids
match the official ``nasbench_*.tfrecord`` keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from harness.errors import ConfigError

INPUT = "input"
OUTPUT = "output"
CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"
# Canonical order of the interior operations; a vertex's hash label is its index here.
OPERATIONS = (CONV3X3, CONV1X1, MAXPOOL3X3)
MAX_VERTICES = 7
MAX_EDGES = 9

Matrix = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class Cell:
    """A valid, pruned cell: ``matrix[i][j] == 1`` is an edge i -> j; ``ops[0]`` is ``input``."""

    matrix: Matrix
    ops: tuple[str, ...]

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return sum(map(sum, self.matrix))

    @property
    def adjacency_string(self) -> str:
        """Row-major '0'/'1' string, the layout of the official records' adjacency field."""
        return "".join(str(bit) for row in self.matrix for bit in row)

    @property
    def operations_string(self) -> str:
        """Comma-joined vertex labels, the layout of the official records' operations field."""
        return ",".join(self.ops)

    def module_hash(self) -> str:
        return module_hash(self.matrix, self.ops)

    def to_json(self) -> dict[str, list]:
        return {"matrix": [list(row) for row in self.matrix], "ops": list(self.ops)}


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def module_hash(matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> str:
    """The benchmark's fingerprint of an already pruned cell (``nasbench/lib/graph_util.py``).

    Vertex labels: -1 input, -2 output, else the op's index in ``OPERATIONS``. Start from the
    MD5 of ``str((out_degree, in_degree, label))``; then, V times, every vertex becomes the MD5
    of its sorted in-neighbour hashes, '|', its sorted out-neighbour hashes, '|', its own hash.
    The fingerprint is the MD5 of ``str(sorted(vertex_hashes))``.
    """
    size = len(ops)
    labels = [-1] + [OPERATIONS.index(op) for op in ops[1:-1]] + [-2]
    sources = [[w for w in range(size) if matrix[w][v]] for v in range(size)]
    targets = [[w for w in range(size) if matrix[v][w]] for v in range(size)]
    hashes = [_md5(str((len(targets[v]), len(sources[v]), labels[v]))) for v in range(size)]
    for _ in range(size):
        hashes = [_md5("".join(sorted([hashes[w] for w in sources[v]])) + "|"
                       + "".join(sorted([hashes[w] for w in targets[v]])) + "|" + hashes[v])
                  for v in range(size)]
    return _md5(str(sorted(hashes)))


def _check_raw(matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> list[list[int]]:
    size = len(matrix)
    rows = [list(row) for row in matrix]
    if size < 2 or any(len(row) != size for row in rows):
        raise ConfigError(f"NB101 adjacency must be a square matrix with at least 2 vertices; "
                          f"got {size} rows of lengths {[len(row) for row in rows]}")
    if any(bit not in (0, 1) for row in rows for bit in row):
        raise ConfigError("NB101 adjacency entries must be 0 or 1")
    if any(rows[i][j] for i in range(size) for j in range(i + 1)):
        raise ConfigError("NB101 adjacency must be strictly upper-triangular (edges go from a "
                          "lower to a higher vertex index; zero diagonal)")
    if len(ops) != size:
        raise ConfigError(f"NB101 cell has {size} vertices but {len(ops)} operations")
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise ConfigError(f"NB101 operations must start with {INPUT!r} and end with {OUTPUT!r}; "
                          f"got {list(ops)}")
    unknown = sorted({op for op in ops[1:-1] if op not in OPERATIONS})
    if unknown:
        raise ConfigError(f"unknown NB101 operation(s) {unknown}; allowed: {', '.join(OPERATIONS)}")
    return rows


def _reachable(rows: list[list[int]], start: int, forward: bool) -> set[int]:
    size = len(rows)
    seen, frontier = {start}, [start]
    while frontier:
        v = frontier.pop()
        neighbours = (w for w in range(size) if (rows[v][w] if forward else rows[w][v]))
        for w in neighbours:
            if w not in seen:
                seen.add(w)
                frontier.append(w)
    return seen


def make_cell(matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> Cell:
    """Validate a raw (matrix, ops) spec, prune it and check the limits on the pruned graph.

    Raises ``ConfigError`` naming the violated rule; the benchmark holds every valid cell.
    """
    rows = _check_raw(matrix, ops)
    size = len(rows)
    keep = sorted(_reachable(rows, 0, True) & _reachable(rows, size - 1, False))
    if 0 not in keep or size - 1 not in keep:
        raise ConfigError("NB101 cell is invalid: no path from the input to the output")
    pruned = tuple(tuple(rows[i][j] for j in keep) for i in keep)
    cell = Cell(pruned, tuple(ops[i] for i in keep))
    if cell.num_vertices > MAX_VERTICES:
        raise ConfigError(f"NB101 cell has {cell.num_vertices} vertices after pruning; "
                          f"the benchmark allows at most {MAX_VERTICES}")
    if cell.num_edges > MAX_EDGES:
        raise ConfigError(f"NB101 cell has {cell.num_edges} edges after pruning; "
                          f"the benchmark allows at most {MAX_EDGES}")
    return cell


def cell_from_strings(adjacency: str, operations: str) -> Cell:
    """Cell from the official records' string fields (row-major bits, comma-joined labels)."""
    size = round(len(adjacency) ** 0.5)
    if size * size != len(adjacency) or set(adjacency) - {"0", "1"}:
        raise ConfigError(f"NB101 adjacency string {adjacency!r} is not a square 0/1 matrix")
    matrix = [[int(adjacency[i * size + j]) for j in range(size)] for i in range(size)]
    return make_cell(matrix, operations.split(","))
