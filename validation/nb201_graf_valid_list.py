"""Write the arch list of the NB-201 cells with GRAF features, the cells VKDNW's Table 1 ranks
(9,444 of 15,625: an input-to-output path, and no op on a dead branch; ``graf_valid`` in
``trainable_layers_nb201.py``), for the built-in study ``vkdnw``
(``harness/study/builtin/nb201_graf_valid.txt``). One NASLib op-index tuple per line (the
compact encoding the NB-201 space parses), in the official benchmark index order.

    python validation/nb201_graf_valid_list.py [OUT]
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

import pandas as pd
from trainable_layers_nb201 import BUNDLED_TABLE, graf_valid

from harness.plugins.spaces.nb201.arch import ops_to_naslib, str_to_ops

DEFAULT_OUT = Path(__file__).parent.parent / "harness/study/builtin/nb201_graf_valid.txt"
HEADER = """\
# The NB-201 cells with GRAF features: an input-to-output path and every non-none op on one.
# VKDNW's Table 1 (Tybl and Neumann, CVPR 2025) ranks these cells only (its code,
# NB201/tss_analyze.py, keeps the cells GRAF can encode). One NASLib op-index tuple per line,
# in the official index order; written by validation/nb201_graf_valid_list.py.
"""


def main(out: Path) -> None:
    path = resources.files("harness.plugins.spaces.nb201").joinpath("data", BUNDLED_TABLE)
    with resources.as_file(path) as table:
        archs = pd.read_parquet(table).index
    kept = [ops_to_naslib(ops) for ops in map(str_to_ops, archs) if graf_valid(ops)]
    lines = ["(" + ",".join(map(str, naslib)) + ")" for naslib in kept]
    out.write_text(HEADER + "\n".join(lines) + "\n")
    print(f"{len(lines)} GRAF-valid cells of {len(archs)} -> {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
