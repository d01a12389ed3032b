"""NB101 prepare and load speed on a synthetic only108-like file (pytest-benchmark).

Run: ``pytest benchmarks/test_nb101_prepare.py --benchmark-enable``. The baseline of the
``nb101-read`` group is the bare framing scan (I/O + record splitting); the CRC check, the full
prepare (JSON + protobuf decoding, table, parquet) are reported relative to it. The full-scale
numbers (1.27 M records) come from ``benchmarks/nb101_synthetic.py``, which is too slow for a
routine benchmark run.
"""

from __future__ import annotations

import pytest
from nb101_synthetic import synthetic_payloads, template_cells

from harness.groundtruth.table import GroundTruthTable
from harness.groundtruth.tfrecord import encode_records, iter_record_batches
from harness.plugins.spaces.nb101.prepare import prepare

CELLS = 5_000  # 15,000 records, ~5 MB


@pytest.fixture(scope="module")
def synthetic_file(tmp_path_factory):
    import random

    path = tmp_path_factory.mktemp("nb101") / "nasbench_only108.tfrecord"
    path.write_bytes(encode_records(synthetic_payloads(0, CELLS, template_cells(200),
                                                       random.Random(0))))
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
    path = benchmark.pedantic(prepare, (synthetic_file, tmp_path), rounds=3)
    benchmark.extra_info["records"] = 3 * CELLS
    assert path.exists()


@pytest.mark.benchmark(group="nb101-load")
def test_load_prepared_table(benchmark, synthetic_file, tmp_path):
    path = prepare(synthetic_file, tmp_path)
    table = benchmark.pedantic(GroundTruthTable.load, (path,), rounds=5)
    assert len(table.frame) == CELLS
