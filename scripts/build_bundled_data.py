"""Build the real data the package ships, so that `harness compare` works offline out of the box.

Writes

- ``harness/plugins/spaces/nb201/data/nb201_bundled.parquet``: the NAS-Bench-201 ground truth of
  all 15,625 cells in the prepared-table format (200-epoch accuracies, mean over the benchmark's
  seeds: cifar10-valid x-valid and ori-test, cifar10 ori-test, cifar100 x-valid and x-test,
  ImageNet16-120 x-valid and x-test; parameters in millions), read from a merged CSV export of
  the official benchmark numbers through the same importer as ``harness data prepare``;
- ``harness/plugins/datasets/data/{cifar10,cifar100}_sample20.npz``: 20 real CIFAR-10 and 20
  real CIFAR-100 test images (``x`` uint8 (20, 32, 32, 3), ``y`` int64) that stand in for a
  dataset that is not prepared under the data dir;
- ``harness/plugins/spaces/nbnlp/data/wikitext2_sample.txt``: the first paragraphs (about
  6,000 words) of the tokenized WikiText-2 validation split, unchanged, from which the NB-NLP
  token datasets cut their batches when no corpus is in the data dir. WikiText-2 (Merity et al.,
  2016) is CC BY-SA 3.0: the excerpt keeps that licence, stated in the folder's DATA_NOTICE.md.

Both carry their provenance (source file names and sha256, licences) in the table's source
record and in ``harness/plugins/DATA_NOTICE.md``. Run from the repository root:

    python scripts/build_bundled_data.py --shared ../shared/data

The sources are not part of the repository: the NB-201 numbers come from NAS-Bench-201 (Dong &
Yang, ICLR 2020) and NATS-Bench (Dong et al., TPAMI 2021), MIT licensed; the images come from the
sample data of the foolbox package (MIT), which holds the first 20 CIFAR test images; the text
from the WikiText-2 files of pytorch/examples (word_language_model/data/wikitext-2).
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np

from harness.plugins.spaces.nb201.prepare import read_source

REPO = Path(__file__).resolve().parents[1]
TABLE_OUT = REPO / "harness/plugins/spaces/nb201/data/nb201_bundled.parquet"
IMAGES_OUT = REPO / "harness/plugins/datasets/data"

# harness metric <- column of nb201_all_15625.csv. cifar10/ori-test is taken from NATS-tss v1_0
# (the CSV also has the NB-201 v1_1 file's value, which differs for 2,416 cells by <= 2.2
# points); params are the CIFAR-10 network's.
NB201_COLUMNS = {
    "cifar10-valid/x-valid": "cifar10_valid_xvalid_mean",
    "cifar10-valid/ori-test": "cifar10_valid_oritest_mean",
    "cifar10/ori-test": "cifar10_test_mean_natstss",
    "cifar100/x-valid": "cifar100_xvalid_mean",
    "cifar100/x-test": "cifar100_xtest_mean_natstss",
    "imagenet16-120/x-valid": "imagenet16_120_xvalid_mean",
    "imagenet16-120/x-test": "imagenet16_120_xtest_mean_natstss",
    "params_m/cifar10": "params_mb_cifar10",
}
NB201_NOTICE = (
    "NAS-Bench-201 / NATS-Bench topology search space ground truth (Dong & Yang, ICLR 2020; "
    "Dong et al., TPAMI 2021; MIT licence, github.com/D-X-Y/NAS-Bench-201 and "
    "github.com/D-X-Y/NATS-Bench): 200-epoch accuracies, mean over the benchmark's seeds, "
    "cifar10/ori-test from NATS-tss-v1_0-3ffb9. Bundled with nas-harness; a table prepared "
    "from the official files with `harness data prepare nb201` takes precedence.")
TEXT_SOURCE = "nbnlp/wikitext-2/valid.txt"
TEXT_OUT = REPO / "harness/plugins/spaces/nbnlp/data/wikitext2_sample.txt"
TEXT_WORDS = 6_000  # enough windows for a batch of 128 x 36 words; a small share of the split
IMAGE_SOURCES = {"cifar10": "images/cifar10/cifar10_foolbox20.npz",
                 "cifar100": "images/cifar100/cifar100_foolbox20.npz"}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_table(shared: Path) -> Path:
    """The bundled NB-201 table, with its data notice in the table's source record."""
    csv = shared / "nb201" / "nb201_all_15625.csv"
    table = read_source(csv, columns=NB201_COLUMNS)
    if len(table.frame) != 15_625:
        raise SystemExit(f"{csv}: {len(table.frame)} cells, expected all 15,625")
    table.source.update(bundled=True, notice=NB201_NOTICE,
                        built_by="scripts/build_bundled_data.py")
    return table.save(TABLE_OUT)


def build_images(shared: Path) -> list[Path]:
    """The two 20-image samples, re-saved compressed with exactly the arrays the harness reads."""
    IMAGES_OUT.mkdir(parents=True, exist_ok=True)
    written = []
    for dataset, relative in IMAGE_SOURCES.items():
        with np.load(shared / relative) as source:
            images, labels = source["x"], source["y"]
        if images.shape != (20, 32, 32, 3) or images.dtype != np.uint8 or labels.shape != (20,):
            raise SystemExit(f"{relative}: expected x uint8 (20, 32, 32, 3) and y (20,)")
        out = IMAGES_OUT / f"{dataset}_sample20.npz"
        np.savez_compressed(out, x=images, y=labels.astype(np.int64))
        written.append(out)
    return written


def build_text(shared: Path) -> Path:
    """The WikiText-2 excerpt: whole lines of the validation split from its start, until
    ``TEXT_WORDS`` words (lines kept as they are, so the excerpt is the split's own text)."""
    lines, words = [], 0
    for line in (shared / TEXT_SOURCE).read_text(encoding="utf-8").splitlines(keepends=True):
        if words >= TEXT_WORDS:
            break
        lines.append(line)
        words += len(line.split())
    TEXT_OUT.parent.mkdir(parents=True, exist_ok=True)
    TEXT_OUT.write_text("".join(lines), encoding="utf-8")
    return TEXT_OUT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data",
                        help="folder holding nb201/nb201_all_15625.csv, images/ and "
                             "nbnlp/wikitext-2/")
    shared = parser.parse_args().shared
    for path in [build_table(shared), *build_images(shared), build_text(shared)]:
        print(f"wrote {path.relative_to(REPO)} ({path.stat().st_size / 1024:.0f} KiB, "
              f"sha256 {_sha256(path)[:16]})")


if __name__ == "__main__":
    main()
