"""Writers of small NB101 ``.tfrecord`` files in the official framing and payload layout.

Payloads are built from the 30 real cells of ``shared/data/nb101/naslib_nb101_dummy30.json``
(their real hashes, accuracies and times), three repeats per cell and budget as in the
official files.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.groundtruth.tfrecord import encode_records
from harness.plugins.spaces.nb101.cell import make_cell
from harness.plugins.spaces.nb101.nasbench_tfrecord import encode_payload
from harness.plugins.spaces.nb101.protobuf import Evaluation, ModelMetrics, encode_model_metrics


def load_records(shared_data: Path) -> list[dict]:
    return json.loads((shared_data / "nb101" / "naslib_nb101_dummy30.json").read_text())


def metrics(record: dict, repeat: dict) -> ModelMetrics:
    def evaluation(epoch, phase):
        return Evaluation(epoch, repeat[f"{phase}_training_time"],
                          repeat[f"{phase}_train_accuracy"],
                          repeat[f"{phase}_validation_accuracy"],
                          repeat[f"{phase}_test_accuracy"])
    return ModelMetrics([Evaluation(0.0, 0.0, 0.1, 0.1, 0.1), evaluation(54.0, "halfway"),
                         evaluation(108.0, "final")], record["trainable_parameters"],
                        repeat["final_training_time"] + 10.0)


def payloads(records: list[dict], budgets=(108,)) -> list[bytes]:
    """Every (cell, budget, repeat) record of ``records``, cell by cell."""
    out = []
    for record in records:
        cell = make_cell(record["module_adjacency"], record["module_operations"])
        for budget in budgets:
            for repeat in record["computed_stats"]["108"]:
                out.append(encode_payload(
                    record["module_hash"], budget, cell.adjacency_string,
                    cell.operations_string, encode_model_metrics(metrics(record, repeat))))
    return out


def write(path: Path, payload_list: list[bytes]) -> list[int]:
    """Write the records; return each record's byte offset."""
    path.write_bytes(encode_records(payload_list))
    offsets, offset = [], 0
    for payload in payload_list:
        offsets.append(offset)
        offset += 12 + len(payload) + 4
    return offsets
