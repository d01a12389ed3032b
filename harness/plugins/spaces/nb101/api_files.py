"""Reads the official API's in-memory layout, as other tools save it (pickle, or JSON).

The layout is ``{module_hash: (fixed_stats, computed_stats)}`` with ``fixed_stats`` holding
``module_adjacency`` (V x V), ``module_operations`` and ``trainable_parameters``, and
``computed_stats`` mapping each budget (epochs) to a list of repeat dicts with the eight keys
of ``official_table.KEYS``. NASLib ships it pickled (``nb101_dummy.pkl``); the JSON variant is a
list of records ``{module_hash, module_adjacency, module_operations, trainable_parameters,
computed_stats}``.

Pickles can run code when loaded: ``read_api_pickle`` is only called for a file the user named
explicitly (never picked up by directory discovery), and it unpickles with an allow-list of the
few NumPy globals the layout needs, so a hostile file fails instead of running code.

Every cell is checked like a TFRecord record (hash format, valid cell, hash of the cell equals
the stored hash); the numbers are range-checked by the table's shared validation step.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import BenchmarkFileError, ConfigError
from harness.groundtruth.safe_pickle import quiet_excepthook
from harness.plugins.spaces.nb101.cell import make_cell
from harness.plugins.spaces.nb101.official_table import KEYS, NB101Accumulator, is_module_hash


def _add_cell(accumulator: NB101Accumulator, module_hash: Any, fixed: Mapping[str, Any],
              computed: Mapping[Any, Any], where: str) -> None:
    if not is_module_hash(module_hash):
        raise BenchmarkFileError(f"{where}: hash {module_hash!r} is not 32 lower-case hex "
                                 f"digits")
    try:
        matrix = [[int(bit) for bit in row] for row in fixed["module_adjacency"]]
        cell = make_cell(matrix, list(fixed["module_operations"]))
        params = int(fixed["trainable_parameters"])
    except (KeyError, TypeError, ValueError, ConfigError) as exc:
        raise BenchmarkFileError(f"{where}: cell {module_hash}: {exc}") from exc
    if cell.module_hash() != module_hash:
        raise BenchmarkFileError(f"{where}: cell stored under {module_hash} hashes to "
                                 f"{cell.module_hash()} by the benchmark's rules")
    row = accumulator.add_cell(module_hash, cell.adjacency_string, cell.operations_string,
                               params)
    try:
        runs = [(int(epochs), repeat) for epochs, repeats in computed.items()
                for repeat in repeats]
    except (AttributeError, TypeError, ValueError) as exc:
        raise BenchmarkFileError(f"{where}: cell {module_hash}: computed_stats should map "
                                 f"epochs to a list of repeats ({exc})") from exc
    for epochs, repeat in runs:
        try:
            values = tuple(float(repeat[key]) for key in KEYS)
        except (KeyError, TypeError, ValueError) as exc:
            raise BenchmarkFileError(f"{where}: cell {module_hash}, {epochs} epochs: "
                                     f"repeat lacks {exc}") from exc
        accumulator.add_repeat(row, epochs, values, f"{where}: cell {module_hash}")


def _add_all(accumulator: NB101Accumulator, items: Iterable[tuple[str, Any, Any]],
             where: str) -> None:
    for module_hash, fixed, computed in items:
        if not isinstance(fixed, Mapping) or not isinstance(computed, Mapping):
            raise BenchmarkFileError(f"{where}: cell {module_hash!r}: expected (fixed_stats, "
                                     f"computed_stats) dicts")
        _add_cell(accumulator, module_hash, fixed, computed, where)


_NUMPY_2 = int(np.__version__.split(".")[0]) >= 2
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Resolves only the NumPy array/scalar constructors; anything else is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in an NB101 "
                                         f"API pickle")
        if module.startswith("numpy.core") and _NUMPY_2:  # NumPy 2 renamed it numpy._core
            module = "numpy._core" + module[len("numpy.core"):]
        return super().find_class(module, name)


def read_api_pickle(path: Path, accumulator: NB101Accumulator) -> None:
    """Add the cells of a pickled ``{hash: (fixed_stats, computed_stats)}`` dict."""
    try:
        with open(path, "rb") as handle, quiet_excepthook():
            data = _NumpyOnlyUnpickler(handle).load()
    except Exception as exc:  # a corrupt pickle fails in many ways, none of them a bug here
        raise BenchmarkFileError(f"{path}: not a readable pickle ({type(exc).__name__}: "
                                 f"{exc})") from exc
    if not isinstance(data, dict) or not all(
            isinstance(v, (tuple, list)) and len(v) == 2 for v in data.values()):
        raise BenchmarkFileError(f"{path}: expected a dict hash -> (fixed_stats, computed_stats)")
    _add_all(accumulator, ((h, fixed, computed) for h, (fixed, computed) in data.items()),
             str(path))


def read_api_json(path: Path, accumulator: NB101Accumulator) -> None:
    """Add the cells of a JSON list of ``{module_hash, module_adjacency, ...}`` records."""
    try:
        records = json.loads(Path(path).read_text())
        items = [(r["module_hash"], r, r["computed_stats"]) for r in records]
    except (ValueError, KeyError, TypeError) as exc:
        raise BenchmarkFileError(f"{path}: expected a JSON list of NB101 records with "
                                 f"module_hash and computed_stats ({exc})") from exc
    _add_all(accumulator, items, str(path))


def looks_like_api_json(value: Any) -> bool:
    return (isinstance(value, list) and bool(value) and isinstance(value[0], dict)
            and "module_hash" in value[0] and "computed_stats" in value[0])
