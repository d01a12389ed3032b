"""NB201 encodings: exact round-trips over the whole space, real-data cross-checks, errors."""

import json
import random

import pandas as pd
import pytest

from harness.errors import ConfigError, DataNotPreparedError
from harness.plugins.spaces.nb201.space import NB201Space, arch

BEST_CIFAR10_VALID = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
                      "+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")


@pytest.fixture(scope="module")
def all_strings():
    return [arch.ops_to_str(ops) for ops in arch.all_ops()]


def test_every_cell_round_trips_through_every_encoding(all_strings):
    space = NB201Space()
    assert len(set(all_strings)) == arch.NUM_ARCHS == 15625
    for text in all_strings:
        ops = arch.str_to_ops(text)
        assert arch.ops_to_str(ops) == text
        assert arch.gennas_to_ops(arch.ops_to_gennas(ops)) == ops
        assert arch.naslib_to_ops(arch.ops_to_naslib(ops)) == ops
    naslib = {arch.ops_to_naslib(arch.str_to_ops(t)) for t in all_strings}
    assert len(naslib) == 15625, "the NASLib conversion must be a bijection"
    sample = random.Random(0).sample(all_strings, 300)
    for text in sample:
        ops = arch.str_to_ops(text)
        assert space.parse_arch(arch.ops_to_gennas(ops)) == text
        assert space.parse_arch(str(arch.ops_to_gennas(ops))) == text
        assert space.parse_arch(arch.ops_to_naslib(ops)) == text
        assert space.parse_arch(str(arch.ops_to_naslib(ops))) == text
        assert space.parse_arch("naslib:" + json.dumps(list(arch.ops_to_naslib(ops)))) == text


def test_known_encodings_of_one_cell():
    ops = arch.str_to_ops(BEST_CIFAR10_VALID)
    assert ops == (3, 3, 3, 1, 3, 2)
    # GenNAS lists (the best cifar10-valid cell, [[3],[3,3],[1,3,2]] in GenNAS-Zero's files).
    assert arch.ops_to_gennas(ops) == [[3], [3, 3], [1, 3, 2]]
    # NASLib: edges (01, 02, 03, 12, 13, 23), ops (skip, none, conv3, conv1, pool).
    assert arch.ops_to_naslib(ops) == (2, 2, 0, 2, 2, 3)


def test_naslib_tuples_match_the_real_naslib_file(shared_data):
    rows = pd.read_csv(shared_data / "zc" / "naslib_zc_nasbench201.csv")
    space = NB201Space()
    for key, text in zip(rows["naslib_op_indices"], rows["arch_str"], strict=True):
        assert space.parse_arch(key) == text, f"NASLib key {key} should decode to {text}"


def test_gennas_lists_join_the_right_accuracies(shared_data):
    """GenNAS-Zero's list order differs from the index order; joined by our decoding, its
    cifar10-valid accuracies must equal the table's x-valid means for all 15,625 cells."""
    entries = json.loads((shared_data / "nb201" / "gennas_zero_cifar10valid.json").read_text())
    table = pd.read_csv(shared_data / "nb201" / "nb201_all_15625.csv").set_index("arch_str")
    decoded = {arch.ops_to_str(arch.gennas_to_ops(nested)): acc for nested, acc in entries}
    assert len(decoded) == 15625
    joined = table["cifar10_valid_xvalid_mean"].to_dict()
    worst = max(abs(decoded[a] - joined[a]) for a in joined)
    assert worst < 1e-6, f"largest accuracy mismatch after joining: {worst}"


@pytest.mark.parametrize("text, fragment", [
    ("|nor_conv_3x3~0|+|none~0|none~1|", "3 nodes"),
    ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown NB201 op 'conv'"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|", "lacks its input(s) from node(s) [1]"),
    ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "may only read nodes 0..0"),
    ("|none~0|+|none~0|none~0|+|none~0|none~1|none~2|", "reads node 0 twice"),
    ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "between '|' characters"),
    ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "is not 'op~input'"),
])
def test_invalid_strings_say_what_is_wrong(text, fragment):
    with pytest.raises(ConfigError, match=None) as caught:
        arch.str_to_ops(text)
    assert fragment in str(caught.value)


def test_inputs_in_any_order_give_the_canonical_string():
    shuffled = "|skip_connect~0|+|none~1|nor_conv_1x1~0|+|none~2|none~0|none~1|"
    assert NB201Space().parse_arch(shuffled) == \
        "|skip_connect~0|+|nor_conv_1x1~0|none~1|+|none~0|none~1|none~2|"


