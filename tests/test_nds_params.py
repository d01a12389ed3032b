"""The exact test of the NDS builders: trainable parameters == each record's ``params``.

Every record of every sweep file in ../shared/data/nds (their params and nets are in
``nds_summary.csv``) is built with the unmodified NDS builder (``variant="nds"``; 1000 classes
for ImageNet records, 10 for CIFAR-10 ones) on the ``meta`` device (shapes only, no memory).
All 3,305 records match, for all 11 ImageNet sweeps and the two CIFAR-10 rerun files; no space
needs an exception. The CIFAR-10 sweeps of the other spaces (DARTS.json, ...; not on this
machine) use the same builders with the CIFAR stem, which the rerun files (ResNet, Vanilla with
``ss[0] = 1``) check for AnyNet; the CIFAR cell network is checked by no record here.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
import torch
from nds_fixtures import summary_rows

from harness.plugins.spaces.nds.space import build_network


def _trainable_params(row: dict[str, str]) -> int:
    imagenet = row["file"].endswith("_in.json")
    with torch.device("meta"):
        model = build_network(json.loads(row["net_json"]), num_classes=1000 if imagenet else 10,
                              variant="nds", imagenet=imagenet)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _mismatches(rows: list[dict[str, str]]) -> dict[str, list]:
    """(row, counted, recorded) per file where they differ; a net repeated in one file (the
    rerun files hold 2 nets 100 times each) is built once."""
    found = defaultdict(list)
    counted: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row["file"], row["net_json"])
        if key not in counted:
            counted[key] = _trainable_params(row)
        if counted[key] != int(row["params"]):
            found[row["file"]].append((row["row"], counted[key], int(row["params"])))
    return dict(found)


def test_params_of_the_first_records_of_every_file(shared_data):
    by_file = defaultdict(list)
    for row in summary_rows(shared_data):
        by_file[row["file"]].append(row)
    assert len(by_file) == 13
    sample = [row for rows in by_file.values() for row in rows[:2]]
    assert _mismatches(sample) == {}


@pytest.mark.slow
@pytest.mark.timeout(1800)  # ~3 CPU minutes idle, far more on a shared machine
def test_params_of_every_record(shared_data):
    rows = summary_rows(shared_data)
    assert len(rows) == 3305
    assert _mismatches(rows) == {}
