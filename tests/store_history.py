"""The store's tables as earlier schema versions wrote them, for the migration tests."""

from harness import store

# Versions 0 to 2: today's tables without the trials' ``cpu_s`` column (added by version 3).
TABLES_BEFORE_CPU_SECONDS = store._SCHEMA.replace(" cpu_s REAL,", "")
assert TABLES_BEFORE_CPU_SECONDS != store._SCHEMA, "the version-3 column is where it was"
