"""The ``nbnlp`` space: NAS-Bench-NLP recurrent cells (Klyuchnikov et al. 2020; docs/nbnlp.md).

Arch id: the benchmark's ``recepie_id`` (``"1000001"``) for a recipe with a training log, else
``sha:<16 hex>`` (``recipe.recipe_hash``). ``parse_arch`` accepts either id or the recipe
itself (its JSON text or object); a recipe the prepared table holds gets its ``recepie_id``.
Cells of ``sha:`` ids exist only in the process that drew or parsed them (sampling, mutation,
``--arch-list`` of recipe JSON); benchmark ids are looked up in the prepared table.

Datasets: ``wikitext2`` and ``ptb``, the corpora the logs were trained on; they map to token
dataset plugins of the same names (``tokens.py``). The network is the benchmark's language
model (``model.py``), sized by the logs (``table.source["model_options"]``). For the zero-cost
proxies the space supplies the loss (next-token cross-entropy) and the all-ones input
(``harness.protocols.ExampleLossSpace``); for GenNAS-RNN it runs the recurrent stack on
given features (``SequenceSpace``).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.datadir import resolve_data_dir
from harness.download import OfficialDownload
from harness.errors import ConfigError, DataNotPreparedError
from harness.groundtruth.table import GroundTruthTable, prepared_table_path
from harness.plugins.spaces.nbnlp.generator import mutate_recipe, random_recipe
from harness.plugins.spaces.nbnlp.recipe import Recipe, parse_recipe, recipe_hash
from harness.plugins.spaces.nbnlp.tokens import SEQUENCE_LENGTH

if TYPE_CHECKING:
    import torch

    from harness.protocols import Batch

PREPARE_HINT = ("run `harness data prepare nbnlp --source PATH` with the NAS-Bench-NLP logs.zip "
                "(train_logs_single_run, train_logs_multi_runs or train_logs_wikitext-2) or its "
                "unpacked folder")


# `harness data fetch nbnlp`: the logs live in the benchmark's repository, whose README.md
# (fmsnew/nas-bench-nlp-release) says to unzip them; pinned to a commit whose README lists the
# three zips, so a file cannot change under its recorded checksum. No size or checksum is
# published: the SHA-256 of the first download is recorded and checked on later ones. The
# three zips share the name logs.zip, so each is saved under its folder's name.
NLP_REPOSITORY = ("https://github.com/fmsnew/nas-bench-nlp-release/raw/"
                  "a6d90a3b19e3966b1d009c0970b3761aa46707d1")
NLP_README = "fmsnew/nas-bench-nlp-release README.md"
OFFICIAL_DOWNLOADS = (
    OfficialDownload(
        url=f"{NLP_REPOSITORY}/train_logs_single_run/logs.zip",
        file_name="train_logs_single_run-logs.zip", citation=NLP_README,
        description="PTB, one run per architecture (the main benchmark)"),
    OfficialDownload(
        url=f"{NLP_REPOSITORY}/train_logs_wikitext-2/logs.zip",
        file_name="train_logs_wikitext-2-logs.zip", citation=NLP_README,
        description="WikiText-2, 345 logs"),
    OfficialDownload(
        url=f"{NLP_REPOSITORY}/train_logs_multi_runs/logs.zip",
        file_name="train_logs_multi_runs-logs.zip", citation=NLP_README,
        description="PTB, repeated runs of a subset"),
)

class NBNLPSpace:
    """NAS-Bench-NLP cells: recipes, the AWD-style language model, ground truth, mutation."""

    name = "nbnlp"
    datasets = {"wikitext2": "wikitext2", "ptb": "ptb"}
    # Network forms (harness.protocols.NetworkFormSpace): the zero-cost proxies and GenNAS-RNN
    # score the benchmark's own language model.
    network_forms: dict[str, dict[str, Any]] = {"zerocost": {}, "gennas": {}}
    builds_from_data_dir = True  # benchmark ids are looked up in the prepared table
    undefined_proxies = {
        "fisher": "fisher's channel saliency is undefined for recurrent cells: each weight is "
                  "applied at every time step, so no layer has one activation per channel "
                  "(the GenNAS appendix lists fisher as '-' on NAS-Bench-NLP)",
        "jacob_cov": "jacob_cov needs the gradient with respect to real-valued inputs; a "
                     "language model reads token ids",
        "naswot_v1": "naswot_v1 needs the gradient with respect to real-valued inputs; a "
                     "language model reads token ids",
        "epe_nas": "epe_nas needs the gradient with respect to real-valued inputs; a "
                   "language model reads token ids",
        "naswot": "naswot's binary codes come from nn.ReLU modules; the cells' activations are "
                  "tanh, sigmoid and functional leaky ReLU, applied at every time step",
        "flops": "flops counts the Conv2d / Linear work of one image of the dataset's input "
                 "shape; a language model reads token sequences",
    }

    def __init__(self) -> None:
        self._data_dir: Path | None = None
        self._recipes: dict[str, Recipe] = {}
        self._ids_by_json: dict[str, str] = {}
        self._table_key: tuple[Path, float] | None = None

    def official_downloads(self) -> list[OfficialDownload]:
        """The files `harness data fetch nbnlp` can download, the default first."""
        return list(OFFICIAL_DOWNLOADS)

    # -- recipes and ids -------------------------------------------------------------------
    def _load_table_recipes(self) -> None:
        """Remember the prepared table's recipes (once per table version)."""
        path = prepared_table_path(resolve_data_dir(self._data_dir), self.name)
        if not path.exists():
            return
        key = (path, path.stat().st_mtime)
        if key == self._table_key:
            return
        import pyarrow.parquet as pq

        columns = pq.read_table(path, columns=["arch_id", "recipe"])
        for arch_id, text in zip(columns.column("arch_id").to_pylist(),
                                 columns.column("recipe").to_pylist(), strict=True):
            self._remember(str(arch_id), parse_recipe(text))
        self._table_key = key

    def _remember(self, arch_id: str, recipe: Recipe) -> str:
        self._recipes[arch_id] = recipe
        self._ids_by_json.setdefault(recipe.to_json(), arch_id)
        return arch_id

    def _id_of(self, recipe: Recipe) -> str:
        self._load_table_recipes()
        known = self._ids_by_json.get(recipe.to_json())
        return known if known is not None else self._remember(recipe_hash(recipe), recipe)

    def recipe(self, arch_id: str) -> Recipe:
        """The cell of ``arch_id`` (benchmark ids need the prepared table)."""
        if arch_id not in self._recipes:
            self._load_table_recipes()
        if arch_id not in self._recipes:
            raise DataNotPreparedError(
                f"nbnlp arch {arch_id!r} is unknown: benchmark ids need the prepared table "
                f"({PREPARE_HINT}); a new cell can be given as its recipe JSON")
        return self._recipes[arch_id]

    def parse_arch(self, text: Any) -> str:
        """The arch id of a benchmark id, a ``sha:`` id, or a recipe (JSON text or object)."""
        if isinstance(text, bool):
            raise ConfigError(f"{text!r} is not an NB-NLP architecture")
        if isinstance(text, dict):
            return self._id_of(parse_recipe(text))
        if isinstance(text, int):
            text = str(text)
        if not isinstance(text, str):
            raise ConfigError(f"cannot read an NB-NLP architecture from {type(text).__name__}")
        stripped = text.strip()
        if stripped.startswith("{"):
            return self._id_of(parse_recipe(stripped))
        if stripped.isdigit() or stripped.startswith("sha:"):
            self.recipe(stripped)
            return stripped
        raise ConfigError(f"{text!r} is not an NB-NLP architecture: expected a recepie_id "
                          f"(1000001), a sha: id, or a recipe JSON object")

    def sample_archs(self, n: int, rng: random.Random) -> list[str]:
        """``n`` distinct new recipes drawn with the benchmark generator's rules."""
        found: dict[str, None] = {}
        while len(found) < n:
            found[self._id_of(random_recipe(rng))] = None
        return list(found)

    def mutate(self, arch_id: str, rng: random.Random) -> str:
        """One op or one input changed (``generator.mutate_recipe``)."""
        return self._id_of(mutate_recipe(self.recipe(arch_id), rng))

    # -- models ------------------------------------------------------------------------------
    def build_model(self, arch_id: str, *, num_classes: int, data_dir: str | None = None,
                    **sizes: Any) -> torch.nn.Module:
        """The benchmark's language model for ``arch_id`` with vocabulary ``num_classes``.

        ``sizes``: ``model.ModelSizes`` fields (emsize, nhid, nlayers, tied, dropouts, wdrop);
        defaults are the logs' values. ``data_dir``: where the prepared table lives (a trial
        passes its run's, ``builds_from_data_dir``, so worker processes find benchmark recipes).
        """
        from harness.plugins.spaces.nbnlp.model import ModelSizes, NBNLPModel

        if data_dir is not None and self._data_dir != Path(data_dir):
            self._data_dir, self._table_key = Path(data_dir), None
        return NBNLPModel(self.recipe(arch_id), int(num_classes), ModelSizes(**sizes))

    def forward_sequence(self, model: torch.nn.Module, features: torch.Tensor) -> torch.Tensor:
        """The recurrent stack on time-major features (L, B, emsize) -> (L, B, output width)."""
        return model.forward_sequence(features)

    def sequence_sizes(self, model: torch.nn.Module) -> tuple[int, int]:
        """(input width, output width) of ``forward_sequence``."""
        return model.sizes.emsize, model.output_size

    def example_loss(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        """Next-token cross-entropy, mean over every token of the batch."""
        import torch.nn.functional as F

        logits = model(batch.inputs)
        return F.cross_entropy(logits.flatten(0, 1), batch.labels.flatten())

    def constant_input(self, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """Synflow's data-free input: one sequence of token id 1 (the all-ones input)."""
        import torch

        return torch.ones(1, SEQUENCE_LENGTH, dtype=torch.long, device=device)

    # -- ground truth ------------------------------------------------------------------------
    def ground_truth(self, data_dir: Path) -> GroundTruthTable:
        path = prepared_table_path(data_dir, self.name)
        if not path.exists():
            raise DataNotPreparedError(f"no NB-NLP ground truth at {path}; {PREPARE_HINT}")
        table = GroundTruthTable.load(path)
        self._data_dir, self._table_key = Path(data_dir), None
        return table

    def prepare(self, source: Path, data_dir: Path, **options: Any) -> Path:
        """Read the training logs (``prepare.py``) and save the table under ``data_dir``."""
        from harness.plugins.spaces.nbnlp.prepare import prepare

        path = prepare(Path(source), Path(data_dir), **options)
        self._data_dir, self._table_key = Path(data_dir), None
        return path
