"""bankseg.reporting.report: the report in two parts, the first free of statistics."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from bankseg.reporting.formatting import Formatter
from bankseg.reporting.naming import name_segments
from bankseg.reporting.profiling import add_confidence, profile_segments, segment_effects
from bankseg.reporting.report import (
    ANALYST_PART,
    NO_TRAITS,
    describe_segments,
    escape_markdown,
    report_markdown,
)

PROFILE = ["kyc_status"]
# Words a marketing reader should not meet before the second part.
STATISTICS = ("silhouette", "rand", "jaccard", "cramér", "gap statistic", "calinski", "davies", "standardised",
              "standard deviation", "psi", "bootstrap", "k-means", "effect", "variance", "(+", "(-")  # fmt: skip
PLOTS = {"profile": "../plots/segment_profile.png", "elbow": "../plots/elbow.png"}


def _segments(customers: pd.DataFrame) -> pd.Series:
    """Three groups a person would see: young, middle, senior."""
    groups = pd.cut(customers["age"].fillna(40), [0, 35, 55, 200], labels=False)
    return pd.Series(groups, index=customers.index).astype(int)


def _profile(customers, params, names=None):
    segments = _segments(customers)
    effects = segment_effects(customers, segments, params.features, PROFILE, strong_effect=0.5)
    names = (
        names
        or name_segments(effects, params.features, top_features=3, min_effect=0.2, strong_effect=0.5).names
    )
    profile = profile_segments(customers, segments, params.features, PROFILE, names, effects)
    stability = {
        "segments": {str(s): {"jaccard": 0.9, "stable": True} for s in names},
        "mean_ari": 0.95,
        "threshold": 0.75,
        "n_unstable": 0,
    }
    elbow = {
        "choices": {"gap": 3, "silhouette": 3},
        "suggested_k": 3,
        "reason": "chosen by a rule",
        "structure": True,
    }
    profile = add_confidence(profile, elbow, stability)
    fmt = Formatter(params.features, params.report, ["age"])
    return describe_segments(profile, params.features, fmt, strong=0.5), fmt


@pytest.fixture(scope="module")
def report(cleaned, params):
    profile, fmt = _profile(cleaned.kept, params)
    profile["evaluation"] = {
        "warnings": ["the segments follow one column (agreement 0.9, adjusted Rand index)"]
    }
    drift = {
        "n_new": 100,
        "psi_threshold": 0.2,
        "new_share": {"0": 0.5},
        "share_change": {"0": 0.1},
        "psi": {"age": 0.3},
    }
    return profile, report_markdown(profile, params.features, fmt, plots=PLOTS, drift=drift)


def test_the_first_part_speaks_no_statistics(report):
    _, text = report
    first, _, second = text.partition(f"## {ANALYST_PART}")
    assert second, "the second part is missing"
    for word in STATISTICS:
        assert word not in first.lower(), word
    assert "1 caution(s)" in first and "(#how-these-segments-were-chosen-and-how-sure-we-are)" in first


def test_every_segment_has_a_row_and_a_section_in_real_units(report):
    profile, text = report
    for seg, p in profile["segments"].items():
        assert f"| **{seg} · {escape_markdown(p['name'])}** | {p['size']:,} | {p['share']:.1%} |" in text
        assert f"## {seg} · {escape_markdown(p['name'])}" in text
        assert p["portrait"].startswith("Typical customer: age ")
        assert "₹" in p["portrait"] and " lakh" in p["portrait"] + text
    assert re.search(r"median age \d+;", text)  # whole numbers without decimals
    assert "cautious" in text  # risk 1 shown by its name from params
    assert "![How the segments differ](../plots/segment_profile.png)" in text


def test_the_second_part_explains_each_term_where_it_first_appears(report):
    _, text = report
    second = text.partition(f"## {ANALYST_PART}")[2]
    for term in (
        "*silhouette*",
        "*gap statistic*",
        "*adjusted Rand index*",
        "*Jaccard*",
        "*population stability index*",
    ):
        assert term in second, term
    assert second.index("### Cautions") < second.index("### How many segments")
    assert "![Choosing the number of segments](../plots/elbow.png)" in second
    assert "| 0 · " in second and "| 40.0% | 50.0% |" in second  # drift: training share 0.5 - 0.1


def test_names_and_values_from_the_data_are_shown_as_text(cleaned, params):
    customers = cleaned.kept.copy()
    customers["kyc_status"] = ["![pixel](http://tracker.invalid/p.png)", "a | b\nc", "<img src=x>"] * (
        len(customers) // 3
    ) + ["x"] * (len(customers) % 3)
    names = {0: "**Bold** [link](http://x.invalid)", 1: "Seniors", 2: "Affluent"}
    profile, fmt = _profile(customers, params, names)
    text = report_markdown(profile, params.features, fmt, plots={})
    unescaped = re.compile(r"(?<!\\)(!\[|<img|\[link\])")
    assert not unescaped.search(text), unescaped.search(text)
    assert "\\!\\[pixel\\](http://tracker.invalid/p.png)" in text and "\\<img src=x\\>" in text
    header = {
        line.count("|") - len(re.findall(r"\\\|", line))
        for line in text.splitlines()
        if line.startswith("| ")
    }
    assert header <= {4, 5, 6}  # 3-, 4- and 5-column tables: a | in a value never adds a cell


def test_escape_markdown():
    assert escape_markdown("a_b *c* [d](e) <f> | #g !h ~i $j &k\nnext") == (
        "a\\_b \\*c\\* \\[d\\](e) \\<f\\> \\| \\#g \\!h \\~i \\$j \\&k next"
    )


def test_a_segment_without_a_difference_worth_a_mention_says_so(cleaned, params):
    profile, fmt = _profile(cleaned.kept, params)
    profile["segments"]["1"]["differentiators"] = []
    profile = describe_segments(profile, params.features, fmt, strong=0.5)
    assert profile["segments"]["1"]["traits"] == [NO_TRAITS]
    assert NO_TRAITS not in profile["segments"]["0"]["traits"]
    text = report_markdown(profile, params.features, fmt, plots={})
    section = text.split("## 1 · ")[1].split("\n## ")[0]
    assert f"What sets them apart:\n\n- {NO_TRAITS}" in section
