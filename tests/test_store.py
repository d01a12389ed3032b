"""The trial store: idempotent inserts (resume), NaN as a status, ground truth as a join."""

import math
import sqlite3

import pytest
from toy_plugins import toy_table

from harness import load_trials
from harness.errors import HarnessError
from harness.store import (
    SCORING_COLUMNS,
    SPACE_DATASET_COLUMNS,
    Trial,
    TrialResult,
    TrialStore,
)


def _result(arch: str, score: float | None, status: str = "ok", seed: int = 0) -> TrialResult:
    trial = Trial("toy", "toyset", arch, "width", "abc123def456", seed, "default", "default", 1)
    return TrialResult(trial, score, status, "", 0.5, 1.0, "cpu", "0.1.0", "2.13.0",
                       "2026-01-01T00:00:00+00:00")


def test_reinserting_a_key_adds_nothing(tmp_path):
    with TrialStore.for_run(tmp_path) as store:
        assert store.add_results([_result("w1", 1.0), _result("w2", 2.0)]) == 2
        # Same keys with other scores: the first record stays (a resumed run never duplicates).
        assert store.add_results([_result("w1", 9.0), _result("w3", 3.0)]) == 1
        frame = store.trials_frame()
    assert sorted(frame.arch_id) == ["w1", "w2", "w3"]
    assert frame.set_index("arch_id").score["w1"] == 1.0


def test_finished_returns_trial_keys_of_every_status(tmp_path):
    with TrialStore.for_run(tmp_path) as store:
        store.add_results([_result("w1", 1.0), _result("w2", None, "error")])
        assert store.finished() == {_result("w1", 1.0).trial, _result("w2", None).trial}
        assert store.delete_status(["error"]) == 1
        assert store.finished() == {_result("w1", 1.0).trial}


def test_nan_is_stored_as_null_with_its_status(tmp_path):
    with TrialStore.for_run(tmp_path) as store:
        store.add_results([_result("w1", None, "nan")])
    frame = load_trials(tmp_path)
    assert frame.status.tolist() == ["nan"]
    assert math.isnan(frame.score.iloc[0]), "SQLite keeps NaN as NULL; status carries the truth"


def test_unknown_status_is_rejected():
    with pytest.raises(ValueError, match="status 'weird'"):
        _result("w1", None, "weird")


def test_store_uses_wal_and_keys_the_trial_columns(tmp_path):
    TrialStore.for_run(tmp_path).close()
    connection = sqlite3.connect(tmp_path / "trials.sqlite")
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    key = [row[1] for row in connection.execute("PRAGMA table_info(trials)") if row[5]]
    assert key == ["space", "dataset", "arch_id", "scorer", "scorer_config_hash", "seed",
                   "weight_init", "bias_init", "batch_size"]
    assert tuple(key) == (*SPACE_DATASET_COLUMNS, "arch_id", *SCORING_COLUMNS)


def test_ground_truth_of_sampled_archs_is_copied_and_joinable(tmp_path):
    with TrialStore.for_run(tmp_path) as store:
        store.save_ground_truth(toy_table(), ["w2", "w5", "not-in-table"])
        store.save_scorer_config("abc123def456", "width", {"batch_size": 1})
        truth = store.ground_truth_frame()
        assert store.scorer_configs() == {"abc123def456": {"batch_size": 1}}
        assert store.ground_truth_sources()["toy"]["file"] == "toy.csv"
    assert sorted(zip(truth.arch_id, truth.value, strict=True)) == [("w2", 60.0), ("w5", 75.0)]
    assert set(truth.dataset) == {"toyset"} and set(truth.is_default) == {1}


def test_load_trials_names_the_missing_store(tmp_path):
    with pytest.raises(HarnessError, match="no trial store"):
        load_trials(tmp_path / "nowhere")
