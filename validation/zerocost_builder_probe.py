"""Builder probe for the zero-cost validation: fisher and l2_norm on the first zc chunk with the
NB-201 ``zerocost`` builder (the reference's: conv bias, non-affine cell BN, all candidate ops)
and the ``official`` one, each against the NAS-Bench-Suite-Zero file's value.

    python validation/zerocost_builder_probe.py WORK_DIR   (after validate_zerocost.sh archs)
"""

import sys
from pathlib import Path

import pandas as pd
import torch
from scipy.stats import spearmanr

from harness.plugins.datasets.folder import IMAGES
from harness.plugins.scorers.fisher import Fisher
from harness.plugins.scorers.l2_norm import L2Norm
from harness.plugins.spaces.nb201.space import NB201Space
from harness.protocols import ScoringContext

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
WORK = Path(sys.argv[1])


def context(space, arch_id, batch, variant):
    def build(**options):
        torch.manual_seed(0)
        options.setdefault("num_classes", 10)
        return space.build_model(arch_id, **{"variant": variant, **options}).train()

    return ScoringContext(space, arch_id, "cifar10", 10, (3, 32, 32), batch, {},
                          torch.device("cpu"), 0, torch.Generator(), build,
                          builder_options={"variant": variant})


def main() -> None:
    torch.set_num_threads(1)
    space = NB201Space()
    archs = (WORK / "archs" / "zc_000.txt").read_text().split()
    zc = pd.read_csv(SHARED / "zc" / "naslib_zc_nasbench201.csv")
    zc = zc[zc["dataset"] == "cifar10"].set_index("arch_str")
    batch = IMAGES.batch(20, 0, path=SHARED / "images" / "cifar10" / "cifar10_foolbox20.npz",
                         like="cifar10", augment=True, normalization="zerocost")
    rows = []
    for arch_id in archs:
        row = {"arch_str": arch_id}
        for variant in ("zerocost", "official"):
            for scorer in (Fisher(), L2Norm()):
                row[f"{scorer.name}/{variant}"] = scorer.score(
                    context(space, arch_id, batch, variant))
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("arch_str").join(zc)
    for column in [c for c in frame.columns if "/" in c]:
        name = column.split("/")[0]
        print(f"{column:20s} rho vs file {spearmanr(frame[column], frame[name]).statistic:6.3f}"
              f"  vs val_accuracy {spearmanr(frame[column], frame['val_accuracy']).statistic:6.3f}")


if __name__ == "__main__":
    main()
