"""Exception types for every failure a user can cause, and the one-line form of a message.

Each message names the thing that went wrong and what to do about it; the CLI prints the
message alone (no traceback) for any ``HarnessError``.
"""


class HarnessError(Exception):
    """Base class: a problem the user can fix (bad name, missing file, corrupt data)."""


class UnknownPluginError(HarnessError, KeyError):
    """A space / scorer / searcher / dataset / executor / reporter name that nothing registered."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class DuplicatePluginError(HarnessError):
    """Two plugins registered the same name for the same kind."""


class PluginContractError(HarnessError):
    """A plugin registered an object that does not satisfy its kind's protocol."""


class BenchmarkFileError(HarnessError):
    """An official benchmark file (or a user table) is missing, truncated, corrupt or of the
    wrong layout."""


class DataNotPreparedError(HarnessError):
    """A space's ground truth (or a dataset) is not prepared under the data dir."""


class DatasetError(HarnessError):
    """A dataset folder or image file is missing or malformed."""


class ExchangeFormatError(HarnessError):
    """Another tool's score file (``harness import``) is malformed, or holds an entry that cannot
    be mapped to the harness's spaces, datasets or archs."""


class ConfigError(HarnessError):
    """A run configuration, scorer option or task file is invalid."""


class RunFailedError(HarnessError):
    """Every trial a run ran failed with one error the user can fix (a damaged dataset file):
    the trials stay stored, and the command ends with that error instead of a report."""


class ScorerSkipped(Exception):
    """Raised by a scorer that cannot apply to an architecture; the trial is stored as ``skipped``.

    Not a ``HarnessError``: it is an expected outcome, not a user mistake.
    """


MESSAGE_CHARS = 300


def one_line(exc: BaseException) -> str:
    """``"Type: message"`` on one line, cut to ``MESSAGE_CHARS`` (trial rows, error causes)."""
    text = " ".join(str(exc).split())
    message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return message if len(message) <= MESSAGE_CHARS else message[:MESSAGE_CHARS - 3] + "..."


def is_user_error(message: str) -> bool:
    """Whether ``message`` (``one_line``'s ``"Type: text"``, as a trial stores it) is a
    ``HarnessError``: a problem the user can fix, not a bug of the harness or of a scorer."""
    name = message.partition(":")[0]
    return name in {cls.__name__ for cls in _subclasses(HarnessError)}


def _subclasses(cls: type) -> list[type]:
    """``cls`` and every class derived from it that this process has imported."""
    return [cls, *(sub for child in cls.__subclasses__() for sub in _subclasses(child))]
