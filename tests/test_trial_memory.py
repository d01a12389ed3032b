"""The CPU peak memory of a trial is what its label says: the worker's peak resident set
during the trial (an earlier, higher peak is forgotten), or None where it cannot be measured."""

import os

import numpy as np
import pytest
import torch

from harness import trial
from harness.store import PEAK_MEMORY_LABEL


def _rss_mb() -> float:
    return trial._proc_status_kb("VmRSS") / 1024


def _touch(megabytes: int) -> None:
    block = np.ones(megabytes << 17)  # 8-byte floats, written, so they are resident
    assert block.sum() > 0


@pytest.mark.skipif(not os.access("/proc/self/clear_refs", os.W_OK),
                    reason="needs Linux's /proc/self/clear_refs to reset the resident-set peak")
def test_cpu_peak_is_the_resident_set_peak_during_the_trial_only():
    _touch(300)  # an earlier trial's peak, far above this one's
    before = _rss_mb()
    with trial.PeakMemory(torch.device("cpu")) as meter:
        _touch(100)
    peak = meter.peak_mb()
    assert before + 90 <= peak < before + 250, (
        f"peak {peak:.0f} MB: expected the resident set before the trial ({before:.0f} MB) plus "
        f"about the 100 MB the trial touched, not the earlier 300 MB peak")


def test_cpu_peak_is_not_measured_where_the_peak_cannot_be_reset(monkeypatch):
    monkeypatch.setattr(trial, "_reset_rss_peak", lambda: False)
    with trial.PeakMemory(torch.device("cpu")) as meter:
        _touch(10)
    assert meter.peak_mb() is None, "a lifetime peak is not this trial's: report none"


def test_the_label_says_what_is_measured():
    assert "peak resident set of the worker process during the trial" in PEAK_MEMORY_LABEL
    assert "not measured elsewhere" in PEAK_MEMORY_LABEL
