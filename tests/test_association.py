"""bankseg.data.association: outcomes and protected attributes by segment."""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import pandas as pd
import pytest

from bankseg.data.association import (
    correlation_ratio,
    cramers_v,
    outcome_summary,
    positive_value,
    protected_summary,
)


def _json(summary: dict) -> dict:
    return json.loads(json.dumps(summary, allow_nan=False))


def test_cramers_v_of_identical_and_of_independent_series():
    a = pd.Series(["x", "y", "z", "x", "y", "z"] * 5)
    assert cramers_v(a, a) == pytest.approx(1.0)
    assert cramers_v(a, a.map({"x": 3, "y": 1, "z": 2})) == pytest.approx(1.0)  # a relabelling
    # Every pair of values equally often: no association at all.
    assert cramers_v(pd.Series(["x", "x", "y", "y"] * 4), pd.Series(["p", "q"] * 8)) == pytest.approx(0.0)


def test_cramers_v_by_hand():
    # The table [[3, 1], [1, 3]]: phi = (3*3 - 1*1) / sqrt(4 * 4 * 4 * 4) = 0.5.
    a = pd.Series(["m"] * 4 + ["f"] * 4)
    b = pd.Series(["yes", "yes", "yes", "no", "yes", "no", "no", "no"])
    assert cramers_v(a, b) == pytest.approx(0.5)


def test_cramers_v_leaves_out_missing_values_and_is_never_nan():
    a = pd.Series(["m", "m", "f", "f", None, "f"])
    b = pd.Series(["yes", "yes", "no", "no", "no", np.nan])
    assert cramers_v(a, b) == pytest.approx(1.0)  # the two mismatching rows have a missing value
    assert cramers_v(pd.Series(["m", "m", "f"]), pd.Series(["yes", "yes", None])) == 0.0  # one value left
    assert cramers_v(pd.Series([None, None], dtype=object), pd.Series(["a", "b"])) == 0.0
    assert cramers_v(pd.Series([], dtype=object), pd.Series([], dtype=object)) == 0.0
    with pytest.raises(ValueError, match="not 2 and 3"):
        cramers_v(pd.Series([1, 2]), pd.Series([1, 2, 3]))


def test_correlation_ratio():
    groups = pd.Series([0, 0, 1, 1, 2, 2])
    assert correlation_ratio(groups, pd.Series([5.0, 5.0, 1.0, 1.0, 9.0, 9.0])) == pytest.approx(1.0)
    assert correlation_ratio(groups, pd.Series([1.0, 3.0, 3.0, 1.0, 2.0, 2.0])) == pytest.approx(0.0)
    assert correlation_ratio(groups, pd.Series([0.1] * 6)) == 0.0
    # Mean 2, total SS 8; group means 1 and 3, between SS 4: eta = sqrt(1/2).
    assert correlation_ratio(pd.Series(["a", "a", "b", "b"]), pd.Series([0, 2, 2, 4])) == pytest.approx(
        math.sqrt(0.5)
    )
    with_missing = pd.Series([0.0, 2.0, np.nan, 2.0, 4.0, np.inf])
    assert correlation_ratio(pd.Series(["a", "a", "a", "b", "b", "b"]), with_missing) == pytest.approx(
        math.sqrt(0.5)
    )


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["Yes", "No", "No", None], "Yes"),
        ([" Y", "N", "N "], "Y"),
        ([0, 1, 1, 0], "1"),
        ([0.0, 1.0, np.nan], "1.0"),
        ([True, False], "True"),
        (["true", "false", "True", "True"], "True"),  # the most frequent spelling
        (["yes", "no", "maybe"], None),  # three values
        (["yes", "yes"], None),  # one value
        ([1, 2, 2], None),  # two numbers, not 0 and 1: a count
        (["yes", "1"], None),  # both look like the event
        (["gold", "silver"], None),
        ([None, np.nan], None),
    ],
)
def test_positive_value_detects_a_binary_outcome(values, expected):
    assert positive_value(pd.Series(values, dtype=object)) == expected


def test_a_given_positive_value_is_matched_without_case_and_as_a_number(caplog):
    assert positive_value(pd.Series(["Churned", "Stayed", "Moved"]), "CHURNED") == "Churned"
    assert positive_value(pd.Series([0.0, 1.0, 2.0]), "1") == "1.0"
    with caplog.at_level(logging.WARNING, logger="bankseg.data.association"):
        assert positive_value(pd.Series(["a", "b"]), " closed ") == "closed"
    assert "no value matches" in caplog.text


