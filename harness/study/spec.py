"""A study file: a paper's tables as rows of selections, each with the values it published.

A study is TOML (read with ``tomllib``) validated by the pydantic models below; a refused
value raises one ``ConfigError`` line naming the field (``rows[2].samples: must be at least
1``). ``load_study`` takes a built-in study's name (``builtin/NAME.toml``, package data) or a
file path; ``study_text`` gives the file itself, for ``harness study show``.

Each row names what ``harness compare`` would select (spaces, the trial dataset, scorers, the
sample, seeds, images, scorer options) and where its published values are: ``reference``
points at tables of ``reports/reference_values.json`` (the one place a published number lives),
``values`` holds a user's own published numbers inline.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.errors import ConfigError
from harness.refusals import rule_text, shown

BUILTIN_PACKAGE = "harness.study"
BUILTIN_FOLDER = "builtin"
STATISTICS = ("abs_kendall", "abs_spearman", "kendall", "spearman") + tuple(
    f"retrieval@{percent}" for percent in (5, 10, 20, 30, 40, 50))


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class ReferenceTable(_Strict):
    """A table of ``reference_values.json``: its ``source`` key and ``table`` name."""

    source: str
    table: str


class PublishedValue(_Strict):
    """A published number written in the study itself (a user's own paper).

    ``column``: the ground-truth column the source correlated against (None: not stated; the
    candidates of ``reference_values.json`` are then measured, as for ``--paper``).
    ``space``: needed only when the row has several spaces.
    """

    scorer: str
    statistic: str
    value: float = Field(allow_inf_nan=False)
    source: str
    table: str
    n: int = Field(ge=1)
    column: str | None = None
    space: str | None = None

    @field_validator("statistic")
    @classmethod
    def _known_statistic(cls, statistic: str) -> str:
        if statistic not in STATISTICS:
            raise ValueError(f"give one of {', '.join(STATISTICS)}")
        return statistic


class Row(_Strict):
    """One selection of a study, run as ordinary trials of the study's run folder.

    ``samples``: archs per space, or ``"all"``; ``arch_list``: a file of arch ids instead
    (relative to the study file). ``fast``: scorer -> cheaper scorer ``--fast`` runs in its
    place. ``gpu``: the row's paper-size run needs a GPU; on a CPU run it is left out and the
    report says so. ``why_not``: a row that cannot run here at all (no public data), and why.
    """

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    spaces: list[str] = Field(min_length=1)
    dataset: str
    scorers: list[str] = Field(min_length=1)
    samples: int | Literal["all"] = 1000
    sample_seed: int = 0
    arch_list: str | None = None
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    images: str | None = None
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    metrics: list[str] = Field(default_factory=list)
    fast: dict[str, str] = Field(default_factory=dict)
    gpu: bool = False
    why_not: str | None = None
    reference: list[ReferenceTable] = Field(default_factory=list)
    values: list[PublishedValue] = Field(default_factory=list)

    @field_validator("samples")
    @classmethod
    def _positive(cls, samples: int | str) -> int | str:
        if isinstance(samples, int) and samples < 1:
            raise ValueError("give a number of archs (at least 1) or \"all\"")
        return samples


class Study(_Strict):
    """A study: a name, a title, the citation of its paper, and its rows (names unique)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    title: str
    paper: str = ""
    rows: list[Row] = Field(min_length=1)

    @field_validator("rows")
    @classmethod
    def _unique_names(cls, rows: list[Row]) -> list[Row]:
        names = [row.name for row in rows]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"row names must be unique; repeated: {', '.join(repeated)}")
        return rows

    def selected_rows(self, pattern: str | None) -> list[Row]:
        """The rows whose name matches the shell pattern(s) ``pattern`` (comma-separated);
        every row when None. A pattern that matches no row is an error naming the rows."""
        if not pattern:
            return list(self.rows)
        patterns = [p.strip() for p in pattern.split(",") if p.strip()]
        chosen = [row for row in self.rows
                  if any(fnmatch.fnmatchcase(row.name, p) for p in patterns)]
        if not chosen:
            raise ConfigError(f"--rows {pattern!r} matches no row of study {self.name!r}; its "
                              f"rows: {', '.join(row.name for row in self.rows)}")
        return chosen


def builtin_studies() -> list[str]:
    """The names of the studies shipped with the package."""
    folder = resources.files(BUILTIN_PACKAGE).joinpath(BUILTIN_FOLDER)
    return sorted(entry.name.removesuffix(".toml") for entry in folder.iterdir()
                  if entry.name.endswith(".toml"))


def study_text(name_or_path: str) -> tuple[str, Path]:
    """(the study file's text, its folder: where its relative paths start; the package's
    ``builtin`` folder for a built-in study, whose arch lists lie beside it) of a name or a
    path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        try:
            return path.read_text(encoding="utf-8"), path.resolve().parent
        except OSError as exc:
            raise ConfigError(f"study file {path}: {exc.strerror}") from None
    if name_or_path in builtin_studies():
        folder = resources.files(BUILTIN_PACKAGE).joinpath(BUILTIN_FOLDER)
        text = folder.joinpath(name_or_path + ".toml").read_text(encoding="utf-8")
        return text, Path(str(folder))
    raise ConfigError(f"no study {name_or_path!r}: give a .toml file or a built-in study "
                      f"({', '.join(builtin_studies())})")


def parse_study(text: str, label: str) -> Study:
    """The ``Study`` a TOML text holds; ``ConfigError`` naming ``label`` and the bad field."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"study {label}: not valid TOML ({exc})") from None
    try:
        return Study(**document)
    except ValidationError as exc:
        raise ConfigError(f"study {label}: {_problem(exc)}") from None


def load_study(name_or_path: str) -> tuple[Study, Path]:
    """(the study, the folder its relative paths start from)."""
    text, folder = study_text(name_or_path)
    return parse_study(text, name_or_path), folder


def _problem(exc: ValidationError) -> str:
    """``rows[1].samples 0: give a number of archs ...``: the first refused field, one line."""
    error = exc.errors()[0]
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}"
                    for part in error["loc"]).lstrip(".")
    # A union's failure names the member type tried last (``rows[0].samples.int``): drop it.
    where = re.sub(r"\.(int|str|literal\[.*?\]|function-after\[.*?\])$", "", where)
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown field"
    if error["type"] == "missing":
        return f"{where}: missing"
    rule = rule_text(error).removeprefix("value error, ")
    value = error.get("input")
    if isinstance(value, dict | list):
        return f"{where}: {rule}"
    return f"{where} {shown(value)}: {rule}"
