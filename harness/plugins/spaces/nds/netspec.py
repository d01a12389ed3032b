"""The ``net`` of an NDS record, checked when the sweep is read (no torch).

A record's ``net`` is what the builders (``cells.py``, ``anynet.py``) turn into a network, so a
``net`` they could not build is refused at ``harness data prepare`` time, naming the record,
rather than becoming one ``error`` trial per scorer later. Two kinds exist in the official
sweeps (Radosavovic et al., ICCV 2019; facebookresearch/nds):

- a cell network: ``genotype`` (``normal``/``reduce``: [op, input] pairs, two per node;
  ``normal_concat``/``reduce_concat``: the states concatenated), ``width``, ``depth``, and the
  training-only ``aux`` and ``drop_prob``;
- an AnyNet: ``block_type`` and the per-entry lists ``ds``, ``ws``, ``ss`` (depth, width,
  stride; the first entry is the stem), ``bot_muls`` and ``num_gs`` (empty where the block has
  none).

``check_net`` returns the first problem as text (None when the net can be built); the reader
wraps it into its ``BenchmarkFileError``.
"""

from __future__ import annotations

from typing import Any

from harness.groundtruth.table_checks import shown

CELL_OPS = (
    "none", "skip_connect", "avg_pool_2x2", "avg_pool_3x3", "avg_pool_5x5", "max_pool_2x2",
    "max_pool_3x3", "max_pool_5x5", "max_pool_7x7", "conv_1x1", "conv_3x3", "sep_conv_3x3",
    "sep_conv_5x5", "sep_conv_7x7", "dil_conv_3x3", "dil_conv_5x5", "dil_sep_conv_3x3",
    "conv_3x1_1x3", "conv_7x1_1x7")
BLOCK_TYPES = ("double_plain_block", "res_basic_block", "res_bottleneck_block")
CELL_KEYS = frozenset({"genotype", "width", "depth", "aux", "drop_prob"})
GENOTYPE_KEYS = frozenset({"normal", "normal_concat", "reduce", "reduce_concat"})
ANYNET_KEYS = frozenset({"block_type", "ds", "ws", "ss", "bot_muls", "num_gs"})
# The stem an AnyNet's first entry stands for, by its stride (anynet.py).
STEM_STRIDES = (1, 4, 8)
# The builders tap three stages (cell networks: reductions at depth/3 and 2*depth/3).
LEAST_CELL_DEPTH = 3
LEAST_ANYNET_ENTRIES = 4


def check_net(net: Any) -> str | None:
    """The first reason ``net`` is not a buildable NDS network, or None (module docstring)."""
    if not isinstance(net, dict) or not net:
        return f"net must be a non-empty object, got {shown(net)}"
    keys = CELL_KEYS if "genotype" in net else ANYNET_KEYS
    unknown = sorted(map(str, set(net) - keys))
    if unknown:
        return f"net has unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(keys))})"
    return _check_cell(net) if "genotype" in net else _check_anynet(net)


def _check_cell(net: dict[str, Any]) -> str | None:
    genotype = net["genotype"]
    if not isinstance(genotype, dict) or set(genotype) != GENOTYPE_KEYS:
        return f"net.genotype must be an object with exactly {', '.join(sorted(GENOTYPE_KEYS))}"
    for key, least in (("width", 2), ("depth", LEAST_CELL_DEPTH)):
        if not _is_int(net.get(key), least):
            return f"net.{key} must be an integer >= {least}, got {shown(net.get(key))}"
    for kind in ("normal", "reduce"):
        problem = _check_cell_kind(genotype[kind], genotype[f"{kind}_concat"], kind)
        if problem:
            return problem
    return None


def _check_cell_kind(pairs: Any, concat: Any, kind: str) -> str | None:
    """Two [op, input] pairs per node, inputs reading earlier states, concat naming states."""
    if not isinstance(pairs, list) or not pairs or len(pairs) % 2:
        return f"net.genotype.{kind} must be a non-empty list of [op, input] pairs, two per node"
    for number, pair in enumerate(pairs):
        if not isinstance(pair, list) or len(pair) != 2 or pair[0] not in CELL_OPS \
                or not _is_int(pair[1], 0) or pair[1] >= 2 + number // 2:
            return (f"net.genotype.{kind}[{number}] {shown(pair)} is not [op, input] with a "
                    f"known op and an earlier state (known ops: {', '.join(CELL_OPS)})")
    states = 2 + len(pairs) // 2
    if not isinstance(concat, list) or not concat \
            or not all(_is_int(state, 0) and state < states for state in concat):
        return f"net.genotype.{kind}_concat {shown(concat)} must list states 0..{states - 1}"
    return None


def _check_anynet(net: dict[str, Any]) -> str | None:
    missing = sorted(ANYNET_KEYS - set(net))
    if missing:
        return f"net lacks {', '.join(missing)} (a cell net has 'genotype')"
    if net["block_type"] not in BLOCK_TYPES:
        return f"net.block_type {shown(net['block_type'])} is not one of {', '.join(BLOCK_TYPES)}"
    lists = {key: net[key] for key in ("ds", "ws", "ss", "bot_muls", "num_gs")}
    if not all(isinstance(values, list) for values in lists.values()):
        return "net.ds, ws, ss, bot_muls and num_gs must be lists"
    entries = len(lists["ds"])
    if entries < LEAST_ANYNET_ENTRIES or any(len(values) not in (entries, 0) for values in
                                             lists.values()) or not lists["ws"] or not lists["ss"]:
        return (f"net.ds, ws, ss (and bot_muls, num_gs unless empty) must have one length of at "
                f"least {LEAST_ANYNET_ENTRIES} (a stem and three stages)")
    if not all(_is_int(value, 1) for key in ("ds", "ws", "ss", "num_gs") for value in lists[key]):
        return "net.ds, ws, ss and num_gs must hold positive integers"
    if not all(_is_number(value) and value >= 0 for value in lists["bot_muls"]):
        return "net.bot_muls must hold non-negative numbers"
    if lists["ss"][0] not in STEM_STRIDES or lists["ds"][0] != 1:
        return (f"net's first entry (ds {lists['ds'][0]}, ss {lists['ss'][0]}) is not a stem: "
                f"depth 1, stride {', '.join(map(str, STEM_STRIDES))}")
    return None


def _is_int(value: Any, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
