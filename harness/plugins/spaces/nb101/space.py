"""The ``nb101`` space: NAS-Bench-101 (Ying et al., ICML 2019), CIFAR-10, 423,624 cells.

Arch id = the benchmark's module hash of the pruned cell (``nb101_cell``), so every encoding
of the same cell gets the same id and joins the official records directly. ``parse_arch``
accepts the hash and the raw encodings of ``nb101_encoding``. A hash is turned back into its
cell through the prepared table (or through cells this process has already parsed or mutated).

Ground truth: ``harness data prepare nb101 --source nasbench_only108.tfrecord`` (or
``nasbench_full.tfrecord``, the API pickle, or a user CSV; the ``prepare`` module).
Default metric: the 3-repeat mean of the final CIFAR-10 test accuracy at 108 epochs.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.datadir import resolve_data_dir
from harness.download import OfficialDownload
from harness.errors import ConfigError, DataNotPreparedError
from harness.groundtruth.table import GroundTruthTable, prepared_table_path
from harness.plugins.spaces.nb101.cell import Cell, cell_from_strings
from harness.plugins.spaces.nb101.encoding import (
    NASLIB_OP_CODES,
    parse_cell_text,
    read_arch_list_entries,
)
from harness.plugins.spaces.nb101.mutation import mutate_cell

if TYPE_CHECKING:  # torch and pandas are imported where needed, so listing spaces stays fast
    import pandas as pd
    import torch

PREPARE_HINT = ("run `harness data prepare nb101 --source PATH` with nasbench_only108.tfrecord "
                "or nasbench_full.tfrecord (NAS-Bench-101 README), the API pickle, or a CSV")


# `harness data fetch nb101`: the URLs, sizes and SHA-256s the NAS-Bench-101 README publishes
# (google-research/nasbench, README.md, "Download the dataset").
NB101_README = "google-research/nasbench README.md"
OFFICIAL_DOWNLOADS = (
    OfficialDownload(
        url="https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord",
        file_name="nasbench_only108.tfrecord", citation=NB101_README, size="~499 MB",
        checksum="sha256:4c39c3936e36a85269881d659e44e61a245babcb72cb374eacacf75d0e5f4fd1",
        description="the models trained for 108 epochs (the default ground truth)"),
    OfficialDownload(
        url="https://storage.googleapis.com/nasbench/nasbench_full.tfrecord",
        file_name="nasbench_full.tfrecord", citation=NB101_README, size="~1.95 GB",
        checksum="sha256:3d64db8180fb1b0207212f9032205064312b6907a3bbc81eabea10db2f5c7e9c",
        description="all four budgets (4, 12, 36, 108 epochs)"),
)

class NB101Space:
    """NAS-Bench-101 cells, the benchmark network, its ground truth and mutation."""

    name = "nb101"
    datasets = {"cifar10": "cifar10"}
    # Network forms (harness.protocols.NetworkFormSpace): the zero-cost proxies' reference code
    # builds the benchmark's stem 128; GenNAS's and NASWOT's build stem 16.
    # AZ-NAS taps the benchmark network after the stem and every cell.
    # GenNAS's NB-101 network: stem 16 and PyTorch's BatchNorm momentum (model.py).
    network_forms = {"zerocost": {}, "gennas": {"stem_channels": 16, "bn_momentum": 0.1},
                     "naswot": {"stem_channels": 16}, "az_nas": {"taps": "blocks"}}
    builds_from_data_dir = True  # hash ids are looked up in the prepared table
    # `harness data prepare nb101` options, as `data prepare --help` lists them.
    prepare_options = {
        "--columns NEW=OLD,...": "user tables (.csv, .tsv, .parquet, GenNAS .json): map harness "
                                 "columns (arch, "
                                 "then metrics) to the file's columns",
        "--dataset NAME": "user tables: the dataset their accuracies are on",
        "--description TEXT": "user tables: recorded in the table's source",
        "--duplicates POLICY": "user tables: what to do with rows of the same cell",
        "--higher-is-better BOOL": "user tables: direction of the metric",
        "--verify-crc false": ".tfrecord: skip the CRC check of each record (faster)",
        "--allow-partial": ".tfrecord: accept an official file name with fewer records than "
                           "the official count",
    }

    def __init__(self) -> None:
        self._cells: dict[str, Cell] = {}
        self._structure: pd.DataFrame | None = None  # adjacency, operations by arch id
        self._data_dir: Path | None = None  # the last data dir used, for hash -> cell lookups

    def official_downloads(self) -> list[OfficialDownload]:
        """The files `harness data fetch nb101` can download, the default first."""
        return list(OFFICIAL_DOWNLOADS)

    # -- architectures -------------------------------------------------------------------
    def parse_arch(self, text: str) -> str:
        """Module hash of ``text`` (a hash, JSON matrix + ops, 'BITS|ops' or a NASLib tuple)."""
        parsed = parse_cell_text(str(text))
        if isinstance(parsed, Cell):
            module_hash = parsed.module_hash()
            self._cells[module_hash] = parsed
            return module_hash
        self.cell(parsed)  # a bare hash must name a known cell
        return parsed

    def format_arch(self, arch_id: str, encoding: str) -> str:
        """``arch_id`` as ``"naslib"``: NASLib's zero-cost key of the pruned cell, its V*V
        adjacency bits row-major then its V op codes (0 input, 1 output, 2 maxpool3x3,
        3 conv1x1-bn-relu, 4 conv3x3-bn-relu); ``parse_arch`` reads it back. The cell comes
        from this process's cache or the prepared table (``cell``)."""
        if encoding != "naslib":
            raise ConfigError(f"nb101 writes arch ids as naslib, not {encoding!r}")
        cell = self.cell(arch_id)
        codes = {op: code for code, op in NASLIB_OP_CODES.items()}
        return str((*[bit for row in cell.matrix for bit in row],
                    *[codes[op] for op in cell.ops]))

    def read_arch_list(self, path: Path) -> list[str]:
        """Arch ids of an ``--arch-list`` file: one encoding per line, or one JSON list."""
        return [self.parse_arch(entry) for entry in read_arch_list_entries(Path(path))]

    def cell(self, arch_id: str) -> Cell:
        """The pruned cell of ``arch_id``, from this process's cache or the prepared table."""
        cell = self._cells.get(arch_id)
        if cell is not None:
            return cell
        structure = self._lookup_structure()
        adjacency = operations = None
        if structure is not None and arch_id in structure.index:
            adjacency = structure.at[arch_id, "adjacency"]
            operations = structure.at[arch_id, "operations"]
        if not (isinstance(adjacency, str) and isinstance(operations, str)):
            raise ConfigError(
                f"NB101 module hash {arch_id!r} is not in the prepared table (or the table has "
                f"no adjacency/operations for it); give the cell as JSON matrix + ops, or "
                f"{PREPARE_HINT}")
        cell = cell_from_strings(adjacency, operations)
        self._cells[arch_id] = cell
        return cell

    def _lookup_structure(self) -> pd.DataFrame | None:
        """adjacency/operations by arch id: the loaded table's, else read from the data dir."""
        if self._structure is None:
            import pyarrow.parquet as pq

            path = prepared_table_path(self._data_dir or resolve_data_dir(None), self.name)
            if path.exists() and {"adjacency", "operations"} <= set(pq.read_schema(path).names):
                # two columns only: a fraction of a second even for all 423,624 cells
                self._structure = pq.read_pandas(
                    path, columns=["adjacency", "operations"]).to_pandas()
        return self._structure

    def _remember(self, table: GroundTruthTable) -> None:
        columns = ["adjacency", "operations"]
        self._structure = table.frame[columns] if set(columns) <= set(table.frame.columns) \
            else None

    def mutate(self, arch_id: str, rng: random.Random) -> str:
        """A different valid cell, mutated as in the benchmark paper (``nb101_mutation``)."""
        child = mutate_cell(self.cell(arch_id), rng)
        module_hash = child.module_hash()
        self._cells[module_hash] = child
        return module_hash

    # -- models ----------------------------------------------------------------------------
    def build_model(self, arch_id: str, *, num_classes: int, stem_channels: int = 128,
                    batchnorm: bool = True, bn_momentum: float | None = None,
                    data_dir: str | Path | None = None,
                    taps: str = "stages") -> torch.nn.Module:
        """The benchmark network of ``arch_id`` (``NB101Network``'s init, CPU).

        ``stem_channels``: 128 as the benchmark trained (and zero-cost proxies use), 16 as
        GenNAS and NASWOT use. ``batchnorm=False``: every BN removed (synflow's variant).
        ``bn_momentum``: the BN running-statistics momentum, default the benchmark's 0.003
        (GenNAS's form: PyTorch's 0.1).
        ``taps``: what ``forward_taps`` returns, ``"stages"`` (the three stack outputs) or
        ``"blocks"`` (stem and every cell, AZ-NAS's form). ``data_dir``: where the prepared
        table that maps hashes to cells lives (a trial passes
        its run's, ``builds_from_data_dir``), so worker processes that never loaded the table
        find the cells of a ``--data-dir`` run.
        """
        if data_dir is not None and self._data_dir != Path(data_dir):
            self._data_dir, self._structure = Path(data_dir), None
        from harness.plugins.spaces.nb101.model import BN_MOMENTUM, NB101Network

        momentum = BN_MOMENTUM if bn_momentum is None else float(bn_momentum)
        return NB101Network(self.cell(arch_id), num_classes=num_classes,
                            stem_channels=int(stem_channels), batchnorm=bool(batchnorm),
                            bn_momentum=momentum, taps=taps)

    def builder_options(self, width: int | None, cells: int | None) -> dict[str, int]:
        """Map a generic width to ``stem_channels``; the cell count is fixed (3 x 3 cells)."""
        if cells is not None:
            raise ConfigError("the NB101 network always has 3 stacks of 3 cells; drop --cells")
        return {} if width is None else {"stem_channels": width}

    def forward_taps(self, model: torch.nn.Module, inputs: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of the three stacks (C at 32x32, 2C at 16x16, 4C at 8x8 for CIFAR inputs),
        or of the stem and every cell for a model built with ``taps="blocks"``."""
        from harness.plugins.spaces.nb101.model import NB101Network

        if not isinstance(model, NB101Network):
            raise ConfigError(f"forward_taps needs a model built by the nb101 space, got "
                              f"{type(model).__name__}")
        return model.forward_taps(inputs)

    # -- ground truth ----------------------------------------------------------------------
    def ground_truth(self, data_dir: Path) -> GroundTruthTable:
        path = prepared_table_path(data_dir, self.name)
        if not path.exists():
            raise DataNotPreparedError(f"no NB101 ground truth at {path}; {PREPARE_HINT}")
        table = GroundTruthTable.load(path)
        self._data_dir = Path(data_dir)
        self._remember(table)
        return table

    def prepare(self, source: Path, data_dir: Path, **options: Any) -> Path:
        """Convert an official file or a user table (``harness.plugins.spaces.nb101.prepare``)."""
        from harness.plugins.spaces.nb101.prepare import prepare

        path = prepare(Path(source), Path(data_dir), **options)
        self._data_dir, self._structure = Path(data_dir), None  # next lookup reads the new table
        return path
