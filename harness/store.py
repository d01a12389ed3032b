"""The trial store: one SQLite file per run folder (``RUN_DIR/trials.sqlite``, WAL mode).

Tables: ``trials`` (one row per trial key; re-inserting a key is a no-op, which is what makes a
re-run a resume), ``scorer_configs`` (the full options behind each config hash), and the ground
truth of the archs the run sampled (``ground_truth``, ``ground_truth_metrics``,
``ground_truth_sources``), so every correlation is a join inside this one file. Only the driver
process writes; workers return records.

The file records its schema version in SQLite's ``PRAGMA user_version`` (``SCHEMA_VERSION``).
Opening a store of an older version upgrades it in place, one step of ``MIGRATIONS`` at a time,
in one transaction; a store of a newer version than this harness knows is refused with one
line, before anything is written, since an older harness could misread or damage it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import astuple, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from harness.errors import HarnessError
from harness.hashing import canonical_hash

if TYPE_CHECKING:
    from harness.groundtruth.table import GroundTruthTable

STORE_FILE = "trials.sqlite"
# How a trial can end, each status named once. A failure has no score; the retryable ones are
# glitches of the machine, not results of the arch (``--retry-failed`` runs them again).
RETRYABLE_STATUSES = ("oom", "error", "timeout")
FAILED_STATUSES = ("nan", "inf", *RETRYABLE_STATUSES)
# Every status, in the order reports list them ("skipped": the scorer does not apply).
STATUSES = ("ok", *FAILED_STATUSES, "skipped")


@dataclass(frozen=True, order=True)
class Trial:
    """The unit of work and of storage; these fields are the primary key of ``trials``."""

    space: str
    dataset: str
    arch_id: str
    scorer: str
    scorer_config_hash: str
    seed: int
    weight_init: str
    bias_init: str
    batch_size: int


# What ``peak_mem_mb`` measures (``harness.trial.PeakMemory``), for every place that shows it.
PEAK_MEMORY_LABEL = ("peak memory (MB): on CPU, the peak resident set of the worker process "
                     "during the trial (Linux; not measured elsewhere); on CUDA, the peak memory "
                     "torch tensors held on the device during the trial")


@dataclass(frozen=True)
class TrialResult:
    """What one trial produced. ``score`` is None unless ``status`` is ``ok``;
    ``peak_mem_mb`` is what ``PEAK_MEMORY_LABEL`` says (None: not measured); ``cpu_s``: the
    CPU seconds the trial's process spent on it (every thread; None: not measured, e.g. a
    trial stored before version 3 or read from another tool). On a shared machine wall seconds
    grow with the load and CPU seconds do not, so the CPU hours of a study row are read here."""

    trial: Trial
    score: float | None
    status: str
    message: str
    wall_s: float
    peak_mem_mb: float | None
    device: str
    harness_version: str
    torch_version: str
    created_at: str
    cpu_s: float | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {STATUSES}")


KEY_COLUMNS = tuple(f.name for f in fields(Trial))
# The key's named parts besides ``arch_id``. A report correlates over archs: the trials of one
# correlation cell share their space and dataset and how each arch was scored.
SPACE_DATASET_COLUMNS = ("space", "dataset")
SCORING_COLUMNS = tuple(name for name in KEY_COLUMNS
                        if name not in (*SPACE_DATASET_COLUMNS, "arch_id"))
RESULT_COLUMNS = tuple(f.name for f in fields(TrialResult) if f.name != "trial")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS trials (
    space TEXT NOT NULL, dataset TEXT NOT NULL, arch_id TEXT NOT NULL, scorer TEXT NOT NULL,
    scorer_config_hash TEXT NOT NULL, seed INTEGER NOT NULL, weight_init TEXT NOT NULL,
    bias_init TEXT NOT NULL, batch_size INTEGER NOT NULL,
    score REAL, status TEXT NOT NULL, message TEXT, wall_s REAL, peak_mem_mb REAL, device TEXT,
    harness_version TEXT, torch_version TEXT, created_at TEXT, cpu_s REAL,
    PRIMARY KEY ({", ".join(KEY_COLUMNS)})
);
CREATE TABLE IF NOT EXISTS scorer_configs (
    scorer_config_hash TEXT PRIMARY KEY, scorer TEXT NOT NULL, config_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ground_truth (
    space TEXT NOT NULL, arch_id TEXT NOT NULL, metric TEXT NOT NULL, value REAL,
    PRIMARY KEY (space, arch_id, metric)
);
CREATE TABLE IF NOT EXISTS ground_truth_metrics (
    space TEXT NOT NULL, metric TEXT NOT NULL, dataset TEXT NOT NULL,
    higher_is_better INTEGER NOT NULL, is_default INTEGER NOT NULL, description TEXT,
    PRIMARY KEY (space, metric)
);
CREATE TABLE IF NOT EXISTS ground_truth_sources (
    space TEXT PRIMARY KEY, source_json TEXT NOT NULL
);
"""


