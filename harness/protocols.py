"""The contracts a plugin object must satisfy, one Protocol per plugin kind.

This module is the plugin author's reference: every attribute and method below is what the
harness calls. Register an object of the right shape from a hook in ``harness.hookspecs``.
All scores are oriented **higher = predicted better**.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch

    from harness.groundtruth.table import GroundTruthTable


@dataclass(frozen=True)
class Batch:
    """One batch of inputs (N, C, H, W float32, normalized) and integer labels (N,)."""

    inputs: torch.Tensor
    labels: torch.Tensor

    def to(self, device: torch.device | str) -> Batch:
        return Batch(self.inputs.to(device), self.labels.to(device))


@dataclass
class ScoringContext:
    """Everything a scorer gets for one trial.

    ``build_model`` builds the trial's architecture on ``device`` with the trial's weight and
    bias initialization already applied, in ``train()`` mode. Its keyword arguments go to the
    space's builder: ``num_classes`` (default: the dataset's), and the space's own options
    (see the space's docstring; ``batchnorm=False`` asks for the benchmark's BN-free variant
    where the space has one). Call it as many times as the scorer needs fresh copies; each call
    re-seeds so every copy is identical.
    """

    space: Space
    arch_id: str
    dataset: str
    num_classes: int
    input_shape: tuple[int, int, int]
    batch: Batch | None
    config: dict[str, Any]
    device: torch.device
    trial_seed: int
    generator: torch.Generator
    build_model: Callable[..., torch.nn.Module]
    # The run's seed (``trial_seed`` is this trial's): for state shared by every trial of a
    # run, such as GenNAS's synthetic targets. None where the caller has no run (a bare
    # scorer call).
    run_seed: int | None = None
    # The builder options ``build_model`` applies under the scorer's own: those of the network
    # the benchmark trained (the ground-truth table's source), then those of the network form
    # the scorer asks for in this space (``NetworkFormSpace``) and the user's ``model_options``
    # for it: what a ``CountingSpace`` needs to count that network without building it.
    builder_options: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Space(Protocol):
    """A search space: names architectures, builds models, knows its benchmark's ground truth.

    ``name``: the CLI name (``nb201``). ``datasets``: benchmark datasets it has ground truth for,
    mapped to the dataset plugin that supplies their input images, e.g.
    ``{"cifar10": "cifar10", "cifar10-valid": "cifar10"}``. The optional abilities below
    (``MutableSpace``, ``TappedSpace``, ...) are separate one-method Protocols, checked with
    ``isinstance`` where the harness needs them: implement the ones you want.
    """

    name: str
    datasets: dict[str, str]

    def parse_arch(self, text: str) -> str:
        """Return the canonical arch id for any accepted encoding; ``ConfigError`` if invalid."""

    def ground_truth(self, data_dir: Path) -> GroundTruthTable:
        """Load the prepared table (``DataNotPreparedError`` naming the prepare command if
        absent)."""

    def prepare(self, source: Path, data_dir: Path, **options: Any) -> Path:
        """Convert an official benchmark file (or a user table) into the prepared table; return
        its path."""

    def build_model(self, arch_id: str, *, num_classes: int, **options: Any) -> torch.nn.Module:
        """Build the network for ``arch_id`` (framework-default init, CPU)."""


# The network form every space builds: the network its benchmark trained. A scorer that asks for
# another form (its defaults' ``"network"``) gets what each ``NetworkFormSpace`` maps it to.
BENCHMARK_FORM = "benchmark"


@runtime_checkable
class NetworkFormSpace(Protocol):
    """Optional: a space that builds the networks scorers' papers used, by form name.

    Scorers declare the form of network their method scores (``defaults["network"]``: e.g. the
    zero-cost proxies' reference builder, GenNAS's tapped network, NASWOT's); a space maps each
    form it knows to the builder options that give it, and builds its benchmark network
    (``BENCHMARK_FORM``) for any other. A scorer therefore never names a space's options.
    The forms the built-in spaces know are listed in docs/plugins.md.
    """

    network_forms: dict[str, dict[str, Any]]


@runtime_checkable
class FormattingSpace(Protocol):
    """Optional: a space that writes its arch ids in other tools' encodings, which the exchange
    formats need to write those tools' files (``parse_arch`` reads the same texts back)."""

    def format_arch(self, arch_id: str, encoding: str) -> str:
        """``arch_id`` as text in ``encoding`` (e.g. ``"naslib"``: NASLib's key of the cell);
        ``ConfigError`` naming the encodings it writes when it does not write this one."""


@runtime_checkable
class MutableSpace(Protocol):
    """Optional: a space whose archs can be mutated, which evolutionary searchers need."""

    def mutate(self, arch_id: str, rng: random.Random) -> str:
        """Return a valid neighbour of ``arch_id`` for evolutionary search."""


# What a tapped space's ``build_model(taps=...)`` can make ``forward_taps`` return: "stages"
# (a few stage outputs, GenNAS's taps) or "blocks" (the stem's output and every block's, the
# ``az_nas`` network form).
TAPS = ("stages", "blocks")


@runtime_checkable
class TappedSpace(Protocol):
    """Optional: a space whose models expose their stage outputs, which GenNAS needs."""

    def forward_taps(self, model: torch.nn.Module, inputs: torch.Tensor) -> list[torch.Tensor]:
        """Run ``model`` on ``inputs`` and return its stage outputs (GenNAS taps), shallow first."""


@runtime_checkable
class PrunableSpace(Protocol):
    """Optional: a space whose networks can skip the computations that cannot change their
    output (an edge that adds an exact zero, a node no path reaches the output from). GenNAS
    training asks for it: its losses stay bit-identical and the dead paths cost nothing."""

    def skip_dead_paths(self, model: torch.nn.Module) -> None:
        """Make ``model`` (built by this space) skip its dead paths from now on: outputs, taps
        and the gradients of the parameters that still run unchanged for finite values; skipped
        parameters get no gradient and skipped modules' hooks do not fire."""


@runtime_checkable
class BundledSpace(Protocol):
    """Optional: a space that ships a small demo table, used when nothing is prepared."""

    def bundled_ground_truth(self) -> GroundTruthTable | None:
        """The table shipped inside the package, or None where it is not installed."""


@runtime_checkable
class ResizableSpace(Protocol):
    """Optional: a space whose builder takes the generic ``--width``/``--cells`` of
    ``harness data build``."""

    def builder_options(self, width: int | None, cells: int | None) -> dict[str, Any]:
        """The ``build_model`` options that give this width and cell count."""


@runtime_checkable
class CountingSpace(Protocol):
    """Optional: a space that counts its networks' parameters and multiply-accumulates from the
    arch id and builder options alone, so ``params``/``flops`` need not build the network
    (docs/performance.md). Each count must equal what the scorer would count on
    ``build_model(arch_id, num_classes=..., **builder_options)``; return None for options or an
    input shape the count does not cover, and the scorer builds the model instead."""

    def count_parameters(self, arch_id: str, *, num_classes: int,
                         **builder_options: Any) -> int | None:
        """``sum(p.numel() for p in model.parameters())`` of the built model, or None."""

    def count_macs(self, arch_id: str, input_shape: tuple[int, int, int], *, num_classes: int,
                   **builder_options: Any) -> int | None:
        """Conv2d and Linear multiply-accumulates of one forward pass of one example, or None."""


@runtime_checkable
class ExampleLossSpace(Protocol):
    """Optional: a space whose models are not image classifiers (a language model): it gives the
    zero-cost scorers the loss on its dataset's batch and the data-free input of synflow, and
    names the proxies that are undefined for its models (each trial of those is ``skipped``
    with the reason)."""

    undefined_proxies: dict[str, str]

    def example_loss(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        """The scalar training loss of ``model`` on ``batch`` (e.g. next-token cross-entropy)."""

    def constant_input(self, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """One example of all ones, as synflow feeds it (token id 1 for a language model)."""


@runtime_checkable
class SequenceSpace(Protocol):
    """Optional: a space whose models are recurrent stacks over feature sequences, which
    GenNAS-RNN needs."""

    def forward_sequence(self, model: torch.nn.Module, features: torch.Tensor) -> torch.Tensor:
        """Run ``model``'s recurrent stack on time-major (L, B, input width) features from a zero
        hidden state; return (L, B, output width)."""

    def sequence_sizes(self, model: torch.nn.Module) -> tuple[int, int]:
        """(input width, output width) of ``forward_sequence``."""


@runtime_checkable
class Scorer(Protocol):
    """A proxy that gives one float per architecture, higher = predicted better.

    ``needs_inputs``: whether ``ctx.batch`` must hold real images (False for data-free proxies
    such as synflow or params). ``defaults``: the options and their default values; the harness
    merges user overrides (``--option NAME.KEY=VALUE``) into ``ctx.config`` and hashes the result
    into the trial key. ``defaults["batch_size"]`` is the input batch size. Every scorer also
    takes ``network`` (the network form it scores; ``NetworkFormSpace``) and ``model_options``
    (builder options per space); ``ctx.build_model`` applies what they resolve to.
    Raise ``harness.errors.ScorerSkipped(reason)`` when the scorer cannot apply to an arch.
    """

    name: str
    needs_inputs: bool
    defaults: dict[str, Any]

    def score(self, ctx: ScoringContext) -> float:
        """Return the score of ``ctx.arch_id``."""


# Inclusive (low, high) bounds of numeric scorer options by dotted path; None: an open end.
OptionRanges = dict[str, tuple[float | None, float | None]]


@runtime_checkable
class Dataset(Protocol):
    """A source of input batches for scorers.

    ``num_classes`` and ``input_shape`` (C, H, W) describe what models built for it take.
    ``batch`` is deterministic in ``seed``; ``options`` carries plugin-specific settings
    (``path`` for the ``images`` dataset).
    """

    name: str
    num_classes: int
    input_shape: tuple[int, int, int]

    def batch(self, batch_size: int, seed: int, *, data_dir: Path, **options: Any) -> Batch:
        """Return one batch of ``batch_size`` examples drawn with ``seed``."""


@runtime_checkable
class NormalizedDataset(Protocol):
    """Optional: named normalization presets, which the ``images`` dataset borrows (``like=``).

    ``normalizations`` maps a preset name to a ``Normalization`` and holds ``"default"``.
    """

    normalizations: dict[str, Any]


@runtime_checkable
class MeanStdDataset(Protocol):
    """Optional, simpler than ``NormalizedDataset``: one per-channel mean and std."""

    mean: Sequence[float]
    std: Sequence[float]


@dataclass
class SearchResult:
    """What a searcher found: the best arch, and every evaluation in order."""

    best_arch: str
    history: list[tuple[str, float]] = field(default_factory=list)


@runtime_checkable
class Searcher(Protocol):
    """Explores a space using a scorer (or the ground truth) as fitness."""

    name: str

    def search(
        self,
        space: Space,
        candidates: Sequence[str],
        fitness: Callable[[str], float],
        budget: int,
        rng: random.Random,
    ) -> SearchResult:
        """Spend ``budget`` fitness evaluations and return the best arch found."""


# A search as an ask/tell generator: it yields the archs it wants scored next, is sent their
# fitness values in the same order, and returns its ``SearchResult``.
SearchSteps = Generator[list[str], list[float], SearchResult]


@runtime_checkable
class Executor(Protocol):
    """Runs trial jobs and yields their results as they finish (order is free)."""

    name: str

    def run(self, jobs: Sequence[Any], *, workers: int, device: str,
            trial_timeout_s: float | None) -> Iterator[Any]:
        """Execute ``jobs`` (``harness.trial.TrialJob``); yield ``harness.store.TrialResult``."""


@dataclass(frozen=True)
class ExecutorOption:
    """One ``harness compare`` option an executor adds: ``--NAME VALUE`` (``_`` written ``-``).

    ``name`` is also the key of the value in ``RunConfig.executor_options`` (``ray_address``:
    ``--ray-address``); ``type`` converts the command line's text (``int``, ``float``, ``str``).
    Options are read from the registered executor object when the parser is built, so the
    module that defines them must not import heavy libraries (torch, ray) at import time.
    """

    name: str
    help: str
    type: Callable[[str], Any] = str
    metavar: str = "VALUE"

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class ExecutorSettings:
    """What a run tells a ``ConfigurableExecutor`` beyond ``Executor.run``'s arguments.

    ``run_dir``: the run folder (for logs and the executor's own bookkeeping; never the
    store, which only the driver writes). ``options``: the values of the executor's own
    ``ExecutorOption``s that were given (absent = not given). ``workers_per_gpu``: trials that
    share one GPU at a time (``--workers-per-gpu``).
    """

    run_dir: Path
    options: dict[str, Any] = field(default_factory=dict)
    workers_per_gpu: int = 1


@runtime_checkable
class ConfigurableExecutor(Protocol):
    """Optional: an executor with its own command-line options and use of the run folder.

    ``options``: the ``ExecutorOption``s ``harness compare`` shows and accepts for it.
    ``configured`` returns the executor to run with (a new object; raise ``HarnessError``
    for what cannot work, e.g. a missing optional library, before any trial runs).
    """

    options: Sequence[ExecutorOption]

    def configured(self, settings: ExecutorSettings) -> Executor:
        """The executor set up for one run."""


@runtime_checkable
class Reporter(Protocol):
    """Writes a report in one format (``name`` is the format: md, csv, tex, json, html, ...)."""

    name: str

    def write(self, report: Any, run_dir: Path) -> list[Path]:
        """Write ``report`` (``harness.reports.Report``) under ``run_dir``; return the files
        written."""


@runtime_checkable
class Aggregate(Protocol):
    """A named rank combination of scorers, named in ``--scorers`` like a scorer.

    ``harness compare --scorers NAME`` runs each of ``parts`` (scorer names, or names of other
    registered aggregates, which are combined first and whose scorers run too) as trials; the
    report combines their ranks within each cell's sample with ``method`` (one of
    ``harness.reports.aggregates.METHODS``: ``mean_rank``, ``log_rank``, ``lexicographic``).
    ``harness report --aggregate`` and ``harness search --fitness NAME`` take it too.
    """

    name: str
    parts: Sequence[str]
    method: str


INIT_KINDS = ("weight", "bias")


@runtime_checkable
class Initializer(Protocol):
    """A weight or bias initialization scheme (the init axes of the GenNAS appendix, Table 2).

    ``kind``: one of ``INIT_KINDS``; ``name`` is unique among the initializers of that kind
    (``--weight-inits NAME`` / ``--bias-inits NAME``).
    """

    name: str
    kind: str

    def __call__(self, model: torch.nn.Module) -> None:
        """Initialize ``model``'s parameters in place (the harness holds ``torch.no_grad``)."""


def protocol_members(protocol: type) -> list[str]:
    """The attributes and methods ``protocol`` requires, its bases' included, sorted.

    Computed from the class bodies, so it works on every Python version (``typing`` keeps its
    own list in a private attribute that changed name in 3.12).
    """
    members: set[str] = set()
    for cls in protocol.__mro__:
        if cls in (Protocol, object) or not getattr(cls, "_is_protocol", False):
            continue
        members.update(getattr(cls, "__annotations__", {}))
        members.update(name for name, value in vars(cls).items() if callable(value)
                       and (not name.startswith("_") or name == "__call__"))
    return sorted(members)


def missing_members(obj: object, protocol: type) -> list[str]:
    """The members of ``protocol`` that ``obj`` lacks (empty when it satisfies it)."""
    return [name for name in protocol_members(protocol) if not hasattr(obj, name)]


@dataclass(frozen=True)
class ExchangedScore:
    """One arch's score as another tool's file holds it, mapped to the harness's names.

    ``space``, ``dataset``, ``arch_id`` and ``scorer`` are the harness's (``arch_id`` as the
    space's ``parse_arch`` gives it); ``wall_s``: the seconds the file says the score took
    (None: not stated); ``origin``: where in the file it came from (e.g. its key there), kept as
    the imported trial's message.
    """

    space: str
    dataset: str
    arch_id: str
    scorer: str
    score: float
    wall_s: float | None = None
    origin: str = ""


@dataclass
class ExchangeRead:
    """What an exchange format read from a file: its scores, and a note for everything of the
    file it left out on purpose (duplicates, entries without a score), for the user to see."""

    scores: list[ExchangedScore] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@runtime_checkable
class ExchangeFormat(Protocol):
    """Another tool's file of per-arch scores (``name``: ``harness import NAME FILE`` and
    ``harness export RUN --format NAME``), so published scores are compared without
    recomputing them and a run's scores are read by that tool.

    ``read`` maps the file's archs through the spaces' ``parse_arch`` (``space(name)`` looks a
    space plugin up) and refuses, with ``harness.errors.ExchangeFormatError`` naming the entry,
    whatever it cannot map. ``datasets``: the file's datasets to read, each mapped to the
    harness's trial dataset (a None value: the format's own mapping); None reads them all.
    ``write`` writes the scores (and ``truth``: the run's default ground-truth value per
    (space, dataset, arch id), where it has one) in the tool's layout; it returns its notes.
    """

    name: str

    def read(self, path: Path, *, space: Callable[[str], Space],
             datasets: dict[str, str | None] | None = None) -> ExchangeRead:
        """The scores of the file at ``path``."""

    def write(self, scores: Sequence[ExchangedScore], path: Path, *,
              space: Callable[[str], Space],
              truth: dict[tuple[str, str, str], float]) -> list[str]:
        """Write ``scores`` to ``path``; return notes on what was left out or changed."""

