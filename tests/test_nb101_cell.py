"""NB101 cells: pruning and limits, the module hash (30 official vectors), encodings, mutation."""

import json
import random

import pytest

from harness.errors import ConfigError
from harness.plugins.spaces.nb101.cell import cell_from_strings, make_cell, module_hash
from harness.plugins.spaces.nb101.encoding import parse_cell_text, read_arch_list_entries
from harness.plugins.spaces.nb101.mutation import mutate_cell, pad_cell

C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"

# The Inception-like example cell of the NAS-Bench-101 README and its documented hash.
README_MATRIX = [[0, 1, 1, 1, 0, 1, 0],
                 [0, 0, 0, 0, 0, 0, 1],
                 [0, 0, 0, 0, 0, 0, 1],
                 [0, 0, 0, 0, 1, 0, 0],
                 [0, 0, 0, 0, 0, 0, 1],
                 [0, 0, 0, 0, 0, 0, 1],
                 [0, 0, 0, 0, 0, 0, 0]]
README_OPS = ["input", C1, C3, C3, C3, MP, "output"]
README_HASH = "28cfc7874f6d200472e1a9dcd8650aa0"


@pytest.fixture
def records(shared_data):
    return json.loads((shared_data / "nb101" / "naslib_nb101_dummy30.json").read_text())


def test_readme_example_hash():
    assert make_cell(README_MATRIX, README_OPS).module_hash() == README_HASH


def test_thirty_official_hashes(records):
    computed = [module_hash(r["module_adjacency"], r["module_operations"]) for r in records]
    assert computed == [r["module_hash"] for r in records], "hash must equal the tfrecord keys"


def test_pruning_removes_dead_ends_and_keeps_the_hash():
    # vertex 2 has no path to the output, vertex 3 is not reachable from the input
    matrix = [[0, 1, 1, 0, 0],
              [0, 0, 0, 0, 1],
              [0, 0, 0, 0, 0],
              [0, 0, 0, 0, 1],
              [0, 0, 0, 0, 0]]
    cell = make_cell(matrix, ["input", C3, MP, C1, "output"])
    assert cell.matrix == ((0, 1, 0), (0, 0, 1), (0, 0, 0))
    assert cell.ops == ("input", C3, "output")
    assert cell.module_hash() == make_cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]],
                                           ["input", C3, "output"]).module_hash()


def test_limits_are_checked_after_pruning():
    # a raw 8-vertex matrix with 10 edges whose pruned graph is small is valid
    size = 8
    matrix = [[0] * size for _ in range(size)]
    matrix[0][1] = matrix[1][size - 1] = 1
    for j in range(2, size - 1):  # dangling vertices fed by vertex 1, never reaching the output
        matrix[1][j] = 1
    for j in range(3, size - 1):
        matrix[2][j] = 1
    ops = ["input"] + [C3] * (size - 2) + ["output"]
    assert sum(map(sum, matrix)) > 9
    assert make_cell(matrix, ops).num_vertices == 3


@pytest.mark.parametrize("matrix, ops, message", [
    ([[0, 0], [0, 0]], ["input", "output"], "no path"),
    ([[0, 1], [1, 0]], ["input", "output"], "upper-triangular"),
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv5x5", "output"], "unknown NB101 operation"),
    ([[0, 1], [0, 0]], ["input", C3, "output"], "2 vertices but 3"),
    ([[0, 1], [0, 0]], ["output", "input"], "must start with"),
])
def test_invalid_cells(matrix, ops, message):
    with pytest.raises(ConfigError, match=message):
        make_cell(matrix, ops)


def test_too_many_edges_after_pruning():
    size = 7
    matrix = [[1 if j > i else 0 for j in range(size)] for i in range(size)]  # 21 edges, all live
    with pytest.raises(ConfigError, match="21 edges"):
        make_cell(matrix, ["input"] + [C3] * 5 + ["output"])


def test_encodings_agree(records):
    record = records[0]
    cell = make_cell(record["module_adjacency"], record["module_operations"])
    naslib_codes = {"input": 0, "output": 1, MP: 2, C1: 3, C3: 4}
    texts = [
        json.dumps({"matrix": record["module_adjacency"], "ops": record["module_operations"]}),
        json.dumps({"module_adjacency": record["module_adjacency"],
                    "module_operations": record["module_operations"]}),
        json.dumps([record["module_adjacency"], record["module_operations"]]),
        json.dumps([[record["module_adjacency"], record["module_operations"]], 0.93]),
        f"{cell.adjacency_string}|{cell.operations_string}",
        str(tuple([b for row in record["module_adjacency"] for b in row]
                  + [naslib_codes[op] for op in record["module_operations"]])),
    ]
    for text in texts:
        assert parse_cell_text(text) == cell, text
    assert parse_cell_text(record["module_hash"].upper()) == record["module_hash"]
    assert cell_from_strings(cell.adjacency_string, cell.operations_string) == cell


def test_unreadable_encoding():
    with pytest.raises(ConfigError, match="module hash"):
        parse_cell_text("not a cell")


def test_arch_list_file_layouts(tmp_path, records):
    cells = [[r["module_adjacency"], r["module_operations"]] for r in records[:3]]
    gennas = tmp_path / "list.json"
    gennas.write_text(json.dumps(cells))
    lines = tmp_path / "list.txt"
    lines.write_text("# hashes\n" + "\n".join(r["module_hash"] for r in records[:3]) + "\n\n")
    assert [parse_cell_text(e).module_hash() for e in read_arch_list_entries(gennas)] == [
        r["module_hash"] for r in records[:3]]
    assert read_arch_list_entries(lines) == [r["module_hash"] for r in records[:3]]


def test_padding_keeps_the_cell():
    cell = make_cell([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", C1, "output"])
    matrix, ops = pad_cell(cell, random.Random(0))
    assert len(matrix) == 7 and ops[0] == "input" and ops[-1] == "output"
    assert make_cell(matrix, ops) == cell


def test_mutants_are_valid_and_new():
    rng = random.Random(1)
    parent = make_cell(README_MATRIX, README_OPS)
    for _ in range(200):
        child = mutate_cell(parent, rng)
        assert child.module_hash() != parent.module_hash()
        assert make_cell(child.matrix, child.ops) == child, "mutants are pruned, valid cells"


def test_mutation_can_grow_a_small_cell():
    rng = random.Random(2)
    cell = make_cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", C3, "output"])
    sizes = {mutate_cell(cell, rng).num_vertices for _ in range(300)}
    assert max(sizes) > 3, "padding to 7 vertices lets a mutant gain vertices"