# The options of a scorer config that say which network a trial builds: the network form the
# scorer asks for, and the user's builder options per space (``harness.plan``). A trial key
# records what they resolve to in the trial's space (``KEY_BUILDER_OPTIONS``) instead, so the
# options given for one space never enter another space's trial keys.
NETWORK_OPTIONS = ("network", "model_options")
KEY_BUILDER_OPTIONS = "builder_options"


def trial_key_config(config: dict[str, Any], builder_options: dict[str, Any]) -> dict[str, Any]:
    """The config a trial key hashes: ``config`` without the network options, plus the builder
    options they resolve to in the trial's space (left out when there are none, so a scorer that
    builds each space's benchmark network keeps the key it had before network forms)."""
    keyed = {key: value for key, value in config.items() if key not in NETWORK_OPTIONS}
    if builder_options:
        keyed[KEY_BUILDER_OPTIONS] = dict(builder_options)
    return keyed


def _key_configs_per_space(connection: sqlite3.Connection) -> None:
    """Version 1 -> 2: a version-1 config held ``model_options`` for every space of its run, so
    each trial is re-keyed to the config of its own space (``trial_key_config`` of that space's
    entry), which is what the planner computes for the same scorer and options now."""
    configs = {config_hash: (scorer, json.loads(text)) for config_hash, scorer, text in
               connection.execute("SELECT scorer_config_hash, scorer, config_json "
                                  "FROM scorer_configs")}
    pairs = connection.execute("SELECT DISTINCT space, scorer_config_hash FROM trials").fetchall()
    for space, old_hash in pairs:
        if old_hash not in configs or not set(NETWORK_OPTIONS) & set(configs[old_hash][1]):
            continue
        scorer, config = configs[old_hash]
        per_space = config.get("model_options") or {}
        keyed = trial_key_config(config, per_space.get(space) or {})
        new_hash = canonical_hash(keyed)
        connection.execute("INSERT OR IGNORE INTO scorer_configs VALUES (?, ?, ?)",
                           (new_hash, scorer, json.dumps(keyed, sort_keys=True)))
        connection.execute("UPDATE OR IGNORE trials SET scorer_config_hash = ? "
                           "WHERE space = ? AND scorer_config_hash = ?",
                           (new_hash, space, old_hash))
        # What is left is a trial already stored under the new key (two old configs that
        # differed only in another space's options): the same network scored the same way.
        connection.execute("DELETE FROM trials WHERE space = ? AND scorer_config_hash = ?",
                           (space, old_hash))
    connection.execute("DELETE FROM scorer_configs WHERE scorer_config_hash NOT IN "
                       "(SELECT DISTINCT scorer_config_hash FROM trials)")


# The schema version this harness writes, and what brings a store of the version before each key
# up to that key: SQL, or a function of the open connection for what SQL cannot say. Version 0 is
# a store written before versions were recorded: its tables are those of version 1, so its step
# only records the number. Version 2 keys each trial by its own space's builder options.
# Version 3 adds each trial's CPU seconds (NULL for the trials stored before).
SCHEMA_VERSION = 3
MIGRATIONS: dict[int, str | Callable[[sqlite3.Connection], None]] = {
    1: "", 2: _key_configs_per_space, 3: "ALTER TABLE trials ADD COLUMN cpu_s REAL"}


