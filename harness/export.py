"""``harness export``: a run's trials (joined with each trial's default ground truth) as a file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.errors import ConfigError
from harness.store import STORE_FILE, TrialStore, load_trials

EXPORT_FORMATS = ("parquet", "csv", "json")


def trials_with_truth(run_dir: Path | str) -> pd.DataFrame:
    """Every trial, plus ``truth`` and ``truth_metric``: the default ground-truth metric of its
    (space, dataset) where the store holds one."""
    trials = load_trials(run_dir)
    with TrialStore(Path(run_dir) / STORE_FILE) as store:
        truth = store.ground_truth_frame()
    if truth.empty:
        return trials.assign(truth_metric=None, truth=float("nan"))
    defaults = truth[truth["is_default"] == 1][["space", "dataset", "arch_id", "metric", "value"]]
    defaults = defaults.rename(columns={"metric": "truth_metric", "value": "truth"})
    return trials.merge(defaults, on=["space", "dataset", "arch_id"], how="left")


def export_trials(run_dir: Path | str, fmt: str, output: Path | str | None = None) -> Path:
    """Write the run's trials as ``fmt`` (default ``RUN_DIR/trials.<fmt>``); return the path."""
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"--format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    frame = trials_with_truth(run_dir)
    path = Path(output) if output else Path(run_dir) / f"trials.{fmt}"
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        try:
            frame.to_parquet(path, index=False)
        except ImportError as exc:
            raise ConfigError("parquet export needs pyarrow: pip install pyarrow") from exc
    elif fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_json(path, orient="records", indent=1)
    return path
