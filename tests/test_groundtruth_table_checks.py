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
