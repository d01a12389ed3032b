"""Text encodings of NAS-Bench-101 cells accepted by ``--arch-list`` and ``parse_arch``.

Accepted, each for one cell:

- the module hash: 32 hex digits (looked up by the caller in the prepared table);
- JSON ``{"matrix": [[...]], "ops": [...]}`` (also the keys ``module_adjacency`` /
  ``module_operations`` of the official API and ``adjacency`` / ``operations``), or
  ``[matrix, ops]``, or GenNAS' ``[[matrix, ops], accuracy]`` item; the matrix may be nested
  lists or a row-major '0'/'1' string;
- the official records' string fields: ``ROWMAJOR_BITS|op,op,...`` (``|``, ``;`` or a space
  as separator);
- NASLib's zero-cost key: V*V raw adjacency bits then V op codes (0 input, 1 output,
  2 maxpool3x3, 3 conv1x1-bn-relu, 4 conv3x3-bn-relu), as ``(0, 1, ...)`` or ``[0, 1, ...]``.

Every raw encoding is validated and pruned (``make_cell``) so equal cells get equal ids.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.plugins.spaces.nb101.cell import (
    CONV1X1,
    CONV3X3,
    INPUT,
    MAXPOOL3X3,
    OUTPUT,
    Cell,
    cell_from_strings,
    make_cell,
)

NASLIB_OP_CODES = {0: INPUT, 1: OUTPUT, 2: MAXPOOL3X3, 3: CONV1X1, 4: CONV3X3}
_HASH = re.compile(r"^[0-9a-fA-F]{32}$")
_STRINGS = re.compile(r"^([01]+)\s*[|; ]\s*([a-z0-9,\-\s]+)$")


def _from_json_value(value: Any) -> Cell:
    if isinstance(value, dict):
        for matrix_key, ops_key in (("matrix", "ops"), ("module_adjacency", "module_operations"),
                                    ("adjacency", "operations")):
            if matrix_key in value and ops_key in value:
                return _from_pair(value[matrix_key], value[ops_key])
        raise ConfigError(f"NB101 JSON cell needs keys 'matrix' and 'ops'; got {sorted(value)}")
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return _from_naslib(value)
    if isinstance(value, list) and len(value) == 2:
        if isinstance(value[1], (int, float)) and isinstance(value[0], list):
            return _from_json_value(value[0])  # GenNAS [[matrix, ops], accuracy]
        return _from_pair(value[0], value[1])
    raise ConfigError(f"unrecognised NB101 JSON cell {json.dumps(value)[:80]}")


def _from_pair(matrix: Any, ops: Any) -> Cell:
    if isinstance(ops, str):
        ops = ops.split(",")
    if isinstance(matrix, str):
        return cell_from_strings(matrix, ",".join(ops))
    if not isinstance(matrix, list) or not all(isinstance(row, list) for row in matrix):
        raise ConfigError("NB101 matrix must be a list of rows or a row-major 0/1 string")
    return make_cell(matrix, list(ops))


def _from_naslib(codes: list[int]) -> Cell:
    size = next((v for v in range(2, 16) if v * v + v == len(codes)), None)
    if size is None:
        raise ConfigError(f"NASLib NB101 encoding has {len(codes)} numbers; expected V*V + V")
    bits, op_codes = codes[:size * size], codes[size * size:]
    if any(code not in NASLIB_OP_CODES for code in op_codes):
        raise ConfigError(f"NASLib NB101 op codes must be in {sorted(NASLIB_OP_CODES)}")
    matrix = [bits[i * size:(i + 1) * size] for i in range(size)]
    return make_cell(matrix, [NASLIB_OP_CODES[code] for code in op_codes])


def parse_cell_text(text: str) -> Cell | str:
    """A ``Cell`` for a raw encoding, or the lower-cased hash for a module-hash encoding."""
    text = text.strip()
    if _HASH.match(text):
        return text.lower()
    match = _STRINGS.match(text)
    if match:
        return cell_from_strings(match.group(1), re.sub(r"\s+", "", match.group(2)))
    if text.startswith("(") and text.endswith(")"):
        text = "[" + text[1:-1] + "]"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"cannot read {text[:60]!r} as an NB101 cell: expected a 32-hex module hash, JSON "
            f"{{\"matrix\": ..., \"ops\": ...}}, 'BITS|op,op,...' or a NASLib tuple") from exc
    return _from_json_value(value)


def read_arch_list_entries(path: Path) -> list[str]:
    """Split an arch-list file into one encoding per cell.

    A file holding one JSON list of cells (GenNAS' ``nasbench1_500_fb.json`` layout) gives one
    entry per element; any other file gives one entry per non-blank line not starting with '#'.
    """
    text = Path(path).read_text()
    stripped = text.lstrip()
    if stripped.startswith("[[") or stripped.startswith("[{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, list) and value and not all(isinstance(v, int) for v in value):
            return [json.dumps(item) for item in value]
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]
