"""Synthetic NAS-Bench-101 files at the real scale, and the prepare / load measurements on them.

``write PATH [--cells N]`` writes an only108-like file: N cells (default 423,624, the real
count) x 3 repeats = 1,270,872 records in the official framing, generated on the fly (bounded
memory). Cell structures are cycled from real valid cells so record sizes are realistic
(~400 bytes); the module hashes are synthetic (distinct per cell).

``measure PATH [--data-dir DIR]`` prepares the file in a child process (so its peak RSS is the
prepare's own), then times loading the prepared table, and prints one JSON line. Wall times
depend on how busy the machine is; the CPU times beside them do much less.

Run it in the background, niced: ``nice -n 10 python benchmarks/nb101_synthetic.py write
/tmp/nasbench_only108_synthetic.tfrecord``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import subprocess
import sys
import time
from pathlib import Path

from harness.groundtruth.tfrecord import encode_records
from harness.plugins.spaces.nb101.cell import make_cell
from harness.plugins.spaces.nb101.mutation import mutate_cell
from harness.plugins.spaces.nb101.protobuf import Evaluation, ModelMetrics, encode_model_metrics
from harness.plugins.spaces.nb101.tfrecord import encode_payload

REAL_CELLS = 423_624
REPEATS = 3
BATCH_CELLS = 2048


def template_cells(count: int, seed: int = 0) -> list[tuple[str, str]]:
    """``count`` valid cells (adjacency, operations strings), reached by random mutation."""
    rng = random.Random(seed)
    cell = make_cell([[0, 1], [0, 0]], ["input", "output"])
    cells = []
    for _ in range(count):
        cell = mutate_cell(cell, rng)
        cells.append((cell.adjacency_string, cell.operations_string))
    return cells


def synthetic_payloads(first: int, last: int, templates: list[tuple[str, str]],
                       rng: random.Random) -> list[bytes]:
    """Payloads of cells ``first`` .. ``last - 1``, three repeats each."""
    payloads = []
    for index in range(first, last):
        module_hash = hashlib.md5(f"synthetic-{index}".encode()).hexdigest()
        adjacency, operations = templates[index % len(templates)]
        params = rng.randrange(200_000, 50_000_000)
        for _ in range(REPEATS):
            final = rng.uniform(0.1, 0.95)
            metrics = ModelMetrics(
                [Evaluation(0.0, 0.0, 0.1, 0.1, 0.1),
                 Evaluation(54.0, rng.uniform(300, 3000), final - 0.1, final - 0.12, final - 0.13),
                 Evaluation(108.0, rng.uniform(600, 6000), 1.0, final + 0.003, final)],
                params, rng.uniform(700, 7000))
            payloads.append(encode_payload(module_hash, 108, adjacency, operations,
                                           encode_model_metrics(metrics)))
    return payloads


def write(path: Path, cells: int) -> None:
    rng = random.Random(0)
    templates = template_cells(2000)
    start = time.perf_counter()
    with open(path, "wb") as handle:
        for first in range(0, cells, BATCH_CELLS):
            handle.write(encode_records(synthetic_payloads(
                first, min(first + BATCH_CELLS, cells), templates, rng)))
    print(json.dumps({"file": str(path), "cells": cells, "records": cells * REPEATS,
                      "bytes": path.stat().st_size,
                      "write_s": round(time.perf_counter() - start, 1)}))


_PREPARE_CHILD = """
import json, resource, sys, time
from pathlib import Path
from harness.plugins.spaces.nb101.prepare import prepare
start, cpu = time.perf_counter(), time.process_time()
path = prepare(Path(sys.argv[1]), Path(sys.argv[2]), verify_crc=sys.argv[3] == "1")
print(json.dumps({"prepare_s": round(time.perf_counter() - start, 1),
                  "prepare_cpu_s": round(time.process_time() - cpu, 1),
                  "prepare_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                               / 1024),
                  "table": str(path)}))
"""


def measure(path: Path, data_dir: Path, verify_crc: bool) -> None:
    child = subprocess.run([sys.executable, "-c", _PREPARE_CHILD, str(path), str(data_dir),
                            "1" if verify_crc else "0"],
                           check=True, capture_output=True, text=True)
    result = json.loads(child.stdout.strip().splitlines()[-1])
    from harness.groundtruth.table import GroundTruthTable
    from harness.plugins.spaces.nb101.space import NB101Space

    start, cpu = time.perf_counter(), time.process_time()
    table = GroundTruthTable.load(Path(result["table"]))
    result["table_load_s"] = round(time.perf_counter() - start, 2)
    result["table_load_cpu_s"] = round(time.process_time() - cpu, 2)  # all reader threads
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
    args = parser.parse_args()
    if args.command == "write":
        write(args.path, args.cells)
    else:
        measure(args.path, args.data_dir, not args.no_crc)


if __name__ == "__main__":
    main()
