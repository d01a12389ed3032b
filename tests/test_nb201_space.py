"""The ``nb201`` plugin as the harness sees it: registration, protocol, demo table, streaming."""

import subprocess
import sys
import textwrap

import pytest
from nb201_fixtures import meta_archs, write_full_size_nats_folder, write_nats_folder

from harness.groundtruth.table import GroundTruthTable
from harness.groundtruth.train_benchmark import build_benchmark
from harness.plugins.spaces.nb201 import files as nb201_files
from harness.protocols import Space
from harness.registry import get_registry

SMALL = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|"


def test_registered_through_the_entry_point(fresh_registry):
    space = fresh_registry.get("space", "nb201")
    assert isinstance(space, Space)
    assert space.datasets["cifar10-valid"] == "cifar10"
    assert space.datasets["imagenet16-120"] == "imagenet16-120"
    assert space.datasets["digits"] == "digits"


def test_bundled_table_is_the_real_benchmark_with_its_notice():
    """The package's own NB-201 table: every cell, the benchmark's numbers, its provenance."""
    space = get_registry().get("space", "nb201")
    table = space.bundled_ground_truth()
    assert table is not None, "the package must ship nb201/data/nb201_bundled.parquet"
    assert len(table.frame) == 15_625 and table.frame.index.is_unique
    assert table.datasets == ["cifar10-valid", "cifar10", "cifar100", "imagenet16-120"]
    assert table.default_metric["cifar10-valid"] == "cifar10-valid/x-valid"
    first = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|" \
            "skip_connect~2|"
    row = table.frame.loc[first]
    # Index 0 of the official benchmark: 3-seed means at 200 epochs, as NATS-Bench reports them.
    assert row["index"] == 0
    assert row["cifar10-valid/x-valid"] == pytest.approx(81.98267, abs=1e-4)
    assert row["cifar10/ori-test"] == pytest.approx(85.86333, abs=1e-4)
    assert row["imagenet16-120/x-test"] == pytest.approx(26.63333, abs=1e-4)
    assert row["params_m/cifar10"] == pytest.approx(0.129306, abs=1e-6)
    accuracies = table.frame.drop(columns=["index", "params_m/cifar10"])
    assert accuracies.min().min() >= 0 and accuracies.max().max() <= 100, "percent"
    assert table.source["bundled"] and "MIT" in table.source["notice"]
    assert len(table.source["sha256"]) == 64, "the source CSV's checksum is recorded"
    for arch_id in table.frame.index[:20]:
        assert space.parse_arch(arch_id) == arch_id
    assert space.parse_arch("0") == first, "the bundled table resolves benchmark indices"


def test_demo_build_is_deterministic(tmp_path):
    """Same arguments, two builds, identical tables (only the recorded wall time may differ)."""
    space = get_registry().get("space", "nb201")
    digits = get_registry().get("dataset", "digits")
    tables = []
    for run in range(2):
        path = build_benchmark(space, dataset=digits, archs=2, seeds=1, epochs=1, width=4, cells=1,
                               seed=7, data_dir=tmp_path, out=tmp_path / f"{run}.parquet",
                               image_size=8)
        tables.append(GroundTruthTable.load(path))
    first, second = tables
    assert first.frame.equals(second.frame), "same seeds must give the same accuracies"
    strip = lambda source: {k: v for k, v in source.items() if k != "build_wall_s"}  # noqa: E731
    assert strip(first.source) == strip(second.source)
    assert first.source["model_options"] == {"C": 4, "N": 1}
    assert list(first.frame.columns) == ["digits/test/seed0", "digits/test", "digits/train",
                                         "params_m/digits"]
    explicit = build_benchmark(space, dataset=digits, archs=[SMALL], seeds=1, epochs=1,
                               width=4, cells=1, seed=7, data_dir=tmp_path,
                               out=tmp_path / "explicit.parquet", image_size=8)
    assert list(GroundTruthTable.load(explicit).frame.index) == [SMALL]


def test_folder_reader_holds_one_arch_file_at_a_time(tmp_path, monkeypatch):
    folder = write_nats_folder(tmp_path / "simple", meta_archs())
    reads = []
    real_read = nb201_files.read_bz2_pickle
    monkeypatch.setattr(nb201_files, "read_bz2_pickle",
                        lambda path: reads.append(path.name) or real_read(path))
    stream = nb201_files.iter_nats_folder(folder)
    assert reads == []
    next(stream)
    assert reads == ["000003.pickle.pbz2"], "a per-arch file is read only when it is consumed"
    next(stream)
    assert len(reads) == 2


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_streaming_prepare_of_a_full_size_folder_stays_under_1_gb(shared_data, tmp_path):
    """15,625 per-arch files of real size (links to one real record) read in a fresh process;
    its peak RSS must stay under 1 GB."""
    folder = write_full_size_nats_folder(
        tmp_path / "simple", shared_data / "nb201" / "nats_tss_v1_0_3ffb9_simple_samples"
        / "000011.pickle.pbz2")
    script = textwrap.dedent(f"""
        import resource
        from pathlib import Path
        from harness.plugins.spaces.nb201.prepare import prepare
        prepare(Path({str(folder)!r}), Path({str(tmp_path / "data")!r}))
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    peak_mb = int(done.stdout.split()[-1]) / 1024
    assert peak_mb < 1024, f"peak RSS {peak_mb:.0f} MB"