class TrialStore:
    """Read and write one run's SQLite store."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(self.path, timeout=60)
        try:
            self._upgrade()
        except BaseException:
            self._connection.close()
            raise
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")

    def _upgrade(self) -> None:
        """Create the tables of a new store, or migrate an old one to ``SCHEMA_VERSION``;
        refuse a store written by a newer harness."""
        version = self._connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise HarnessError(f"{self.path} was written by a newer nas-harness (store schema "
                               f"version {version}; this one reads up to {SCHEMA_VERSION}): "
                               f"upgrade nas-harness to read it")
        if version == SCHEMA_VERSION:
            return
        new_store = not self._connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'trials'").fetchone()
        steps = [] if new_store else [MIGRATIONS[v] for v in range(version + 1,
                                                                    SCHEMA_VERSION + 1)]
        # One transaction: the tables, every step and the new version, or nothing.
        connection = self._connection
        connection.isolation_level = None
        try:
            connection.execute("BEGIN")
            for statement in _SCHEMA.split(";"):
                connection.execute(statement)
            for step in steps:
                if callable(step):
                    step(connection)
                elif step:
                    connection.execute(step)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        finally:
            connection.isolation_level = ""

    @property
    def schema_version(self) -> int:
        """The schema version the file records (``SCHEMA_VERSION`` once opened)."""
        return int(self._connection.execute("PRAGMA user_version").fetchone()[0])

    @classmethod
    def for_run(cls, run_dir: Path) -> TrialStore:
        return cls(Path(run_dir) / STORE_FILE)

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> TrialStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- trials ------------------------------------------------------------------------------
    def finished(self, except_statuses: Sequence[str] = ()) -> set[Trial]:
        """Keys of every stored trial, whatever its status (a failed trial is not retried),
        except those with ``except_statuses`` (what ``--retry-failed`` runs again)."""
        rows = self._connection.execute(
            f"SELECT {', '.join(KEY_COLUMNS)} FROM trials "
            f"WHERE status NOT IN ({', '.join('?' * len(except_statuses))})",
            tuple(except_statuses))
        return {Trial(*row) for row in rows}

    def add_results(self, results: Iterable[TrialResult]) -> int:
        """Insert results in one transaction; keys already present are left alone.

        Returns the number of rows added.
        """
        placeholders = ", ".join("?" * (len(KEY_COLUMNS) + len(RESULT_COLUMNS)))
        rows = [astuple(r.trial) + tuple(getattr(r, c) for c in RESULT_COLUMNS) for r in results]
        with self._connection:
            before = self._connection.total_changes
            self._connection.executemany(
                f"INSERT OR IGNORE INTO trials ({', '.join(KEY_COLUMNS + RESULT_COLUMNS)}) "
                f"VALUES ({placeholders})", rows)
            return self._connection.total_changes - before

    def delete_status(self, statuses: Sequence[str]) -> int:
        """Forget trials with these statuses so the next run retries them (``--retry-failed``)."""
        with self._connection:
            cursor = self._connection.execute(
                f"DELETE FROM trials WHERE status IN ({', '.join('?' * len(statuses))})",
                tuple(statuses))
            return cursor.rowcount

    def save_scorer_config(self, config_hash: str, scorer: str, config: dict[str, Any]) -> None:
        with self._connection:
            self._connection.execute(
                "INSERT OR IGNORE INTO scorer_configs VALUES (?, ?, ?)",
                (config_hash, scorer, json.dumps(config, sort_keys=True)))

    def scorer_configs(self) -> dict[str, dict[str, Any]]:
        rows = self._connection.execute(
            "SELECT scorer_config_hash, config_json FROM scorer_configs")
        return {config_hash: json.loads(text) for config_hash, text in rows}

    def trials_frame(self) -> pd.DataFrame:
        frame = pd.read_sql_query("SELECT * FROM trials", self._connection)
        # A column of NULLs (every trial failed) would come back as objects; keep floats.
        return frame.astype({"score": float, "wall_s": float, "peak_mem_mb": float,
                             "cpu_s": float})

    # -- ground truth ------------------------------------------------------------------------
    def save_ground_truth(self, table: GroundTruthTable, arch_ids: Iterable[str]) -> None:
        """Copy the ground truth of ``arch_ids`` (every metric) and the table's provenance."""
        metric_names = [m.name for m in table.metrics]
        wanted = table.frame.loc[[a for a in dict.fromkeys(arch_ids) if a in table.frame.index],
                                 metric_names]
        rows = [(table.space, str(arch_id), metric, None if pd.isna(value) else float(value))
                for arch_id, values in wanted.iterrows() for metric, value in values.items()]
        defaults = set(table.default_metric.values())
        with self._connection:
            self._connection.executemany(
                "INSERT OR REPLACE INTO ground_truth VALUES (?, ?, ?, ?)", rows)
            self._connection.executemany(
                "INSERT OR REPLACE INTO ground_truth_metrics VALUES (?, ?, ?, ?, ?, ?)",
                [(table.space, m.name, m.dataset, int(m.higher_is_better), int(m.name in defaults),
                  m.description) for m in table.metrics])
            self._connection.execute(
                "INSERT OR REPLACE INTO ground_truth_sources VALUES (?, ?)",
                (table.space, json.dumps(table.source, sort_keys=True, default=str)))

    def ground_truth_frame(self) -> pd.DataFrame:
        """Long format: space, arch_id, metric, value, dataset, higher_is_better, is_default."""
        return pd.read_sql_query(
            "SELECT g.space, g.arch_id, g.metric, g.value, m.dataset, m.higher_is_better, "
            "m.is_default FROM ground_truth g JOIN ground_truth_metrics m "
            "ON g.space = m.space AND g.metric = m.metric", self._connection)

    def ground_truth_metrics(self) -> pd.DataFrame:
        return pd.read_sql_query("SELECT * FROM ground_truth_metrics", self._connection)

    def ground_truth_sources(self) -> dict[str, dict[str, Any]]:
        rows = self._connection.execute("SELECT space, source_json FROM ground_truth_sources")
        return {space: json.loads(text) for space, text in rows}


def load_trials(run_dir: Path | str) -> pd.DataFrame:
    """Every trial of a run as a DataFrame (one row per trial, the ``trials`` table's columns)."""
    path = Path(run_dir) / STORE_FILE
    if not path.exists():
        raise HarnessError(f"no trial store at {path}; is {run_dir} a run folder written by "
                           f"`harness compare --out {run_dir}`?")
    with TrialStore(path) as store:
        return store.trials_frame()
