"""Smoke test of ``gennas_profile.py`` (where GenNAS's CPU time goes; docs/performance.md): one
cell of each kind, two iterations, one scorer. The table in docs/performance.md comes from the
script's command line there, not from this test."""

from __future__ import annotations

import json

import pytest
import torch

gennas_profile = pytest.importorskip("gennas_profile")


def test_profile_reports_flops_peak_share_and_a_complete_split(tmp_path):
    out = tmp_path / "profile.json"
    assert gennas_profile.main(["--scorers", "gennas-search-n", "--cells-per-kind", "1",
                                "--iterations", "2", "--gemm-repeats", "2",
                                "--json", str(out)]) == 0
    torch.set_num_threads(1)
    results = json.loads(out.read_text())
    assert [kind for kind, _ in results["cells"]] == ["heavy", "mid", "light"]
    rows = {row["kind"]: row for row in results["scorers"]["gennas-search-n"]["rows"]}
    assert rows["heavy"]["flops_per_iteration"] > 2 * rows["light"]["flops_per_iteration"] > 0, (
        "a cell of convolutions must count more FLOPs than one of pools and skips")
    # 2 iterations with an evaluation after the last: 2 training iterations + 1 forward pass.
    heavy = rows["heavy"]
    assert heavy["flops"] == 2 * heavy["flops_per_iteration"] + heavy["flops_per_eval"]
    assert 0 < heavy["flops_per_eval"] < heavy["flops_per_iteration"]
    summary = results["scorers"]["gennas-search-n"]["summary"]["all"]
    assert summary["gflops"] > 0 and 0 < summary["peak_share"]
    assert sum(summary["shares"].values()) == pytest.approx(1, abs=0.02), (
        "the columns split the whole profiled time: the remainder is Python/dispatch")
