"""bankseg.reporting.formatting: how numbers read in the report, the figures and the dashboard."""

from __future__ import annotations

import pandas as pd
import pytest

from bankseg.params import ReportParams
from bankseg.reporting.formatting import Formatter, NumberFormat, count, mix_share, share, whole_columns

INDIAN = NumberFormat(ReportParams(currency="₹", number_style="indian"))
INTERNATIONAL = NumberFormat(ReportParams(currency="$", number_style="international"))


@pytest.mark.parametrize(
    ("value", "indian", "international"),
    [
        (0, "₹0", "$0"),
        (9.3, "₹9", "$9"),
        (7_029, "₹7,029", "$7,029"),
        (11_793, "₹11,793", "$11.8 k"),
        (148_100, "₹1.48 lakh", "$148 k"),
        (999_999, "₹10 lakh", "$1 M"),  # rounded first: never "1,000 k"
        (1_470_000, "₹14.7 lakh", "$1.47 M"),
        (40_300_000, "₹4.03 crore", "$40.3 M"),
        (2.5e9, "₹250 crore", "$2.5 B"),
        (-2_300_000, "-₹23 lakh", "-$2.3 M"),
        (float("nan"), "n/a", "n/a"),
        (None, "n/a", "n/a"),
        (1e300, "₹1e+300", "$1e+300"),
    ],
)
def test_money_in_each_number_style(value, indian, international):
    assert INDIAN.number(value, money=True) == indian
    assert INTERNATIONAL.number(value, money=True) == international


@pytest.mark.parametrize(
    ("value", "whole", "text"),
    [
        (25.0, True, "25"),
        (25.5, True, "26"),
        (25.2, False, "25.2"),
        (25.0, False, "25"),
        (1234.5, False, "1,234"),
    ],
)
def test_whole_numbers_read_as_integers(value, whole, text):
    assert INTERNATIONAL.number(value, whole=whole) == text


def test_counts_and_shares_read_the_same_everywhere():
    assert count(19976) == "19,976"
    assert share(0.25285) == "25.3%"
    assert share(None) == "n/a"
    assert mix_share(0.536) == "54%"


def test_a_formatter_knows_each_features_unit_labels_and_value_names(params):
    fmt = Formatter(params.features, params.report, ["age"])
    assert fmt.value("networth", 1_470_000) == "₹14.7 lakh"  # unit: money, currency INR, indian
    assert fmt.value("age", 25.0) == "25"
    assert fmt.value("age", 25.25, exact=True) == "25.2"
    assert fmt.category("risk_id", "1") == "cautious"  # features.categorical.risk_id.values
    assert fmt.category("account_type", "Other") == "Other"
    assert fmt.label("sip_amount") == "monthly SIP"  # features.<kind>.<column>.label
    assert (fmt.label("networth"), fmt.label("age"), fmt.label("account_type")) == (
        "net worth",
        "age",
        "account",
    )
    assert fmt.tick("networth", 1e5) == "₹1 lakh"


def test_whole_columns():
    frame = pd.DataFrame({"age": [25.0, 30.0, None], "balance": [1.5, 2.0, 3.0], "n": [1, 2, 3]})
    assert whole_columns(frame, ["age", "balance", "n"]) == ["age", "n"]
