"""NB101 prepare and load speed on a synthetic only108-like file (pytest-benchmark).

Run: ``pytest benchmarks/test_nb101_prepare.py --benchmark-enable``. The file holds the first
5,000 cells of ``nb101_synthetic.distinct_cells`` (real 7-vertex cells with their real module
hashes) x 3 repeats in the official format, so prepare validates every record as it would in an
official file; it carries the official name and is prepared with ``allow_partial=True``, which
skips only the total record count. The baseline of the ``nb101-read`` group is the bare framing
scan (I/O + record splitting); the CRC check and the full prepare (JSON + protobuf decoding,
cell and hash checks, table, parquet) are reported relative to it. Per-record costs scale about
linearly, so the full file (1.27 M records, 85x this one) costs roughly 85x these times; the
measured full-scale numbers come from ``benchmarks/nb101_synthetic.py``, which is too slow for a
routine benchmark run. The ``nb101-load`` group compares loading the prepared table (parquet
to the harness's ``GroundTruthTable``) with the bare parquet read into arrow, and records the
loaded frame's memory in ``extra_info``.
"""

from __future__ import annotations

import itertools
import random

import pyarrow.parquet as pq
import pytest
from nb101_synthetic import distinct_cells, synthetic_payloads

from harness.groundtruth.table import GroundTruthTable
from harness.groundtruth.tfrecord import encode_records, iter_record_batches
from harness.plugins.spaces.nb101.prepare import prepare

CELLS = 5_000  # 15,000 records, ~5 MB


@pytest.fixture(scope="module")
def synthetic_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("nb101") / "nasbench_only108.tfrecord"
    cells = itertools.islice(distinct_cells(), CELLS)
    path.write_bytes(encode_records(synthetic_payloads(cells, random.Random(0))))
    return path


def _scan(path, verify_crc: bool) -> int:
    return sum(len(batch) for batch in iter_record_batches(path, verify_crc=verify_crc))


@pytest.mark.benchmark(group="nb101-read")
def test_scan_framing_baseline(benchmark, synthetic_file):
    assert benchmark.pedantic(_scan, (synthetic_file, False), rounds=3) == 3 * CELLS


@pytest.mark.benchmark(group="nb101-read")
def test_scan_framing_with_crc(benchmark, synthetic_file):
    assert benchmark.pedantic(_scan, (synthetic_file, True), rounds=3) == 3 * CELLS


@pytest.mark.benchmark(group="nb101-read")
def test_prepare(benchmark, synthetic_file, tmp_path):
    path = benchmark.pedantic(prepare, (synthetic_file, tmp_path), {"allow_partial": True},
                              rounds=3)
    benchmark.extra_info["records"] = 3 * CELLS
    assert path.exists()


@pytest.fixture(scope="module")
def prepared_table(synthetic_file, tmp_path_factory):
    return prepare(synthetic_file, tmp_path_factory.mktemp("prepared"), allow_partial=True)


@pytest.mark.benchmark(group="nb101-load")
def test_read_parquet_baseline(benchmark, prepared_table):
    """The bare parquet read into arrow: the floor a load cannot go under."""
    arrow = benchmark.pedantic(pq.read_table, (prepared_table,), rounds=5)
    assert arrow.num_rows == CELLS


@pytest.mark.benchmark(group="nb101-load")
def test_load_prepared_table(benchmark, prepared_table):
    table = benchmark.pedantic(GroundTruthTable.load, (prepared_table,), rounds=5)
    assert len(table.frame) == CELLS
    # Compact layout (nb101.official_table): categorical strings, float32 numbers.
    assert str(table.frame["operations"].dtype) == "category"
    benchmark.extra_info["frame_mb"] = table.frame.memory_usage(deep=True).sum() / 2**20
    benchmark.extra_info["columns"] = table.frame.shape[1]
