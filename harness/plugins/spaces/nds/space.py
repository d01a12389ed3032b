"""One NDS space (``nds-darts``, ``nds-resnext-a``, ...): the records of its official sweeps.

Benchmark: Radosavovic et al., "On Network Design Spaces for Visual Recognition", ICCV 2019
(github.com/facebookresearch/nds). NDS sweeps are samples of a design space, not enumerations,
so the space's archs are the records of its prepared sweeps (``harness data prepare nds
--source data.zip``; ``prepare.py`` says which columns the table holds).

Arch id: ``<prefix>-<position>-<hash>`` (``in-17-3fa2c1d0``: ImageNet record 17 of the file,
the first 8 hex digits of the sha256 of its canonical ``net`` JSON). ``parse_arch`` also takes
the raw ``net`` JSON (a dict or its text): the first prepared record with that net (primary
sweeps first; the reruns files hold one net many times).

Trial datasets: ``cifar10`` and ``imagenet`` (the sweep's dataset picks its records), plus
``imagenet-lr-wd``, ``cifar10-reruns``, ... for the extra sweeps (``sweeps.py``). Every one
feeds the networks 32x32 CIFAR-10 images, as the GenNAS and NASWOT references do.

Builder variants (``build_model(variant=...)``): ``nds`` (default; the network the record
trained, whose trainable-parameter count equals the record's ``params``), ``gennas`` (GenNAS's
stride-1 ImageNet stems; AnyNet rewrites) and ``naswot`` (NASWOT's AnyNet with the
``res_stem_in`` stem; the cell networks unchanged). See ``cells.py`` and ``anynet.py``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.datadir import resolve_data_dir
from harness.download import OfficialDownload
from harness.errors import ConfigError, DataNotPreparedError
from harness.groundtruth.table import GroundTruthTable, prepared_table_path
from harness.plugins.spaces.nds.sweeps import ANYNET_SPACES, datasets_of

if TYPE_CHECKING:  # torch is imported where a model is built, so listing spaces stays fast
    import torch

VARIANTS = ("nds", "gennas", "naswot")
INITS = ("torch", "pycls")
# The side NASWOT's official code scored the NDS ImageNet sweeps at (Imagenette, resized to 256
# and centre-cropped to 224: BayesWatch/nas-without-training scorehook.sh and
# datasets/get_dataset_with_transform.py).
NASWOT_IMAGENET_SIDE = 224


# `harness data fetch nds` (every NDS space shares the one file): the URL of
# facebookresearch/nds README.md ("Getting Started"), which gives neither size nor checksum
# (the SHA-256 of the first download is recorded and checked on later ones).
OFFICIAL_DOWNLOADS = (
    OfficialDownload(
        url="https://dl.fbaipublicfiles.com/nds/data.zip", file_name="data.zip",
        citation="facebookresearch/nds README.md",
        description="every NDS sweep file (one JSON per sweep)"),
)

class NDSSpace:
    """The records of one NDS design space: ids, networks, ground truth, mutation."""

    builds_from_data_dir = True  # arch ids name records of the prepared table

    def __init__(self, name: str) -> None:
        self.name = name
        self.datasets = {dataset: "cifar10" for dataset in datasets_of(name)}
        self.anynet = name in ANYNET_SPACES
        # Network forms (harness.protocols.NetworkFormSpace), as the builder variants above:
        # NASWOT's differs from the trained network only in the AnyNet spaces, where it also
        # reads the ImageNet records' inputs at NASWOT's 224x224 (anynet.py). GenNAS's AnyNet
        # keeps the weights pycls's AnyNet draws for itself, as GenNAS's code does (with it,
        # synflow on this form matches the appendix on ResNeXt-A/B: docs/nds.md). AZ-NAS taps
        # the trained network after the stem and every cell or block.
        gennas = {"variant": "gennas", "init": "pycls"} if self.anynet else {"variant": "gennas"}
        self.network_forms: dict[str, dict[str, Any]] = {
            "zerocost": {}, "gennas": gennas, "az_nas": {"taps": "blocks"},
            "naswot": {"variant": "naswot", "imagenet_input_side": NASWOT_IMAGENET_SIDE}
            if self.anynet else {}}
        self._records: dict[tuple[Path, float], Any] = {}
        # The data dir this process last read ground truth from: mutation (searchers) and
        # builders called without one look there before the default data dir.
        self._data_dir: Path | None = None

    def official_downloads(self) -> list[OfficialDownload]:
        """The files `harness data fetch nds` can download, the default first."""
        return list(OFFICIAL_DOWNLOADS)

    # -- records ---------------------------------------------------------------------------
    def _frame(self, data_dir: Path | None) -> Any:
        """The prepared table's frame (cached per file version)."""
        path = prepared_table_path(resolve_data_dir(data_dir or self._data_dir), self.name)
        if not path.exists():
            raise DataNotPreparedError(
                f"no {self.name} ground truth at {path}; run `harness data prepare nds "
                f"--source PATH` with the official NDS data.zip, its folder or a sweep file "
                f"(pass --data-dir to name another data folder)")
        key = (path, path.stat().st_mtime)
        if key not in self._records:
            self._records = {key: GroundTruthTable.load(path).frame}
        return self._records[key]

    def net(self, arch_id: str, data_dir: Path | None = None) -> dict[str, Any]:
        """The record's ``net`` dict."""
        frame = self._frame(data_dir)
        if arch_id not in frame.index:
            raise ConfigError(f"{arch_id!r} is not a record of the prepared {self.name} table")
        return json.loads(frame.at[arch_id, "net"])

    # -- architecture ids ------------------------------------------------------------------
    def parse_arch(self, text: Any, *, data_dir: Path | None = None) -> str:
        """The arch id of an id or a raw ``net`` JSON (module docstring)."""
        if isinstance(text, dict):
            return self._id_of_net(text, data_dir)
        if not isinstance(text, str):
            raise ConfigError(f"cannot read an {self.name} architecture from "
                              f"{type(text).__name__} {text!r}")
        stripped = text.strip()
        if stripped.startswith("{"):
            try:
                return self._id_of_net(json.loads(stripped), data_dir)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{text[:80]!r} is not valid net JSON ({exc.msg})") from exc
        frame = self._frame(data_dir)
        if stripped not in frame.index:
            raise ConfigError(f"{stripped!r} is not an {self.name} arch id: expected "
                              f"<in|c10>-<position>-<hash> of a prepared record, e.g. "
                              f"{frame.index[0]}, or the record's net JSON")
        return stripped

    def _id_of_net(self, net: Any, data_dir: Path | None) -> str:
        from harness.plugins.spaces.nds.reader import canonical_net_json

        frame = self._frame(data_dir)
        found = frame.index[frame["net"] == canonical_net_json(net)]
        if not len(found):
            raise ConfigError(f"no prepared {self.name} record has this net: {net!r:.120}")
        return str(found[0])

    # -- evolution -------------------------------------------------------------------------
    def mutate(self, arch_id: str, rng: random.Random) -> str:
        """A nearest other record of the same sweep (``mutation.py``)."""
        from harness.plugins.spaces.nds.mutation import nearest_record

        return nearest_record(self._frame(None), arch_id, rng, anynet=self.anynet)

    # -- models ----------------------------------------------------------------------------
    def build_model(self, arch_id: str, *, num_classes: int, variant: str = "nds",
                    data_dir: Path | None = None, imagenet_input_side: int | None = None,
                    taps: str = "stages", init: str = "torch") -> torch.nn.Module:
        """The record's network (on the CPU); ``forward`` returns logits.

        ``variant``: ``nds`` (the trained network), ``gennas`` or ``naswot`` (module
        docstring). ``data_dir``: where the prepared table is (default: the data dir).
        ``imagenet_input_side``: an AnyNet network of an ImageNet record resizes its inputs to
        this side first (the ``naswot`` form: 224, as NASWOT scored them); None keeps them.
        ``taps``: what ``forward_taps`` returns, ``"stages"`` (GenNAS's three maps) or
        ``"blocks"`` (stem and every cell or block, AZ-NAS's form). ``init``: ``torch``
        (torch's own layer initialization) or, for an AnyNet space, ``pycls`` (the one pycls's
        AnyNet gives itself, ``anynet.pycls_init``).
        """
        if init not in INITS:
            raise ConfigError(f"unknown {self.name} init {init!r}; known: {', '.join(INITS)}")
        if init == "pycls" and not self.anynet:
            raise ConfigError(f"init='pycls' is pycls's AnyNet initialization; {self.name} is a "
                              f"cell space (pycls's cell networks keep torch's), so leave "
                              f"init out for it")
        if variant not in VARIANTS:
            raise ConfigError(f"unknown {self.name} builder variant {variant!r}; known: "
                              f"{', '.join(VARIANTS)}")
        net = self.net(arch_id, data_dir)
        imagenet = self.record_dataset(arch_id) == "imagenet"
        model = build_network(net, num_classes=num_classes, variant=variant, imagenet=imagenet,
                              input_side=imagenet_input_side if imagenet else None, taps=taps)
        if init == "pycls":
            from harness.plugins.spaces.nds.anynet import pycls_init

            pycls_init(model)
        model.nds_variant = variant
        return model

    @staticmethod
    def record_dataset(arch_id: str) -> str:
        """``imagenet`` or ``cifar10``: the dataset the record's network was built for."""
        return "imagenet" if arch_id.startswith("in-") else "cifar10"

    def forward_taps(self, model: torch.nn.Module, inputs: torch.Tensor) -> list[torch.Tensor]:
        """Three feature maps, shallow first (GenNAS taps, spec §1.6), of a ``gennas``-variant
        model: the others put them at other resolutions (the ImageNet stems at 4x4 and below),
        so they are refused rather than scored as if they were GenNAS's. A model built with
        ``taps="blocks"`` (any variant) gives its stem's and every cell's or block's output."""
        from harness.plugins.spaces.nds.anynet import AnyNet
        from harness.plugins.spaces.nds.cells import CellNetwork

        if not isinstance(model, CellNetwork | AnyNet):
            raise ConfigError(f"forward_taps needs a model built by the {self.name} space, got "
                              f"{type(model).__name__}")
        if model.taps == "stages" and getattr(model, "nds_variant", "gennas") != "gennas":
            raise ConfigError(
                f"GenNAS taps need GenNAS's {self.name} network (variant 'gennas'), this one is "
                f"{model.nds_variant!r}; score it with the 'gennas' network form "
                f"(--option SCORER.network=gennas)")
        return model.forward_taps(inputs)

    # -- ground truth ----------------------------------------------------------------------
    def ground_truth(self, data_dir: Path) -> GroundTruthTable:
        self._data_dir = Path(data_dir)
        path = prepared_table_path(data_dir, self.name)
        if not path.exists():
            raise DataNotPreparedError(
                f"no {self.name} ground truth at {path}; run `harness data prepare nds "
                f"--source PATH` with the official NDS data.zip, its folder or a sweep file")
        return GroundTruthTable.load(path)

    def prepare(self, source: Path, data_dir: Path, **options: Any) -> Path:
        """Read this space's sweeps from ``source`` (zip, folder or file) into its table."""
        from harness.plugins.spaces.nds.prepare import prepare

        if options:
            raise ConfigError(f"{self.name} prepare takes no options, got "
                              f"{', '.join(sorted(options))}")
        return prepare(Path(source), Path(data_dir), self.name)


def build_network(net: dict[str, Any], *, num_classes: int, variant: str,
                  imagenet: bool, input_side: int | None = None,
                  taps: str = "stages") -> torch.nn.Module:
    """A cell network for a ``genotype`` net, else an AnyNet (reading its inputs at
    ``input_side`` when given), with ``taps`` as ``forward_taps``' maps; a net that
    ``check_net`` refuses (one of a table prepared before that check) is a ``ConfigError``."""
    from harness.plugins.spaces.nds.netspec import check_net

    problem = check_net(net)
    if problem:
        raise ConfigError(f"malformed NDS net: {problem}; prepare the NDS ground truth again")
    if "genotype" in net:
        from harness.plugins.spaces.nds.cells import CellNetwork

        return CellNetwork(net["genotype"], net["width"], net["depth"], num_classes,
                           imagenet=imagenet, gennas_stem=variant == "gennas", taps=taps)
    from dataclasses import replace

    from harness.plugins.spaces.nds.anynet import AnyNet, anynet_config

    return AnyNet(replace(anynet_config(net, variant), input_side=input_side), num_classes,
                  taps=taps)