@pytest.mark.parametrize("value, fragment", [
    ([1, 2, 3, 4, 0, 0], "ambiguous"),
    ("[1, 2, 3, 4, 0, 0]", "ambiguous"),
    ("(1, 2, 3)", "6 edges"),
    ("(1, 2, 3, 4, 5, 0)", "op code 5"),
    ("[[1], [2, 3], [4, 0]]", "lists of 1, 2 and 3"),
    ("gennas:[[1], [2", "not a valid list"),
    ("gennas:[1, [2, 3], [4, 0, 0]]", "lists of 1, 2 and 3"),
    ("naslib:5", "expected a list or tuple"),
    ("hello", "not an NB201 architecture"),
    (True, "not an NB201 architecture"),
])
def test_invalid_encodings_are_config_errors(value, fragment):
    with pytest.raises(ConfigError) as caught:
        NB201Space().parse_arch(value)
    assert fragment in str(caught.value)


def test_index_without_prepared_table_uses_the_bundled_one(tmp_path):
    space = NB201Space()
    bundled = space.bundled_ground_truth().frame
    assert space.parse_arch(7, data_dir=tmp_path) == bundled.index[bundled["index"] == 7][0]


def test_index_without_any_table_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(NB201Space, "_bundled_path", staticmethod(lambda: tmp_path / "none"))
    with pytest.raises(DataNotPreparedError, match="harness data prepare nb201"):
        NB201Space().parse_arch(7, data_dir=tmp_path)


def test_benchmark_order_is_not_a_generated_order(shared_data, all_strings):
    """Why indices need a prepared table: meta_archs is a shuffle of the product order."""
    official = pd.read_csv(shared_data / "nb201" / "nb201_all_15625.csv")["arch_str"].tolist()
    assert sorted(official) == sorted(all_strings)
    assert official != all_strings
    assert official[0] == "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|" \
                          "skip_connect~1|skip_connect~2|"


def test_canonical_form_examples():
    form = lambda text: arch.canonical_form(arch.str_to_ops(text))  # noqa: E731
    # Dead edge: node 1 is zero, so conv(node 1) adds nothing.
    assert form("|none~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|") == \
        form("|none~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|none~1|skip_connect~2|") == "x"
    # Skip routes the same sum: node3 = x + conv(x) either way.
    assert form("|nor_conv_1x1~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|skip_connect~2|") \
        == form("|nor_conv_1x1~0|+|none~0|none~1|+|skip_connect~0|skip_connect~1|none~2|") \
        == "nor_conv_1x1(x)+x"
    # Multiplicity matters: two separately weighted convolutions are not one.
    assert form("|nor_conv_1x1~0|+|nor_conv_1x1~0|none~1|+|none~0|skip_connect~1|skip_connect~2|") \
        == "nor_conv_1x1(x)+nor_conv_1x1(x)"
    assert form("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|") == "0"


def test_canonical_form_never_splits_a_nats_unique_class(shared_data):
    rows = pd.read_csv(shared_data / "nb201" / "vtao_nats_bench.csv")
    forms = [arch.canonical_form(arch.str_to_ops(t)) for t in rows["ArchitectureString"]]
    per_nats_class = pd.Series(forms).groupby(rows["UniqueString"].to_numpy()).nunique()
    assert per_nats_class.max() == 1, "cells NATS calls identical must share one form"
    assert len(set(forms)) == 4930, "distinct cells under this form (NATS' string gives 6,466)"


def test_duplicates_are_reported_not_dropped():
    archs = ["|none~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|",
             "|none~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|none~1|skip_connect~2|",
             BEST_CIFAR10_VALID]
    groups = NB201Space().duplicates(archs)
    assert groups == {"x": archs[:2]}


def test_mutation_changes_at_least_one_edge_with_rate_one_sixth():
    rng = random.Random(1)
    ops = arch.str_to_ops(BEST_CIFAR10_VALID)
    changed_per_edge = [0] * 6
    trials = 6000
    for _ in range(trials):
        child = arch.mutate_ops(ops, rng)
        diff = [a != b for a, b in zip(ops, child, strict=True)]
        assert any(diff), "a mutation must change at least one edge"
        for k, d in enumerate(diff):
            changed_per_edge[k] += d
    rates = [c / trials for c in changed_per_edge]
    # P(edge changed) = 1/6 + P(no edge picked) * 1/6 = 1/6 + (5/6)^6 / 6 ≈ 0.2224.
    assert all(abs(r - 0.2224) < 0.02 for r in rates), rates
    space = NB201Space()
    assert space.mutate(BEST_CIFAR10_VALID, random.Random(3)) == \
        space.mutate(BEST_CIFAR10_VALID, random.Random(3)), "seeded mutation is reproducible"


def test_neighbours_differ_on_exactly_one_edge():
    space = NB201Space()
    neighbours = space.neighbours(BEST_CIFAR10_VALID)
    assert len(neighbours) == len(set(neighbours)) == 24
    ops = arch.str_to_ops(BEST_CIFAR10_VALID)
    for text in neighbours:
        assert sum(a != b for a, b in zip(ops, arch.str_to_ops(text), strict=True)) == 1
