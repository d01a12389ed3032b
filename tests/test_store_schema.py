"""The store's schema version: new stores record it, old ones are upgraded in place, a store
of a newer harness is refused with one line and left as it was."""

import sqlite3

import pytest
from store_history import TABLES_BEFORE_CPU_SECONDS

from harness import cli, store
from harness.errors import HarnessError
from harness.store import SCHEMA_VERSION, Trial, TrialStore

TRIAL = Trial("toy", "toyset", "w1", "width", "abc123def456", 0, "default", "default", 1)


def _user_version(path) -> int:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("PRAGMA user_version").fetchone()[0]
    finally:
        connection.close()


def _unversioned_store(path) -> None:
    """A store as harness wrote it before versions were recorded: the tables, one trial, and
    ``user_version`` 0."""
    connection = sqlite3.connect(path)
    connection.executescript(TABLES_BEFORE_CPU_SECONDS)
    connection.execute(
        "INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*TRIAL.__dict__.values(), 1.5, "ok", "", 0.5, None, "cpu", "0.1.0", "2.13.0", "t"))
    connection.commit()
    connection.close()


def test_a_new_store_records_the_schema_version(tmp_path):
    with TrialStore.for_run(tmp_path) as opened:
        assert opened.schema_version == SCHEMA_VERSION
    assert _user_version(tmp_path / "trials.sqlite") == SCHEMA_VERSION


def test_an_old_store_without_a_version_is_upgraded_and_keeps_its_trials(tmp_path):
    _unversioned_store(tmp_path / "trials.sqlite")
    assert _user_version(tmp_path / "trials.sqlite") == 0
    with TrialStore.for_run(tmp_path) as opened:
        assert opened.schema_version == SCHEMA_VERSION
        assert opened.finished() == {TRIAL}
        assert opened.trials_frame().score.tolist() == [1.5]


def test_a_version_2_store_gains_cpu_seconds_and_keeps_its_trials(tmp_path):
    _unversioned_store(tmp_path / "trials.sqlite")
    connection = sqlite3.connect(tmp_path / "trials.sqlite")
    connection.execute("PRAGMA user_version = 2")
    connection.commit()
    connection.close()
    later = Trial("toy", "toyset", "w2", "width", "abc123def456", 0, "default", "default", 1)
    with TrialStore.for_run(tmp_path) as opened:
        assert opened.schema_version == 3
        opened.add_results([store.TrialResult(later, 2.5, "ok", "", 0.4, None, "cpu", "0.1.0",
                                              "2.13.0", "t", cpu_s=0.3)])
        frame = opened.trials_frame().set_index("arch_id")
    assert frame.score.to_dict() == {"w1": 1.5, "w2": 2.5}, "the old trial is kept"
    assert frame.cpu_s.isna()["w1"] and frame.cpu_s["w2"] == 0.3, "NULL where not measured"


def test_each_migration_step_runs_in_order(tmp_path, monkeypatch):
    with TrialStore.for_run(tmp_path):
        pass  # a current store
    monkeypatch.setattr(store, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(store.MIGRATIONS, SCHEMA_VERSION + 1,
                        "CREATE INDEX trials_by_status ON trials (status);")
    with TrialStore.for_run(tmp_path) as opened:
        assert opened.schema_version == SCHEMA_VERSION + 1
        indexes = {name for (name,) in opened._connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "trials_by_status" in indexes


def test_a_store_of_a_newer_harness_is_refused_and_left_alone(tmp_path, capsys):
    path = tmp_path / "trials.sqlite"
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    before = path.read_bytes()
    with pytest.raises(HarnessError, match=f"newer nas-harness .*version {SCHEMA_VERSION + 1}"):
        TrialStore(path)
    assert path.read_bytes() == before, "nothing written to a store this harness cannot read"
    assert cli.main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "upgrade nas-harness" in err
