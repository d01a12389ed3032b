"""The checks every ground-truth reader runs on its table before saving it (table_checks.py)."""

import math

import numpy as np
import pandas as pd
import pytest

from harness.errors import BenchmarkFileError
from harness.groundtruth.table import GroundTruthTable, MetricInfo
from harness.groundtruth.table_checks import (
    FRACTION,
    NON_NEGATIVE,
    PERCENT,
    check_count,
    check_number,
    check_unique,
    detect_accuracy_scale,
    parse_numbers,
    validate_table,
)


def _table(ids, acc, **extra):
    frame = pd.DataFrame({"acc": acc, **extra}, index=pd.Index(ids, name="arch_id"))
    return GroundTruthTable("s", frame, [MetricInfo("acc", "d")], {"d": "acc"})


def test_a_valid_table_passes_with_nan():
    table = _table(["a", "b"], [0.5, math.nan], params=[1, 2], note=["x", "y"])
    assert validate_table(table, "f", {"acc": FRACTION, "params": NON_NEGATIVE}) is table


@pytest.mark.parametrize("table, ranges, match", [
    (_table([], []), {}, "no rows"),
    (_table(["a", "a"], [0.1, 0.2]), {}, "arch a appears in more than one row"),
    (_table(["a", " "], [0.1, 0.2]), {}, "row 2 has no arch id"),
    (_table(["a", "b"], [0.1, math.inf]), {}, "arch b: value inf is not a finite number"),
    (_table(["a", "b"], [0.1, 1.5]), {"acc": FRACTION}, "1.5 is not an accuracy as a fraction"),
    (_table(["a"], [0.1], params=[-3]), {"params": NON_NEGATIVE}, "column 'params'"),
    (_table(["a"], [0.1], time=[-math.inf]), {}, "column 'time'"),
    (_table(["a"], ["high"]), {}, "metric column 'acc' is not numeric"),
    (_table(["a"], [True]), {}, "metric column 'acc' is not numeric"),
    (_table(["a", "b"], [math.nan, math.nan]), {},
     "'acc', the target of dataset d, has no value in any row"),
    (_table(["a", "b"], [0.1, 0.2], params=[1, 10 ** 25]), {},
     "arch b: value 10000000000000000000000000 is beyond what an int64 column holds"),
    (_table(["a"], [0.1], params=np.array([2 ** 63], dtype=np.uint64)), {},
     "column 'params', arch a: value 9.223372036854776e\\+18"),
    (_table(["a"], [0.1], params=["12"]), {"params": NON_NEGATIVE},
     "column 'params' is not numeric"),
])
def test_refusals_name_the_file_column_and_arch(table, ranges, match):
    with pytest.raises(BenchmarkFileError, match=f"^f: .*{match}"):
        validate_table(table, "f", ranges)


def test_accuracy_scale_detection():
    assert detect_accuracy_scale({"a": np.array([0.1, 1.0, np.nan])}, "f") == "fraction"
    assert detect_accuracy_scale({"a": np.array([0.5, 55.0]), "b": np.array([99.0])},
                                 "f") == "percent"
    with pytest.raises(BenchmarkFileError, match=r"\['a'\] look like fractions"):
        detect_accuracy_scale({"a": np.array([0.5]), "b": np.array([55.0])}, "f")
    for bad in (-0.5, 100.5, math.inf, 1e300):
        with pytest.raises(BenchmarkFileError, match="percent in \\[0, 100\\] or fractions"):
            detect_accuracy_scale({"a": np.array([0.5, bad])}, "f")


def test_parse_numbers_accepts_only_numbers_and_missing_markers():
    values = parse_numbers(pd.Series(["1.5", "", "nan", "NA", "-", None, "2e3"], name="c"), "f")
    assert np.isnan(values).tolist() == [False, True, True, True, True, True, False]
    with pytest.raises(BenchmarkFileError, match="column 'c', data row 2: 'abc' is not a number"):
        parse_numbers(pd.Series(["1", "abc"], name="c"), "f")


@pytest.mark.parametrize("value, kwargs, match", [
    (True, {}, "x True is not a number"),
    ("1", {}, "x '1' is not a number"),
    (math.nan, {}, "x nan is not a finite number in \\[-inf, inf\\]$"),
    (math.inf, {"missing_ok": True}, "x inf is not a finite number .* or NaN$"),
    (10 ** 400, {}, "x 1000000000000000000000000000000000000... is not a finite"),
    (101.0, {"allowed": PERCENT}, "x 101.0 is not an accuracy in percent"),
])
def test_check_number_refuses_what_is_not_a_usable_number(value, kwargs, match):
    with pytest.raises(BenchmarkFileError, match=f"^w: {match}"):
        check_number(value, "x", "w", **kwargs)


def test_check_number_and_count_pass_numbers_through():
    assert check_number(3, "x", "w") == 3.0
    assert math.isnan(check_number(math.nan, "x", "w", missing_ok=True))
    assert check_count(2 ** 63 - 1, "n", "w") == 2 ** 63 - 1
    for bad in (2 ** 63, -1, 1.0, True, None):
        with pytest.raises(BenchmarkFileError, match="is not an integer in"):
            check_count(bad, "n", "w")


def test_check_unique_names_both_files():
    check_unique([("a", "f1"), ("b", "f2")], "key", "src", "fix it")
    with pytest.raises(BenchmarkFileError, match="^src: key a is in both f1 and f3; fix it$"):
        check_unique([("a", "f1"), ("b", "f2"), ("a", "f3")], "key", "src", "fix it")


def test_only_a_datasets_target_must_have_a_value():
    """A subset of a benchmark may lack a budget: a metric other than a target may be all NaN."""
    frame = pd.DataFrame({"acc": [0.5, 0.6], "acc36": [math.nan, math.nan]},
                         index=pd.Index(["a", "b"], name="arch_id"))
    table = GroundTruthTable("s", frame, [MetricInfo("acc", "d"), MetricInfo("acc36", "d")],
                             {"d": "acc"})
    assert validate_table(table, "f") is table
