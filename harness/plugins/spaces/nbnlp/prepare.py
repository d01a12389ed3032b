"""Prepare the ``nbnlp`` ground-truth table from the benchmark's training logs.

One row per recipe id. Targets (natural-log cross-entropy; lower is better, and the table says
so with ``higher_is_better = False``), per dataset ``D`` (``wikitext2`` or ``ptb``):

- ``D/final_test_loss``: test loss after the last epoch (default, as the benchmark's paper);
- ``D/best_val_test_loss``: test loss at the epoch of the lowest validation loss;
- ``D/min_test_loss``: the lowest test loss of any epoch (the GenNAS search script's target).

Perplexity is ``exp(loss)``: the extra columns ``D/final_test_ppl`` etc. hold it (same ranking).
A recipe trained several times (the PTB multi-run logs; one WikiText-2 recipe appears twice)
gets the mean over its finished runs; ``runs`` and ``runs_ok`` count them. A run that diverged
("loss is nan!") is never dropped: its recipe keeps a row with ``status`` set to the log's
status (when no run finished), NaN targets, and the table's ``source`` counts every status.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.errors import BenchmarkFileError, ConfigError
from harness.groundtruth.table import (
    GroundTruthTable,
    MetricInfo,
    file_sha256,
    prepared_table_path,
)
from harness.groundtruth.table_checks import NON_NEGATIVE, validate_table
from harness.plugins.spaces.nbnlp.logs import (
    LOSS,
    RunLog,
    best_val_test_loss,
    final_test_loss,
    min_test_loss,
    read_logs,
)

SPACE = "nbnlp"
TARGETS = {
    "final_test_loss": (final_test_loss, "test loss after the last epoch"),
    "best_val_test_loss": (best_val_test_loss, "test loss at the best validation epoch"),
    "min_test_loss": (min_test_loss, "lowest test loss of any epoch"),
}


def _mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


def _row(runs: list[RunLog]) -> dict[str, Any]:
    dataset = runs[0].dataset
    finished = [run for run in runs if run.ok]
    statuses = Counter(run.status for run in runs)
    row: dict[str, Any] = {
        "status": "OK" if finished else statuses.most_common(1)[0][0],
        "runs": len(runs), "runs_ok": len(finished),
        "params": runs[0].num_params, "recipe": runs[0].recipe_json,
        "files": ";".join(run.file for run in runs)}
    for target, (read, _) in TARGETS.items():
        loss = _mean([read(run) for run in finished])
        row[f"{dataset}/{target}"] = loss
        row[f"{dataset}/{target.replace('loss', 'ppl')}"] = math.exp(loss)
    return row


def _check_same(runs: list[RunLog], field: str, where: str) -> None:
    values = {getattr(run, field) for run in runs}
    if len(values) > 1:
        raise BenchmarkFileError(f"{where}: recipe {runs[0].recipe_id} has logs with different "
                                 f"{field} ({', '.join(map(str, sorted(map(str, values))))}); "
                                 f"one recipe id must name one cell")


def read_table(source: Path) -> GroundTruthTable:
    """The prepared table for the logs in ``source`` (zip or folder)."""
    import pandas as pd

    by_recipe: dict[str, list[RunLog]] = {}
    statuses: Counter[str] = Counter()
    for run in read_logs(source):
        by_recipe.setdefault(run.recipe_id, []).append(run)
        statuses[run.status] += 1
    runs = [run for group in by_recipe.values() for run in group]
    for field in ("dataset", "sizes"):
        values = {getattr(run, field) for run in runs}
        if len(values) > 1:
            raise BenchmarkFileError(f"{source}: the logs mix {field} values ({len(values)}); "
                                     f"prepare one benchmark (one dataset, one model size) at "
                                     f"a time")
    for group in by_recipe.values():
        for field in ("recipe_json", "num_params"):
            _check_same(group, field, str(source))
    dataset = runs[0].dataset
    frame = pd.DataFrame.from_dict({rid: _row(group) for rid, group in by_recipe.items()},
                                   orient="index")
    frame.index.name = "arch_id"
    metrics = [MetricInfo(f"{dataset}/{target}", dataset, False, description)
               for target, (_, description) in TARGETS.items()]
    source_info = {
        "file": Path(source).name, "sha256": file_sha256(Path(source)),
        "format": "nas-bench-nlp training logs", "logs": len(runs), "recipes": len(by_recipe),
        "statuses": dict(statuses), "model_options": asdict(runs[0].sizes),
        "note": "losses are natural-log cross-entropy; lower is better; perplexity = exp(loss)"}
    table = GroundTruthTable(SPACE, frame, metrics, {dataset: metrics[0].name}, source_info)
    ranges = {metric.name: LOSS for metric in metrics} | {"params": NON_NEGATIVE}
    return validate_table(table, str(source), ranges)


def prepare(source: Path, data_dir: Path, **options: Any) -> Path:
    """Read the logs in ``source``, save the table under ``data_dir``; return its path."""
    unknown = sorted(key for key, value in options.items() if value is not None)
    if unknown:
        raise ConfigError(f"option(s) {', '.join(unknown)} do not apply to NAS-Bench-NLP logs; "
                          f"they take no options")
    return read_table(Path(source)).save(prepared_table_path(data_dir, SPACE))