def test_outcome_rate_per_segment_by_hand():
    segments = pd.Series([0, 0, 0, 0, 1, 1, 1, 1, 2, 2], index=np.arange(10)[::-1])  # paired by position
    values = pd.Series(["yes", "no", "no", "no", "yes", "yes", "no", None, "no", "no"])
    summary = _json(
        outcome_summary(segments, values, names={0: "Savers", 1: "Investors", 2: "New", 3: "Empty"})
    )
    assert summary["kind"] == "rate" and summary["positive"] == "yes"
    assert summary["overall"] == pytest.approx(3 / 9) and summary["n"] == 9 and summary["missing"] == 1
    assert summary["segments"]["0"] == {"rate": 0.25, "lift": pytest.approx(0.75), "n": 4, "name": "Savers"}
    assert summary["segments"]["1"]["rate"] == pytest.approx(2 / 3) and summary["segments"]["1"]["n"] == 3
    assert summary["segments"]["1"]["lift"] == pytest.approx(2.0)
    assert summary["segments"]["2"]["rate"] == 0.0 and summary["segments"]["2"]["lift"] == 0.0
    assert summary["segments"]["3"] == {"rate": None, "lift": None, "n": 0, "name": "Empty"}
    assert summary["best_segment"] == "1" and summary["worst_segment"] == "2"
    assert 0 < summary["association"] < 1


def test_a_numeric_zero_one_outcome_is_a_rate_with_ties_to_the_lower_segment():
    summary = outcome_summary(pd.Series([1, 1, 0, 0]), pd.Series([1, 0, 0, 1]))
    assert summary["kind"] == "rate" and summary["positive"] == "1"
    assert summary["segments"]["0"]["rate"] == summary["segments"]["1"]["rate"] == 0.5
    assert summary["best_segment"] == summary["worst_segment"] == "0"
    assert summary["association"] == 0.0


def test_outcome_mean_per_segment_by_hand():
    segments = pd.Series([0, 0, 1, 1, 1])
    summary = _json(outcome_summary(segments, pd.Series([100.0, 300.0, 400.0, np.nan, 400.0])))
    assert summary["kind"] == "mean" and summary["overall"] == pytest.approx(300.0)
    assert summary["segments"]["0"] == {"mean": 200.0, "lift": pytest.approx(2 / 3), "n": 2}
    assert summary["segments"]["1"] == {"mean": 400.0, "lift": pytest.approx(4 / 3), "n": 2}
    assert summary["best_segment"] == "1" and summary["worst_segment"] == "0"
    # Mean 300, total SS 40000 + 0 + 10000 + 10000; between 2 * 100^2 * 2 = 40000.
    assert summary["association"] == pytest.approx(math.sqrt(40000 / 60000))


def test_outcome_mean_from_numbers_written_as_text_and_no_lift_around_zero():
    summary = _json(outcome_summary(pd.Series([0, 0, 1, 1]), pd.Series(["-2", " 2", "1.5", "-1.5"])))
    assert summary["kind"] == "mean" and summary["overall"] == 0.0
    assert summary["segments"]["0"] == {"mean": 0.0, "lift": None, "n": 2}


def test_outcome_categories_show_the_most_frequent_values_per_segment():
    values = pd.Series(list("aaaaabbbbccccddeef") + [None])
    segments = pd.Series([0] * 9 + [1] * 10)
    summary = _json(outcome_summary(segments, values))
    assert summary["kind"] == "categories" and summary["values"] == ["a", "b", "c", "d", "e"]
    assert summary["segments"]["0"]["shares"] == pytest.approx(
        {"a": 5 / 9, "b": 4 / 9, "c": 0, "d": 0, "e": 0, "other values": 0}
    )
    assert summary["segments"]["1"]["n"] == 9
    assert summary["segments"]["1"]["shares"]["other values"] == pytest.approx(1 / 9)  # the f
    assert summary["best_segment"] is None and summary["association"] > 0.5


def test_outcome_with_only_missing_values_is_json_ready():
    summary = _json(outcome_summary(pd.Series([0, 1]), pd.Series([np.nan, np.nan])))
    assert summary["overall"] is None and summary["n"] == 0 and summary["best_segment"] is None
    assert summary["association"] == 0.0


def test_protected_attribute_flagged_only_above_the_threshold():
    segments = pd.Series([0] * 4 + [1] * 4)
    gender = pd.Series(["m", "m", "m", "f", "m", "f", "f", "f"])  # V = 0.5, see the test above
    flagged = _json(protected_summary(segments, gender, threshold=0.3))
    assert flagged["association"] == pytest.approx(0.5) and flagged["flagged"] is True
    assert flagged["segments"]["0"] == {"m": 0.75, "f": 0.25}
    assert protected_summary(segments, gender, threshold=0.5)["flagged"] is False
    with pytest.raises(ValueError, match="threshold=1.5"):
        protected_summary(segments, gender, threshold=1.5)


def test_protected_summary_names_at_most_ten_values_and_none_that_look_personal():
    cities = [f"city {i:02d}" for i in range(12)]
    values = pd.Series(cities * 2 + ["someone@example.com"] * 5 + ["ABCPE1234F"] * 3 + [None])
    segments = pd.Series(np.arange(len(values)) % 3)
    summary = _json(protected_summary(segments, values, threshold=0.9))
    assert summary["values"] == cities[:10]
    for shares in summary["segments"].values():
        assert set(shares) == {*cities[:10], "other values"}
        assert sum(shares.values()) == pytest.approx(1.0)
    assert "example.com" not in json.dumps(summary) and "ABCPE" not in json.dumps(summary)
    assert summary["missing"] == 1 and summary["flagged"] is False
