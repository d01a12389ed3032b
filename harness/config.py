"""A run's configuration: what ``harness compare`` was asked to compute.

``RunConfig`` holds the selection (spaces, scorers, samples, seeds, inits, options) and how it
executes (device, workers, executor). Its hash names the default run folder, so the same command
resumes the same run. The run folder's ``run.json`` records it with its provenance
(``harness.runfolder`` writes and reads that file). Loading this module does not import torch
(the command line parses flags into a ``RunConfig`` before it needs torch).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import ConfigError
from harness.hashing import canonical_hash
from harness.refusals import rule_text, shown

DEFAULT_SAMPLES = 100
MAX_SEEDS = 10_000  # far beyond any study; a typo such as 0-5000000000 would exhaust memory


# The command-line flag of each field whose name differs from ``--field-name``.
_FLAGS = {"trial_timeout_s": "--trial-timeout", "options": "--option"}

# What to give instead, for the fields whose rule alone would not say it.
_HINTS = {
    "workers": "give 0 (run in this process) or a positive number of worker processes",
    "trial_timeout_s": "give a positive number of seconds",
    "workers_per_gpu": "give a positive number of trials that share one GPU",
    "samples": "give a number of archs (at least 1) or all",
}


class RunConfig(BaseModel):
    """Everything that decides a run's trials and how they execute (saved as ``run.json``).

    ``spaces`` / ``scorers``: names, or ``["all"]``. ``datasets``: trial datasets, ``["all"]``,
    or None for each table's first dataset. ``samples``: archs per space (None = all), drawn
    with ``sample_seed``; ``arch_list``: a file of arch ids instead. ``seeds``: run seeds, each
    a separate trial. ``options``: ``{scorer: {key: value}}`` overrides of scorer defaults.
    ``images``: a file or folder whose images replace the datasets' inputs. ``workers``: worker
    processes (0 = run in this process, without timeouts). ``out``: the run folder (None = a
    folder under ``runs/`` named after the configuration's hash, so the same command resumes).

    A pydantic model: every field is checked for its type and range when the configuration is
    made or a field is set (strictly: ``"3"`` is not an integer), and a refused value raises
    one ``ConfigError`` line naming the flag. ``to_dict()`` is the JSON ``run.json`` holds.
    """

    model_config = ConfigDict(strict=True, extra="forbid", validate_assignment=True)

    spaces: list[str] = Field(default_factory=lambda: ["all"], min_length=1)
    scorers: list[str] = Field(default_factory=lambda: ["all"], min_length=1)
    datasets: list[str] | None = None
    samples: int | None = Field(DEFAULT_SAMPLES, ge=1)
    sample_seed: int = 0
    arch_list: str | None = None
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1, max_length=MAX_SEEDS)
    weight_inits: list[str] = Field(default_factory=lambda: ["default"], min_length=1)
    bias_inits: list[str] = Field(default_factory=lambda: ["default"], min_length=1)
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    images: str | None = None
    device: str = "cpu"
    workers: int = Field(1, ge=0)
    trial_timeout_s: float | None = Field(None, gt=0, allow_inf_nan=False)
    executor: str = "local"
    data_dir: str | None = None
    out: str | None = None
    retry_failed: bool = False
    # Trials that share one GPU at a time (--workers-per-gpu), and the values of the chosen
    # executor's own options (--ray-address, --slurm-partition...: ``ExecutorOption.name``).
    workers_per_gpu: int = Field(1, ge=1)
    executor_options: dict[str, Any] = Field(default_factory=dict)

    # Fields that change how a run executes but never which trials it holds or their scores.
    EXECUTION_FIELDS: ClassVar[tuple[str, ...]] = (
        "device", "workers", "trial_timeout_s", "executor", "out", "retry_failed",
        "workers_per_gpu", "executor_options")

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigError(_config_problem(exc)) from None

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            super().__setattr__(name, value)
        except ValidationError as exc:
            raise ConfigError(_config_problem(exc)) from None

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        known = set(cls.model_fields)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown run configuration keys {unknown}; known: {sorted(known)}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON values (``run.json``'s ``config``; its hash is unchanged
        from the dataclass this model replaced)."""
        return self.model_dump()

    def selection(self) -> dict[str, Any]:
        """What the run computes (not how or where): the fields outside ``EXECUTION_FIELDS``."""
        return {k: v for k, v in self.to_dict().items() if k not in self.EXECUTION_FIELDS}

    def selection_hash(self) -> str:
        """Hash of ``selection()``: names the default run folder."""
        return canonical_hash(self.selection())

    def run_dir(self) -> Path:
        return Path(self.out) if self.out else Path("runs") / f"compare-{self.selection_hash()}"


def _config_problem(exc: ValidationError) -> str:
    """``"--workers -1: give 0 (run in this process) or ..."``: the first refused field."""
    error = exc.errors()[0]
    field_name = str(error["loc"][0]) if error["loc"] else ""
    if error["type"] == "extra_forbidden":
        return (f"unknown run configuration key {field_name!r}; known: "
                f"{sorted(RunConfig.model_fields)}")
    flag = _FLAGS.get(field_name, "--" + field_name.replace("_", "-"))
    rule = _HINTS.get(field_name) or rule_text(error)
    value = error.get("input")
    shown_value = ",".join(map(str, value)) if isinstance(value, list) else shown(value)
    if field_name in ("seeds", "options") or len(shown_value) > 40:
        return f"{flag}: {rule}"
    return f"{flag} {shown_value}: {rule}"


def parse_seeds(text: str) -> list[int]:
    """``"0-2"`` -> [0, 1, 2]; ``"0,5,7-8"`` -> [0, 5, 7, 8]."""
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        match = re.fullmatch(r"(-?\d+)(?:-(\d+))?", part)
        if not match:
            raise ConfigError(f"--seeds {text!r}: write numbers and ranges, e.g. 0-2 or 0,3,5")
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) else low
        if high < low:
            raise ConfigError(f"--seeds {text!r}: range {part} runs backwards")
        if len(seeds) + high - low + 1 > MAX_SEEDS:
            raise ConfigError(f"--seeds {text!r}: more than {MAX_SEEDS} seeds; each is a whole "
                              f"run of trials")
        seeds.extend(range(low, high + 1))
    if not seeds:
        raise ConfigError("--seeds needs at least one seed")
    return list(dict.fromkeys(seeds))


def parse_option(text: str) -> tuple[str, list[str], Any]:
    """``"naswot.inputs.split=train"`` -> ("naswot", ["inputs", "split"], "train").

    The value is read as JSON where it parses (numbers, booleans, lists), else kept as text;
    a value that starts like a JSON object, list or string must parse.
    """
    target, sep, raw = text.partition("=")
    scorer, dot, key = target.partition(".")
    if not sep or not dot or not scorer or not key:
        raise ConfigError(f"--option {text!r}: write SCORER.KEY=VALUE, e.g. naswot.batch_size=64")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        if raw.lstrip()[:1] in ("{", "[", '"'):
            raise ConfigError(f"--option {target}: {raw[:40]!r} is not valid JSON") from None
        value = raw
    return scorer, key.split("."), value


def add_option(options: dict[str, dict[str, Any]], text: str) -> None:
    """Merge one ``--option`` into ``options`` (``{scorer: nested overrides}``)."""
    scorer, path, value = parse_option(text)
    node = options.setdefault(scorer, {})
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
