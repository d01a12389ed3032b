"""Packing trials on GPUs: the local executor's worker devices for --workers-per-gpu K, and the
archs-per-second measurement of ``harness profile`` through the prepared GPU script
``benchmarks/gpu_scaleout.py`` run on the CPU with a tiny setting (so the script cannot rot)."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from harness.plugins.executors.local import LocalExecutor
from harness.profiling import ThroughputCell, throughput_table

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_scaleout.py"


@pytest.mark.parametrize("gpus, k, workers, device, expected", [
    (2, 3, 1, "cuda", ["cuda:0", "cuda:1"] * 3),      # K workers on every GPU by default
    (2, 1, 1, "cuda", ["cuda:0", "cuda:1"]),          # several GPUs used without being asked
    (1, 4, 1, "cuda", ["cuda:0"] * 4),
    (1, 1, 2, "cuda", ["cuda"] * 2),
    (2, 2, 1, "cuda:1", ["cuda:1"] * 2),              # one named GPU, K workers on it
    (0, 4, 3, "cpu", ["cpu"] * 3),                    # CPU: --workers decides
])
def test_local_executor_puts_k_workers_on_each_gpu(monkeypatch, gpus, k, workers, device,
                                                   expected):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: gpus)
    assert LocalExecutor(k)._devices(workers, device) == expected


def test_throughput_table_marks_unmeasured_cells():
    cells = [ThroughputCell("s", "d", "x", 1, 1, 8, 2.5, 0),
             ThroughputCell("s", "d", "x", 2, 2, 8, None, 0),
             ThroughputCell("s", "d", "y", 1, 1, 8, 4.0, 3)]
    table = throughput_table(cells)
    assert table.columns == ["K=1", "K=2"]
    assert table.cell(["s", "d", "x"], "K=1").value == 2.5
    assert table.cell(["s", "d", "x"], "K=2").text == "n/a"
    assert table.cell(["s", "d", "y"], "K=1").text == "4.00 [3 failed]"


def test_gpu_scaleout_script_runs_on_cpu(toy, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("gpu_scaleout", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "out"
    status = script.main(["--device", "cpu", "--spaces", "toy", "--scorers", "width",
                          "--ks", "1,2", "--archs", "8", "--profile-spaces", "toy",
                          "--batch-sizes", "1", "--agreement-archs", "4", "--out", str(out)])
    assert status == 0
    document = json.loads((out / "gpu_scaleout.json").read_text())
    rates = {cell["workers_per_gpu"]: cell for cell in document["throughput"]}
    assert set(rates) == {1, 2} and rates[2]["workers"] == 2
    assert all(cell["archs_per_s"] > 0 and cell["failed"] == 0 for cell in rates.values())
    best = document["best_k"]["toy/toyset/width"]
    assert best["k"] in (1, 2) and best["archs_per_s"] == max(
        cell["archs_per_s"] for cell in rates.values())
    assert [row["status"] for row in document["profile"]] == ["ok"] * 2
    assert document["agreement"] == [{"space": "toy", "scorer": "width", "archs": 4,
                                      "kendall_tau": 1.0, "max_rel_diff": 0.0}]
    assert "Throughput (archs per second)" in (out / "gpu_scaleout.md").read_text()
