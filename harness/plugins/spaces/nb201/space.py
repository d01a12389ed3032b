"""The ``nb201`` space: NAS-Bench-201 / NATS-Bench topology cells.

Benchmarks: Dong & Yang, NAS-Bench-201, ICLR 2020 (github.com/D-X-Y/NAS-Bench-201); Dong et al.,
NATS-Bench, TPAMI 2021 (github.com/D-X-Y/NATS-Bench).

Arch id: the official arch string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``. ``parse_arch``
also accepts

- a benchmark index (``123``, ``"123"`` or ``"index:123"``): the position in the official
  ``meta_archs`` list. That list is a fixed shuffle, not any generated order, so the look-up
  reads the ``index`` column of the prepared table (``harness data prepare nb201 ...``) under
  the data dir; without one an index is an error that says so;
- GenNAS nested op codes ``[[3], [3, 3], [1, 3, 2]]`` (or ``"gennas:[[3],[3,3],[1,3,2]]"``);
- NASLib op-index tuples ``(2, 2, 3, 2, 3, 1)`` (or ``"naslib:(2,2,3,2,3,1)"``): NASLib's op
  and edge order (``nb201_arch``). A flat *list* of six codes is ambiguous and rejected.

Datasets: ``cifar10-valid`` (CIFAR-10 train half, the GenNAS default), ``cifar10``,
``cifar100``, ``imagenet16-120`` from the benchmark, and ``digits`` for tables built with
``harness data build nb201 --dataset digits``; each maps to the dataset plugin that supplies its
input images.

Bundled ground truth: the package ships the benchmark's accuracies for all 15,625 cells
(``data/nb201_bundled.parquet``, built by ``scripts/build_bundled_data.py``; see
``data/DATA_NOTICE.md``), used when nothing is prepared under the data dir.
"""

from __future__ import annotations

import ast
import random
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.datadir import resolve_data_dir
from harness.download import OfficialDownload
from harness.errors import BenchmarkFileError, ConfigError, DataNotPreparedError
from harness.groundtruth.table import GroundTruthTable, prepared_table_path
from harness.plugins.spaces.nb201 import arch

if TYPE_CHECKING:  # torch is imported where a model is built, so listing spaces stays fast
    import torch

BUNDLED_TABLE = "nb201_bundled.parquet"


# `harness data fetch nb201`: every official file sits behind a Google Drive page that needs a
# browser, so the fetch prints these steps. URLs: D-X-Y/NATS-Bench README.md (the table of
# benchmark files, 2020.08.31) and D-X-Y/NAS-Bench-201 README.md ("Preparation and Download",
# which states the .pth sizes; the NATS README states none). No full checksum is published
# (the name's digits are the last ones of the file's MD5).
DRIVE_STEPS = ("open the page in a browser, press Download (Google Drive warns that it cannot "
               "scan a file this big; download anyway)")
NATS_README = "D-X-Y/NATS-Bench README.md"
NB201_README = "D-X-Y/NAS-Bench-201 README.md"
OFFICIAL_DOWNLOADS = (
    OfficialDownload(
        url="https://drive.google.com/file/d/1vzyK0UVH2D3fTpa1_dSWnp1gvGpAxRul/view?usp=sharing",
        file_name="NATS-tss-v1_0-3ffb9.pickle.pbz2", citation=NATS_README,
        browser_steps=DRIVE_STEPS, description="NATS-Bench topology space, one file"),
    OfficialDownload(
        url="https://drive.google.com/file/d/17_saCsj_krKjlCBLOJEpNtzPXArMCqxU/view?usp=sharing",
        file_name="NATS-tss-v1_0-3ffb9-simple.tar", citation=NATS_README,
        browser_steps=DRIVE_STEPS + ", then unpack it with `tar xf NATS-tss-v1_0-3ffb9-simple"
                                    ".tar`",
        prepare_source="NATS-tss-v1_0-3ffb9-simple",
        description="NATS-Bench topology space, one file per arch"),
    OfficialDownload(
        url="https://drive.google.com/open?id=16Y0UwGisiouVRxW-W5hEtbxmcHw_0hF_",
        file_name="NAS-Bench-201-v1_1-096897.pth", citation=NB201_README, size="4.7G",
        browser_steps=DRIVE_STEPS, description="NAS-Bench-201 v1.1"),
    OfficialDownload(
        url="https://drive.google.com/open?id=1SKW0Cu0u8-gb18zDpaAGi0f74UdXeGKs",
        file_name="NAS-Bench-201-v1_0-e61699.pth", citation=NB201_README, size="2.2G",
        browser_steps=DRIVE_STEPS, description="NAS-Bench-201 v1.0"),
)

