"""Small NDS sweep files cut from the real ones in ../shared/data/nds (reader, space tests)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

# A buildable AnyNet ``net`` (the first ResNet_reruns record's), for hand-written records.
ANYNET = {"block_type": "res_basic_block", "bot_muls": [], "ds": [1, 2, 3, 3], "num_gs": [],
          "ss": [1, 1, 2, 2], "ws": [16, 32, 128, 160]}
ANYNET_JSON = json.dumps(ANYNET)


def real_records(shared_data: Path, file_name: str, count: int) -> list[dict[str, Any]]:
    """The first ``count`` records of a real sweep file (``top`` then ``mid`` for dicts)."""
    data = json.loads((shared_data / "nds" / file_name).read_text())
    records = data if isinstance(data, list) else data["top"] + data["mid"]
    return records[:count]


def write_sweep(folder: Path, file_name: str, records: Any) -> Path:
    """Write ``records`` (a list, or a {top, mid} dict) as sweep file ``file_name``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name
    path.write_text(json.dumps(records))
    return path


def summary_rows(shared_data: Path) -> list[dict[str, str]]:
    """Every record's params and net from ``nds_summary.csv`` (one row per record)."""
    with open(shared_data / "nds" / "nds_summary.csv", newline="") as handle:
        return list(csv.DictReader(handle))
