"""NB201 ground truth: streaming prepare memory, and loading the prepared 15,625-row table.

Run: ``pytest benchmarks/test_nb201_table.py --benchmark-enable -p no:cacheprovider -s``.
Needs ``../shared/data`` (the real NATS per-arch files). Targets (issue 3): preparing from the
NATS simple folder peaks under 1 GB RSS; loading the prepared table takes under 1 s and 200 MB.
Memory is measured in fresh processes (``VmRSS`` and ``ru_maxrss``), since arrow allocations
escape ``tracemalloc``; the process peak includes the interpreter and the pandas/pyarrow
imports. The baseline in the same run is reading the same table from CSV.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.groundtruth.table import GroundTruthTable, MetricInfo
from harness.plugins.spaces.nb201.files import read_nats_folder

# The NB-201 file writers of the tests (tests/nb201_fixtures.py) build the full-size folder.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from nb201_fixtures import write_full_size_nats_folder  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL = SHARED / "nb201" / "nats_tss_v1_0_3ffb9_simple_samples"

pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason=f"needs the real NATS files at {REAL}")


def _run_and_report(script: str) -> dict[str, float]:
    """Run ``script`` in a fresh interpreter; it prints ``name value`` lines (``*_kb`` are
    ``ru_maxrss`` readings, returned converted to ``*_mb``)."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True,
                          text=True, check=True)
    values = {}
    for line in done.stdout.splitlines():
        name, value = line.split()
        if name.endswith("_kb"):
            values[name.removesuffix("_kb") + "_mb"] = round(float(value) / 1024, 1)
        else:
            values[name] = round(float(value), 2)
    return values


@pytest.fixture(scope="module")
def full_table(tmp_path_factory) -> Path:
    """A prepared table with the real column set (from the real NATS records) for 15,625 archs."""
    real = read_nats_folder(REAL, allow_missing=True)
    rng = np.random.default_rng(0)
    from harness.plugins.spaces.nb201.arch import all_ops, ops_to_str

    archs = [ops_to_str(ops) for ops in all_ops()]
    frame = pd.DataFrame({column: rng.uniform(0, 100, len(archs)) for column in real.frame},
                         index=pd.Index(archs, name="arch_id"))
    frame["index"] = rng.permutation(len(archs))
    table = GroundTruthTable(space="nb201", frame=frame,
                             metrics=[MetricInfo(m.name, m.dataset) for m in real.metrics],
                             default_metric=real.default_metric, source=real.source)
    folder = tmp_path_factory.mktemp("table")
    frame.to_csv(folder / "ground_truth.csv")
    return table.save(folder / "ground_truth.parquet")


def test_load_prepared_table(benchmark, full_table):
    table = benchmark(GroundTruthTable.load, full_table)
    assert len(table.frame) == 15625
    rss = _run_and_report(f"""
        import resource
        from harness.groundtruth.table import GroundTruthTable
        def rss_kb():
            status = open("/proc/self/status").read().split("VmRSS:")[1]
            return int(status.split()[0])
        before = rss_kb()
        table = GroundTruthTable.load({str(full_table)!r})
        print("rss_increase_kb", rss_kb() - before)
        print("process_peak_kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """)
    benchmark.extra_info.update(rss)
    benchmark.extra_info["columns"] = table.frame.shape[1]
    print(f"\nload: {rss} MB, columns {table.frame.shape[1]}")
    assert rss["rss_increase_mb"] < 200


def test_load_same_table_from_csv_baseline(benchmark, full_table):
    frame = benchmark(pd.read_csv, full_table.with_suffix(".csv"), index_col="arch_id")
    assert len(frame) == 15625


@pytest.mark.timeout(3600)
def test_streaming_prepare_peak_rss(benchmark, tmp_path):
    """15,625 real-size per-arch files (symlinks to one real record), prepared in a fresh
    process."""
    folder = write_full_size_nats_folder(tmp_path / "simple", REAL / "000011.pickle.pbz2")
    script = f"""
        import resource, time
        from pathlib import Path
        from harness.plugins.spaces.nb201.prepare import prepare
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        prepare(Path({str(folder)!r}), Path({str(tmp_path / "data")!r}))
        print("prepare_s", time.perf_counter() - started)
        print("before_prepare_kb", before)
        print("peak_kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """
    result = benchmark.pedantic(_run_and_report, args=(script,), rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    print(f"\nstreaming prepare: {result}")
    assert result["peak_mb"] < 1024
