"""Synthetic NAS-Bench-101 files at the real scale, and the prepare / load measurements on them.

``write PATH [--cells N]`` writes an only108-like file: N distinct valid cells (default and
maximum 423,624, the whole space) x 3 repeats = 1,270,872 records in the official framing and
payload layout. Each record stores a real cell with its real module hash (``nb101.cell``), so
the file passes every check that prepare makes on an official file; only the numbers (accuracies
in [0, 1], times, parameter counts) are made up. Named ``nasbench_only108.tfrecord`` with the
default count, it is read as a complete official file; fewer cells under that name need
``measure --allow-partial``, as the CLI would.

``measure PATH [--data-dir DIR]`` prepares the file in a child process (so its peak RSS is the
prepare's own), then loads the prepared table in another child (time, CPU time, and the
resident memory the load added, at the end and at its peak, from ``/proc/self/status`` after
resetting the high-water mark; pandas and pyarrow are imported first and their own memory
reported apart), and prints one JSON line. Wall times depend on how busy the
machine is; the CPU times beside them do much less.

Run it in the background, niced: ``mkdir -p /tmp/nb101_synthetic && nice -n 10 python
benchmarks/nb101_synthetic.py write /tmp/nb101_synthetic/nasbench_only108.tfrecord``
(~5 minutes niced on a busy machine; 515 MB, the official file is ~500 MB).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from harness.groundtruth.tfrecord import encode_records
from harness.plugins.spaces.nb101.cell import (
    INPUT,
    MAX_EDGES,
    MAX_VERTICES,
    OPERATIONS,
    OUTPUT,
    Cell,
    Matrix,
    make_cell,
)
from harness.plugins.spaces.nb101.nasbench_tfrecord import CELLS as REAL_CELLS
from harness.plugins.spaces.nb101.nasbench_tfrecord import encode_payload
from harness.plugins.spaces.nb101.official_table import REPEATS
from harness.plugins.spaces.nb101.protobuf import Evaluation, ModelMetrics, encode_model_metrics

BATCH_CELLS = 2048


def _unpruned_matrices(size: int) -> Iterator[Matrix]:
    """Upper-triangular ``size``-vertex matrices with at most ``MAX_EDGES`` edges that pruning
    leaves whole: every vertex but the input has an in-edge and every vertex but the output an
    out-edge, so each lies on an input -> output path."""
    slots = [(i, j) for i in range(size) for j in range(i + 1, size)]
    for edges in range(size - 1, min(MAX_EDGES, len(slots)) + 1):
        for chosen in itertools.combinations(slots, edges):
            if (len({i for i, _ in chosen}) == size - 1
                    and len({j for _, j in chosen}) == size - 1):
                rows = [[0] * size for _ in range(size)]
                for i, j in chosen:
                    rows[i][j] = 1
                yield tuple(tuple(row) for row in rows)


def distinct_cells() -> Iterator[Cell]:
    """Every NAS-Bench-101 cell once (distinct module hashes), 7-vertex cells first.

    Systematic, not random: for each unpruned matrix whose shape (its hash with all interior ops
    equal) is new, every op assignment, kept if its module hash is new. Skipping repeated shapes
    avoids hashing the up to 5! relabelled copies of each graph; the enumeration still yields
    exactly the official 423,624 cells (~45 s in all, ~0.6 s for the first 5,000). 7-vertex
    cells, ~85% of the space, come first so that small files have realistic record sizes.
    """
    shapes: set[str] = set()
    hashes: set[str] = set()
    for size in range(MAX_VERTICES, 1, -1):
        for matrix in _unpruned_matrices(size):
            shape = make_cell(matrix, (INPUT, *[OPERATIONS[0]] * (size - 2), OUTPUT))
            if shape.module_hash() in shapes:
                continue
            shapes.add(shape.module_hash())
            for interior in itertools.product(OPERATIONS, repeat=size - 2):
                cell = Cell(shape.matrix, (INPUT, *interior, OUTPUT))
                module_hash = cell.module_hash()
                if module_hash not in hashes:
                    hashes.add(module_hash)
                    yield cell


def synthetic_payloads(cells: Iterable[Cell], rng: random.Random) -> list[bytes]:
    """Payloads of ``cells``, three repeats each, with made-up but in-range numbers."""
    payloads = []
    for cell in cells:
        module_hash = cell.module_hash()
        params = rng.randrange(200_000, 50_000_000)
        for _ in range(REPEATS):
            final = rng.uniform(0.2, 0.95)
            metrics = ModelMetrics(
                [Evaluation(0.0, 0.0, 0.1, 0.1, 0.1),
                 Evaluation(54.0, rng.uniform(300, 3000), final - 0.1, final - 0.12, final - 0.13),
                 Evaluation(108.0, rng.uniform(600, 6000), 1.0, final + 0.003, final)],
                params, rng.uniform(700, 7000))
            payloads.append(encode_payload(module_hash, 108, cell.adjacency_string,
                                           cell.operations_string, encode_model_metrics(metrics)))
    return payloads


def write(path: Path, cells: int) -> None:
    if not 0 < cells <= REAL_CELLS:
        raise SystemExit(f"--cells must be in 1 .. {REAL_CELLS:,} (the space has no more)")
    rng = random.Random(0)
    source = itertools.islice(distinct_cells(), cells)
    start = time.perf_counter()
    with open(path, "wb") as handle:
        while batch := list(itertools.islice(source, BATCH_CELLS)):
            handle.write(encode_records(synthetic_payloads(batch, rng)))
    print(json.dumps({"file": str(path), "cells": cells, "records": cells * REPEATS,
                      "bytes": path.stat().st_size,
                      "write_s": round(time.perf_counter() - start, 1)}))


_PREPARE_CHILD = """
import json, resource, sys, time
from pathlib import Path
from harness.plugins.spaces.nb101.prepare import prepare
start, cpu = time.perf_counter(), time.process_time()
path = prepare(Path(sys.argv[1]), Path(sys.argv[2]), verify_crc=sys.argv[3] == "1",
               allow_partial=sys.argv[4] == "1")
