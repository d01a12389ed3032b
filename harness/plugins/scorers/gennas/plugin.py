"""Registers GenNAS: one scorer per shipped task (``gennas-combo``, ``gennas-search-n``,
``gennas-search-d``, ``gennas-search-r``, ``gennas-single``), the shorter schedule
``gennas-search-n-fast``, and the generic ``gennas`` scorer that takes its task from a JSON
file: ``--option gennas.task=my_task.json``.

``gennas-single`` is not confirmed by the paper (its task file's description says why).
"""

from __future__ import annotations

import json
from importlib.resources import files

from harness.hookspecs import Register, hookimpl
from harness.plugins.scorers.gennas.task import Task, parse_task
from harness.protocols import Scorer

TASK_NAMES = ("gennas-combo", "gennas-search-n", "gennas-search-d", "gennas-search-r",
              "gennas-single")

# Shorter schedules of a shipped task: (task, train options replacing the defaults). The
# schedule was chosen on the cost-quality frontier of docs/performance.md: its Kendall tau on
# the NB-201 validation sample stays inside the full schedule's interval at a fraction of the cost.
FAST_TASKS = {"gennas-search-n-fast": ("gennas-search-n", {"iterations": 30})}


def named_task(name: str) -> Task:
    """The shipped task ``name`` (one of ``TASK_NAMES``)."""
    return parse_task(json.loads(files(__package__).joinpath("tasks", f"{name}.json").read_text()))


@hookimpl
def harness_register_scorers(register: Register[Scorer]) -> None:
    from harness.plugins.scorers.gennas.scorer import GenericGenNASScorer, GenNASScorer

    for name in TASK_NAMES:
        register(GenNASScorer(name, named_task(name)))
    for name, (task, schedule) in FAST_TASKS.items():
        register(GenNASScorer(name, named_task(task), schedule))
    register(GenericGenNASScorer())
    register_rnn_scorers(register)


def register_rnn_scorers(register: Register[Scorer]) -> None:
    """GenNAS for recurrent cells: ``gennas-rnn-search``, ``gennas-rnn-combo``,
    ``gennas-rnn-single`` (``rnn_scorer.py``)."""
    from harness.plugins.scorers.gennas.rnn_scorer import (
        RNN_TASK_NAMES,
        GenNASRNNScorer,
        named_rnn_task,
    )

    for name in RNN_TASK_NAMES:
        register(GenNASRNNScorer(name, named_rnn_task(name)))