class NB201Space:
    """NAS-Bench-201 cells: encodings, the benchmark network, ground truth, mutation."""

    name = "nb201"
    datasets = {"cifar10-valid": "cifar10", "cifar10": "cifar10", "cifar100": "cifar100",
                "imagenet16-120": "imagenet16-120", "digits": "digits"}
    # Network forms (harness.protocols.NetworkFormSpace): the zero-cost proxies' and GenNAS's
    # reference builder (all candidate ops, conv bias, non-affine BN); NASWOT scores the
    # benchmark's network; AZ-NAS taps the benchmark network after the stem and every block.
    network_forms = {"zerocost": {"variant": "zerocost"}, "gennas": {"variant": "gennas"},
                     "naswot": {}, "az_nas": {"taps": "blocks"}}
    # `harness data prepare nb201` options, as `data prepare --help` lists them.
    prepare_options = {
        "--columns NEW=OLD,...": "user tables (.csv, .tsv, .parquet): map harness columns (arch "
                                 "or index, then metrics named DATASET/WHAT, e.g. "
                                 "cifar10-valid/x-valid) to the file's columns",
        "--allow-missing": "NATS-tss-v1_0-3ffb9-simple folder: table the archs present instead "
                           "of refusing a folder with per-arch files missing",
    }

    def __init__(self) -> None:
        self._index_maps: dict[tuple[Path, float], tuple[list[str | None], dict[str, int]]] = {}

    def official_downloads(self) -> list[OfficialDownload]:
        """The files `harness data fetch nb201` can download, the default first."""
        return list(OFFICIAL_DOWNLOADS)

    # -- architecture ids ----------------------------------------------------------------
    def parse_arch(self, text: Any, *, data_dir: Path | None = None) -> str:
        """The arch string for any accepted encoding (see the module docstring)."""
        if isinstance(text, bool):
            raise ConfigError(f"{text!r} is not an NB201 architecture")
        if isinstance(text, int):
            return self.arch_at_index(text, data_dir)
        if isinstance(text, tuple):
            return arch.ops_to_str(arch.naslib_to_ops(text))
        if isinstance(text, list):
            return self._parse_list(text, str(text))
        if not isinstance(text, str):
            raise ConfigError(f"cannot read an NB201 architecture from {type(text).__name__} "
                              f"{text!r}")
        stripped = text.strip()
        prefix, sep, rest = stripped.partition(":")
        if sep and prefix in ("index", "naslib", "gennas"):
            value = rest.strip()
            if prefix == "index":
                if not value.isdigit():
                    raise ConfigError(f"{text!r}: the benchmark index must be an integer")
                return self.arch_at_index(int(value), data_dir)
            parsed = self._literal(value, text)
            if not isinstance(parsed, list | tuple):
                raise ConfigError(f"{text!r}: expected a list or tuple of op codes after "
                                  f"'{prefix}:'")
            if prefix == "naslib":
                return arch.ops_to_str(arch.naslib_to_ops(tuple(parsed)))
            return arch.ops_to_str(arch.gennas_to_ops(parsed))
        if stripped.isdigit():
            return self.arch_at_index(int(stripped), data_dir)
        if stripped.startswith("|"):
            return arch.ops_to_str(arch.str_to_ops(stripped))
        if stripped.startswith(("(", "[")):
            parsed = self._literal(stripped, text)
            if isinstance(parsed, tuple):
                return arch.ops_to_str(arch.naslib_to_ops(parsed))
            return self._parse_list(parsed, text)
        raise ConfigError(f"{text!r} is not an NB201 architecture: expected an arch string "
                          f"(|op~0|+|op~0|op~1|+|op~0|op~1|op~2|), a benchmark index, GenNAS "
                          f"nested lists [[a],[b,c],[d,e,f]] or a NASLib tuple (a,b,c,d,e,f)")

    @staticmethod
    def _literal(value: str, text: str) -> Any:
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError) as exc:
            raise ConfigError(f"{text!r} is not a valid list or tuple of op codes") from exc

    @staticmethod
    def _parse_list(value: Any, text: str) -> str:
        if isinstance(value, list) and value and all(isinstance(node, list) for node in value):
            return arch.ops_to_str(arch.gennas_to_ops(value))
        raise ConfigError(f"{text!r}: a flat list of op codes is ambiguous (canonical or NASLib "
                          f"order?); write GenNAS nested lists [[e01],[e02,e12],[e03,e13,e23]] "
                          f"or a NASLib tuple prefixed with 'naslib:'")

    def _index_map(self, data_dir: Path | None) -> tuple[list[str | None], dict[str, int]]:
        """(index -> arch, arch -> index) from the prepared table, else the bundled one, cached
        per file version."""
        path = prepared_table_path(resolve_data_dir(data_dir), self.name)
        if not path.exists():
            path = self._bundled_path()
        if not path.exists():
            raise DataNotPreparedError(
                f"NB201 benchmark indices follow the official meta_archs order, which only the "
                f"prepared table knows; run `harness data prepare nb201 --source PATH` "
                f"(no table at {path}), or give the arch string instead")
        key = (path, path.stat().st_mtime)
        if key not in self._index_maps:
            import pyarrow.parquet as pq

            columns = pq.read_schema(path).names
            if "index" not in columns:
                raise DataNotPreparedError(f"the prepared table {path} has no benchmark 'index' "
                                           f"column (it was imported without one); give arch "
                                           f"strings instead of indices")
            columns_read = pq.read_table(path, columns=["arch_id", "index"])
            by_index: list[str | None] = [None] * arch.NUM_ARCHS
            for arch_id, index in zip(columns_read.column("arch_id").to_pylist(),
                                      columns_read.column("index").to_pylist(), strict=True):
                by_index[int(index)] = str(arch_id)
            by_arch = {arch_id: i for i, arch_id in enumerate(by_index) if arch_id is not None}
            self._index_maps = {key: (by_index, by_arch)}
        return self._index_maps[key]

    def arch_at_index(self, index: int, data_dir: Path | None = None) -> str:
        """The arch string at benchmark index ``index`` (needs a prepared table)."""
        if not 0 <= index < arch.NUM_ARCHS:
            raise ConfigError(f"NB201 index {index} is out of range 0..{arch.NUM_ARCHS - 1}")
        found = self._index_map(data_dir)[0][index]
        if found is None:
            raise DataNotPreparedError(f"the prepared nb201 table has no row for index {index}")
        return found

    def benchmark_index(self, arch_id: str, data_dir: Path | None = None) -> int:
        """The official index of ``arch_id`` (needs a prepared table)."""
        arch_id = arch.ops_to_str(arch.str_to_ops(arch_id))
        found = self._index_map(data_dir)[1].get(arch_id)
        if found is None:
            raise DataNotPreparedError(f"the prepared nb201 table has no index for {arch_id}")
        return found

    def format_arch(self, arch_id: str, encoding: str) -> str:
        """``arch_id`` as ``"naslib"`` (NASLib's op-index tuple, its op and edge order, e.g.
        ``(0, 2, 3, 2, 3, 1)``: the key of its zero-cost files) or ``"gennas"`` (nested op
        codes); ``parse_arch`` reads either back with its prefix."""
        ops = arch.str_to_ops(arch_id)
        if encoding == "naslib":
            return str(arch.ops_to_naslib(ops))
        if encoding == "gennas":
            return str(arch.ops_to_gennas(ops))
        raise ConfigError(f"nb201 writes arch ids as naslib or gennas, not {encoding!r}")

    def archs(self) -> list[str]:
        """All 15,625 arch strings, in op-code product order (not the benchmark order)."""
        return [arch.ops_to_str(ops) for ops in arch.all_ops()]

    def sample_archs(self, n: int, rng: random.Random) -> list[str]:
        """``n`` distinct arch strings drawn with ``rng``."""
        return rng.sample(self.archs(), n)

    def canonical_form(self, arch_id: str) -> str:
        """Isomorphism-invariant form for de-duplication (``nb201_arch.canonical_form``)."""
        return arch.canonical_form(arch.str_to_ops(arch_id))

    def duplicates(self, arch_ids: Iterable[str]) -> dict[str, list[str]]:
        """Groups of archs that compute the same cell; report them, never drop them."""
        return arch.duplicate_groups(arch_ids)

    def encode_arch(self, arch_id: str) -> list[float]:
        """One-hot op of each of the 6 edges (30 numbers): ``harness predict``'s arch features
        (the one-hot encoding of NAS-Bench-Suite-Zero and GRAF)."""
        ops = arch.str_to_ops(arch_id)
        return [float(op == choice) for op in ops for choice in range(len(arch.OPS))]

    # -- evolution -----------------------------------------------------------------------
    def mutate(self, arch_id: str, rng: random.Random) -> str:
        """Change each of the 6 edges with probability 1/6 (at least one changes)."""
        return arch.ops_to_str(arch.mutate_ops(arch.str_to_ops(arch_id), rng))

    def neighbours(self, arch_id: str) -> list[str]:
        """The 24 archs one edge away."""
        return [arch.ops_to_str(ops) for ops in arch.neighbour_ops(arch.str_to_ops(arch_id))]

    # -- models --------------------------------------------------------------------------
    def build_model(self, arch_id: str, *, num_classes: int, C: int = 16, N: int = 5,
                    batchnorm: bool = True, variant: str = "official",
                    in_channels: int = 3, taps: str = "stages") -> torch.nn.Module:
        """The NB201 network (``nb201_model``); framework-default init, CPU.

        ``C``: stem width (16 in the benchmark), ``N``: cells per stage (5), ``batchnorm=False``:
        synflow's BN-free copy (reduction blocks keep BN), ``variant``: ``"official"`` (the
        benchmark's network, its params match the benchmark) or ``"zerocost"``/``"gennas"``
        (the zero-cost/GenNAS reference builder: all candidate ops, conv bias, non-affine BN
        without running stats), ``taps``: what ``forward_taps`` returns, ``"stages"`` (the
        three stage outputs) or ``"blocks"`` (stem and every block, AZ-NAS's form). ``forward``
        returns logits.
        """
        from harness.plugins.spaces.nb201.model import NB201Network

        return NB201Network(arch.str_to_ops(arch_id), num_classes=num_classes, channels=C,
                            cells_per_stage=N, batchnorm=batchnorm, variant=variant,
                            in_channels=in_channels, taps=taps)

    def count_parameters(self, arch_id: str, *, num_classes: int, C: int = 16, N: int = 5,
                         batchnorm: bool = True, variant: str = "official",
                         in_channels: int = 3, taps: str = "stages",
                         **other: Any) -> int | None:
        """The parameter count of ``build_model`` with these options, without building it
        (``counting.py``); None for an option the builder does not take or rejects."""
        from harness.plugins.spaces.nb201.counting import parameter_count

        if other:
            return None
        return parameter_count(arch_id, num_classes, C, N, batchnorm, variant, in_channels)

    def count_macs(self, arch_id: str, input_shape: tuple[int, int, int], *, num_classes: int,
                   C: int = 16, N: int = 5, batchnorm: bool = True, variant: str = "official",
                   in_channels: int = 3, taps: str = "stages",
                   **other: Any) -> int | None:
        """Conv2d/Linear multiply-accumulates of one forward pass of ``build_model`` with these
        options (BN does not change them), without building it; None where the count does not
        apply (see ``counting.py``)."""
        from harness.plugins.spaces.nb201.counting import multiply_accumulates

        if other:
            return None
        return multiply_accumulates(arch_id, tuple(input_shape), num_classes, C, N, variant,
                                    in_channels)

    def forward_taps(self, model: torch.nn.Module, inputs: torch.Tensor) -> list[torch.Tensor]:
        """The outputs of the three stages (C at full size, 2C at 1/2, 4C at 1/4)."""
        from harness.plugins.spaces.nb201.model import NB201Network

        if not isinstance(model, NB201Network):
            raise ConfigError(f"forward_taps needs a model built by the nb201 space, got "
                              f"{type(model).__name__}")
        return model.forward_taps(inputs)

    def skip_dead_paths(self, model: torch.nn.Module) -> None:
        """Every cell of ``model`` runs only its live edges (``Cell.skip_dead_paths``)."""
        from harness.plugins.spaces.nb201.model import Cell

        for module in model.modules():
            if isinstance(module, Cell):
                module.skip_dead_paths()

    def builder_options(self, width: int | None, cells: int | None) -> dict[str, int]:
        """Map the generic width/depth of ``harness data build`` to this builder's options."""
        options = {}
        if width is not None:
            options["C"] = width
        if cells is not None:
            options["N"] = cells
        return options

    # -- ground truth --------------------------------------------------------------------
    def ground_truth(self, data_dir: Path) -> GroundTruthTable:
        path = prepared_table_path(data_dir, self.name)
        if not path.exists():
            raise DataNotPreparedError(
                f"no NB201 ground truth at {path}; run `harness data prepare nb201 --source "
                f"PATH` with NATS-tss-v1_0-3ffb9.pickle.pbz2, the NATS-tss-v1_0-3ffb9-simple/ "
                f"folder, NAS-Bench-201-v1_[01]-*.pth or a CSV table")
        return GroundTruthTable.load(path)

    def prepare(self, source: Path, data_dir: Path, **options: Any) -> Path:
        """Convert an official file or a user table into the prepared table."""
        from harness.plugins.spaces.nb201.prepare import prepare

        return prepare(Path(source), Path(data_dir), **options)

    def bundled_ground_truth(self) -> GroundTruthTable | None:
        """The NAS-Bench-201 ground truth shipped in the package (all cells, 200-epoch means)."""
        path = self._bundled_path()
        if not path.is_file():
            return None
        try:
            return GroundTruthTable.load(path)
        except BenchmarkFileError as exc:
            raise BenchmarkFileError(f"the bundled NB-201 table is damaged: {exc}; "
                                     f"reinstall nas-harness") from exc

    @staticmethod
    def _bundled_path() -> Path:
        """Where the package keeps its table (a plain file: the package installs unzipped)."""
        return Path(str(resources.files("harness.plugins.spaces.nb201") / "data" / BUNDLED_TABLE))