print(json.dumps({"prepare_s": round(time.perf_counter() - start, 1),
                  "prepare_cpu_s": round(time.process_time() - cpu, 1),
                  "prepare_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                               / 1024),
                  "table": str(path)}))
"""


_LOAD_CHILD = """
import json, resource, sys, time
from pathlib import Path
from harness.groundtruth.table import GroundTruthTable


def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


bare = rss_mb()
import pandas, pyarrow.parquet  # what any table load imports; reported apart from the table
before = rss_mb()
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")  # reset the high-water mark to the current resident set
start, cpu = time.perf_counter(), time.process_time()
table = GroundTruthTable.load(Path(sys.argv[1]))
wall, cpu = time.perf_counter() - start, time.process_time() - cpu
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
print(json.dumps({"table_load_s": round(wall, 2), "table_load_cpu_s": round(cpu, 2),
                  "pandas_pyarrow_import_mb": round(before - bare),
                  "table_load_rss_added_mb": round(rss_mb() - before),
                  "table_load_peak_added_mb": round(peak - before),
                  "table_frame_mb": round(table.frame.memory_usage(deep=True).sum() / 2**20)}))
"""


def measure(path: Path, data_dir: Path, verify_crc: bool, allow_partial: bool) -> None:
    child = subprocess.run([sys.executable, "-c", _PREPARE_CHILD, str(path), str(data_dir),
                            "1" if verify_crc else "0", "1" if allow_partial else "0"],
                           check=True, capture_output=True, text=True)
    result = json.loads(child.stdout.strip().splitlines()[-1])
    from harness.groundtruth.table import GroundTruthTable
    from harness.plugins.spaces.nb101.space import NB101Space

    loaded = subprocess.run([sys.executable, "-c", _LOAD_CHILD, result["table"]], check=True,
                            capture_output=True, text=True)  # its own process: clean RSS
    result.update(json.loads(loaded.stdout.strip().splitlines()[-1]))
    table = GroundTruthTable.load(Path(result["table"]))
    space = NB101Space()
    start = time.perf_counter()
    space.ground_truth(data_dir)
    space.cell(str(table.frame.index[-1]))  # first hash -> cell lookup builds the index
    result["space_ground_truth_and_first_cell_s"] = round(time.perf_counter() - start, 2)
    result.update(cells=len(table.frame), columns=table.frame.shape[1], verify_crc=verify_crc,
                  table_mb=round(Path(result["table"]).stat().st_size / 2**20, 1),
                  source_mb=round(path.stat().st_size / 2**20, 1))
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    write_parser = commands.add_parser("write")
    write_parser.add_argument("path", type=Path)
    write_parser.add_argument("--cells", type=int, default=REAL_CELLS)
    measure_parser = commands.add_parser("measure")
    measure_parser.add_argument("path", type=Path)
    measure_parser.add_argument("--data-dir", type=Path, default=Path("/tmp/nb101_synthetic_data"))
    measure_parser.add_argument("--no-crc", action="store_true")
    measure_parser.add_argument("--allow-partial", action="store_true",
                                help="read fewer cells under an official file name")
    args = parser.parse_args()
    if args.command == "write":
        write(args.path, args.cells)
    else:
        measure(args.path, args.data_dir, not args.no_crc, args.allow_partial)


if __name__ == "__main__":
    main()
