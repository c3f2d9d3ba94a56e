"""bankseg.profiling: effect sizes, readable distinct names, profiles and the Markdown report."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from bankseg.profiling import (
    Effect,
    add_confidence,
    confidence_lines,
    effect_matrix,
    escape_markdown,
    feature_labels,
    format_amount,
    name_segments,
    profile_metrics,
    profile_segments,
    report_markdown,
    segment_effects,
    top_values,
)

PROFILE = ["kyc_status"]


def _block(n, *, age, networth, sip, income, risk, sip_status, demat, account, kyc="Verified"):
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "age": [float(age + i % 3) for i in range(n)],
            "networth": [float(networth * (1 + i % 2)) for i in range(n)],
            "sip_amount": [float(sip)] * n,
            "income_slab": [income] * n,
            "risk_id": [risk] * n,
            "sip_status": [sip_status] * n,
            "has_demat_account": [demat] * n,
            "account_type": [account] * n,
            "kyc_status": [kyc] * n,
        }
    )


@pytest.fixture(scope="module")
def three_segments():
    """15 customers in three clear segments: young savers (0), seniors (1), affluent investors (2)."""
    customers = pd.concat(
        [
            _block(6, age=25, networth=1e5, sip=0, income="Low", risk="1", sip_status="No", demat="No", account="Savings"),
            _block(4, age=70, networth=4e6, sip=0, income="Medium", risk="1", sip_status="No", demat="Yes", account="Savings", kyc="Pending"),
            _block(5, age=45, networth=1e7, sip=40000, income="High", risk="3", sip_status="Yes", demat="Yes", account="Current"),
        ],
        ignore_index=True,
    )  # fmt: skip
    segments = pd.Series([0] * 6 + [1] * 4 + [2] * 5)
    return customers, segments


@pytest.fixture(scope="module")
def effects(three_segments, params):
    customers, segments = three_segments
    return segment_effects(customers, segments, params.features, PROFILE)


@pytest.fixture(scope="module")
def names(effects):
    return name_segments(effects, top_features=3, overrides={})


def _effect(effects, segment, feature, value=None) -> Effect:
    return next(e for e in effects[segment] if e.feature == feature and e.value == value)


def test_hand_checked_effect_sizes(params):
    customers = _block(
        4, age=0, networth=1, sip=0, income="Low", risk="1", sip_status="No", demat="No", account="Savings"
    )
    customers["age"] = [20.0, 20.0, 40.0, 40.0]
    customers["account_type"] = ["Savings", "Savings", "Current", "Current"]
    segments = pd.Series([0, 0, 1, 1])
    effects = segment_effects(customers, segments, params.features, [])
    # (segment mean - base mean) / base standard deviation (sample sd of 20, 20, 40, 40).
    sd = np.std([20, 20, 40, 40], ddof=1)
    assert _effect(effects, 1, "age").effect == pytest.approx(10 / sd)
    assert _effect(effects, 0, "age").effect == pytest.approx(-10 / sd)
    # (segment share - base share) / sqrt(p (1 - p)) with p = 0.5.
    assert _effect(effects, 1, "account_type", "Current").effect == pytest.approx(1.0)
    assert _effect(effects, 1, "account_type", "Savings").effect == pytest.approx(-1.0)


def test_constant_column_is_skipped(params):
    customers = _block(
        4, age=30, networth=1, sip=0, income="Low", risk="1", sip_status="No", demat="No", account="Savings"
    )
    customers["age"] = [20.0, 30.0, 40.0, 50.0]
    effects = segment_effects(customers, pd.Series([0, 0, 1, 1]), params.features, PROFILE)
    features = {e.feature for e in effects[0]}
    assert features == {"age", "networth"}  # everything else is the same for every customer


def test_effects_are_sorted_strongest_first(effects):
    for seg_effects in effects.values():
        sizes = [abs(e.effect) for e in seg_effects]
        assert sizes == sorted(sizes, reverse=True)


def test_effect_signs_and_params_words(effects):
    senior_age = _effect(effects, 1, "age")
    young_age = _effect(effects, 0, "age")
    assert senior_age.effect > 0
    assert senior_age.phrase == "senior"  # features.numeric.age.words[1]
    assert young_age.effect < 0
    assert young_age.phrase == "young"
    assert _effect(effects, 2, "sip_status").phrase == "with active SIP"
    assert _effect(effects, 0, "sip_status").phrase == "no active SIP"
    assert _effect(effects, 2, "income_slab").phrase == "high income"
    assert _effect(effects, 0, "networth").phrase == "low net worth"
    assert _effect(effects, 1, "kyc_status", "Pending").effect > 0
    assert _effect(effects, 1, "kyc_status", "Pending").phrase == "Pending kyc status"


def test_names_are_distinct_and_readable(names):
    assert set(names) == {0, 1, 2}
    assert len(set(names.values())) == 3
    assert "young" in names[0].lower()
    assert names[1].startswith("Senior")
    assert "high sip" in names[2].lower()
    assert all(name[0].isupper() for name in names.values())


def test_names_use_the_words_from_params(three_segments, params):
    customers, segments = three_segments
    age = replace(params.features.numeric[0], words=("junior", "elder"))
    features = replace(params.features, numeric=(age, *params.features.numeric[1:]))
    names = name_segments(
        segment_effects(customers, segments, features, PROFILE), top_features=3, overrides={}
    )
    assert names[1].startswith("Elder")
    assert "junior" in names[0]
    assert "senior" not in " ".join(names.values()).lower()


def test_overrides_replace_names(effects, names):
    overridden = name_segments(effects, top_features=3, overrides={1: "Retirees", 9: "No such segment"})
    assert overridden == {0: names[0], 1: "Retirees", 2: names[2]}


def test_top_features_sets_the_number_of_phrases(effects):
    short = name_segments(effects, top_features=1, overrides={})
    assert all("," not in name for name in short.values())
    longer = name_segments(effects, top_features=4, overrides={})
    assert all(name.count(",") == 3 for name in longer.values())


def test_clashing_names_get_more_phrases_then_the_segment_id():
    effects = {
        0: [Effect("age", None, 1.0, "senior"), Effect("networth", None, 0.5, "high net worth"), Effect("sip_amount", None, 0.2, "high SIP")],
        1: [Effect("age", None, 0.9, "senior"), Effect("networth", None, 0.4, "high net worth"), Effect("sip_amount", None, -0.1, "low SIP")],
        2: [Effect("age", None, 0.8, "senior"), Effect("networth", None, 0.3, "high net worth")],
    }  # fmt: skip
    names = name_segments(effects, top_features=2, overrides={})
    assert names == {
        0: "Senior, high net worth",
        1: "Senior, high net worth, low SIP",
        2: "Senior, high net worth (segment 2)",
    }


def test_under_represented_categories_are_not_used_in_names():
    effects = {
        0: [
            Effect("account_type", "Current", -2.0, "Current account"),
            Effect("sip_status", None, 1.0, "with active SIP"),
            Effect("account_type", "Savings", 0.5, "Savings account"),
        ]
    }
    assert name_segments(effects, top_features=2, overrides={}) == {0: "With active SIP, Savings account"}


def test_ordered_traits_come_first_in_a_name():
    effects = {0: [Effect("sip_status", None, -1.5, "no active SIP"), Effect("age", None, -1.0, "young")]}
    assert name_segments(effects, top_features=3, overrides={}) == {0: "Young, no active SIP"}


def test_segment_without_differences_is_typical():
    assert name_segments({0: []}, top_features=3, overrides={}) == {0: "Typical customers"}


def test_profile_sizes_shares_and_summaries(three_segments, effects, names, params):
    customers, segments = three_segments
    profile = profile_segments(customers, segments, params.features, PROFILE, names, effects)
    assert profile["n_customers"] == 15
    assert profile["n_segments"] == 3
    assert list(profile["segments"]) == ["0", "1", "2"]
    senior = profile["segments"]["1"]
    assert senior["name"] == names[1]
    assert senior["size"] == 4
    assert senior["share"] == pytest.approx(4 / 15)
    # ages 70, 71, 72, 70; net worth 4 M, 8 M, 4 M, 8 M
    assert senior["numeric"]["age"] == {"mean": pytest.approx(70.75), "median": pytest.approx(70.5)}
    assert senior["numeric"]["networth"]["median"] == pytest.approx(6e6)
    assert senior["categories"]["kyc_status"] == {"Pending": 1.0}
    assert senior["categories"]["income_slab"] == {"Medium": 1.0}
    assert senior["differentiators"][0]["feature"] == "kyc_status=Pending"
    assert all(d["effect"] > 0 for d in senior["differentiators"] if "=" in d["feature"])
    assert senior["description"].startswith("4 customers (26.7%): median age 70.5, median net worth 6.00 M")
    assert profile["base"]["age"]["median"] == pytest.approx(45.0)
    assert sum(p["size"] for p in profile["segments"].values()) == 15


def test_report_mentions_every_segment(three_segments, effects, names, params):
    customers, segments = three_segments
    profile = profile_segments(customers, segments, params.features, PROFILE, names, effects)
    report = report_markdown(profile, params.features, plots=["segment_profile.png"])
    assert report.startswith("# Customer segments\n")
    assert "15 customers in 3 segments." in report
    for seg, name in names.items():
        assert f"## Segment {seg}: {name}" in report
        assert f"| {seg} | {name} |" in report
    assert "| net worth |" in report  # feature labels from params
    assert "![segment_profile.png](../plots/segment_profile.png)" in report
    assert report.endswith("\n")


def test_report_without_plots_has_no_plot_section(three_segments, effects, names, params):
    customers, segments = three_segments
    profile = profile_segments(customers, segments, params.features, PROFILE, names, effects)
    assert "## Plots" not in report_markdown(profile, params.features, plots=[])


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1_500_000, "1.50 M"),
        (-2_000_000, "-2.00 M"),
        (25_000, "25.0 k"),
        (9_999, "9,999"),
        (1_234.4, "1,234"),
        (100, "100"),
        (12.34, "12.3"),
        (0, "0.0"),
        (float("nan"), "n/a"),
        (None, "n/a"),
        (1e300, "1e+300"),  # once a number of 295 digits followed by " M"
        (-3.5e18, "-3.5e+18"),
        (float("inf"), "inf"),
    ],
)
def test_format_amount(value, text):
    assert format_amount(value) == text


def test_feature_labels(params):
    labels = feature_labels(params.features)
    assert labels["networth"] == "net worth"
    assert labels["age"] == "age"
    assert labels["account_type"] == "account"


def test_effect_matrix(effects, names, params):
    matrix = effect_matrix(effects, names, params.features)
    assert list(matrix.index) == [f"{seg}: {names[seg]}" for seg in (0, 1, 2)]
    assert list(matrix.columns) == sorted(matrix.columns)
    assert "account: Current" in matrix.columns
    assert "kyc status: Pending" in matrix.columns
    assert "net worth" in matrix.columns
    assert not matrix.isna().any().any()
    assert matrix.loc[f"1: {names[1]}", "age"] == pytest.approx(_effect(effects, 1, "age").effect)
    assert math.isclose(matrix.loc[f"0: {names[0]}", "age"], _effect(effects, 0, "age").effect)


def test_profile_metrics_keeps_sizes_shares_and_stability():
    profile = {
        "n_customers": 10,
        "segments": {
            "0": {
                "name": "Young",
                "size": 4,
                "share": 0.4,
                "differentiators": [{"effect": 1.0}],
                "numeric": {"age": {"mean": 30.0}},
                "stability": 0.9,
            },
            "1": {"name": "Old", "size": 6, "share": 0.6, "numeric": {}},
        },
    }
    assert profile_metrics(profile) == {
        "n_customers": 10,
        "n_segments": 2,
        "segments": {
            "0": {"size": 4, "share": 0.4, "stability": 0.9, "small": False},
            "1": {"size": 6, "share": 0.6, "small": False},
        },
    }
    profile["drivers"] = {
        "feature_shares": {"age": 0.7, "income": 0.3},
        "max_feature_share": 0.7,
        "category_agreement": {"columns": ["income"], "ari": 0.2},
        "small_segments": ["0"],
        "segment_shares": {"0": 0.4, "1": 0.6},
    }
    metrics = profile_metrics(profile)
    assert metrics["segments"]["0"]["small"] is True
    assert (metrics["max_feature_share"], metrics["category_agreement"], metrics["n_small_segments"]) == (
        0.7,
        0.2,
        1,
    )
    assert metrics["feature_shares"] == {"age": 0.7, "income": 0.3}


def test_three_words_give_a_middle_word_for_small_differences(three_segments, params):
    customers, segments = three_segments
    age = replace(params.features.numeric[0], words=("young", "middle-aged", "older"))
    features = replace(params.features, numeric=(age, *params.features.numeric[1:]))
    mild = segment_effects(customers, segments, features, PROFILE, strong_effect=100.0)
    strong = segment_effects(customers, segments, features, PROFILE, strong_effect=0.0)
    assert {e.phrase for es in mild.values() for e in es if e.feature == "age"} == {"middle-aged"}
    assert {e.phrase for es in strong.values() for e in es if e.feature == "age"} <= {"young", "older"}


def test_differences_below_min_effect_are_left_out_of_names():
    effects = {0: [Effect("age", None, 1.2, "older"), Effect("networth", None, -0.04, "low net worth")]}
    assert name_segments(effects, top_features=3, overrides={}, min_effect=0.2) == {0: "Older"}
    assert name_segments(effects, top_features=3, overrides={}) == {0: "Older, low net worth"}


def test_automatic_names_avoid_names_given_by_overrides():
    effects = {
        0: [Effect("age", None, 1.0, "senior"), Effect("sip_amount", None, 0.5, "high SIP")],
        1: [Effect("age", None, 0.9, "senior"), Effect("sip_amount", None, -0.5, "low SIP")],
    }
    names = name_segments(effects, top_features=1, overrides={0: "Senior"})
    assert names == {0: "Senior", 1: "Senior, low SIP"}


def _confidence(structure, mean_ari, n_unstable=0):
    return {
        "choices": {"knee": 5, "gap": 1 if structure is False else 6, "consensus": 5},
        "suggested_k": 5,
        "reason": "chosen by elbow.method=consensus",
        "structure": structure,
        "mean_ari": mean_ari,
        "threshold": 0.75,
        "n_unstable": n_unstable,
    }


def test_report_says_when_the_data_have_no_segment_structure():
    text = "\n".join(confidence_lines(_confidence(False, 0.4, n_unstable=3)))
    assert "no clear segment structure" in text
    assert "not stable" in text
    assert "3 segment(s) fall below the stability threshold" in text
    assert "consensus 5" not in text and "knee 5" in text


def test_report_confirms_structure_and_stability():
    text = "\n".join(confidence_lines(_confidence(True, 0.99)))
    assert "finds segment structure (its choice: K=6)" in text
    assert "find the same segments (mean adjusted Rand index 0.99)" in text
    assert "not stable" not in text
    assert confidence_lines(None) == []


def test_profile_carries_stability_and_under_represented_values(three_segments, effects, names, params):
    customers, segments = three_segments
    profile = profile_segments(customers, segments, params.features, PROFILE, names, effects)
    stability = {
        "segments": {"0": {"jaccard": 0.95, "stable": True}, "1": {"jaccard": 0.5, "stable": False}, "2": {"jaccard": 0.9, "stable": True}},
        "mean_ari": 0.8,
        "threshold": 0.75,
        "n_unstable": 1,
    }  # fmt: skip
    profile = add_confidence(
        profile, {"choices": {"gap": 3}, "suggested_k": 3, "reason": "r", "structure": True}, stability
    )
    assert profile["segments"]["1"]["stable"] is False
    report = report_markdown(profile, params.features, plots=[])
    assert "Bootstrap stability (Jaccard): 0.50, **unstable**" in report
    assert "## How sure are these segments?" in report
    for p in profile["segments"].values():
        assert all(d["effect"] <= -0.1 and "=" in d["feature"] for d in p["under_represented"])


def test_report_shows_names_and_values_from_the_data_as_text(three_segments, params):
    """A category value or a name can hold Markdown: in the report it loads and formats nothing."""
    customers, segments = three_segments
    customers = customers.assign(
        kyc_status=["![pixel](http://tracker.invalid/p.png)"] * 6 + ["a | b\nc"] * 4 + ["<img src=x>"] * 5
    )
    effects = segment_effects(customers, segments, params.features, PROFILE)
    names = {0: "**Bold** [link](http://x.invalid)", 1: "Seniors", 2: "Affluent"}
    profile = profile_segments(customers, segments, params.features, PROFILE, names, effects)
    report = report_markdown(profile, params.features, plots=[])
    unescaped = re.compile(r"(?<!\\)(!\[|<img|\[link\])")
    assert not unescaped.search(report), unescaped.search(report)
    assert "\\!\\[pixel\\](http://tracker.invalid/p.png)" in report and "\\<img src=x\\>" in report
    cells = [len(re.findall(r"(?<!\\)\|", line)) for line in report.splitlines() if line.startswith("| ")]
    assert set(cells) == {3, 5}  # 2- and 4-column tables: a | in a value is escaped, rows keep their cells
    assert "| 0 | \\*\\*Bold\\*\\* \\[link\\](http://x.invalid) |" in report


def test_escape_markdown():
    assert escape_markdown("a_b *c* [d](e) <f> | #g !h ~i $j &k\nnext") == (
        "a\\_b \\*c\\* \\[d\\](e) \\<f\\> \\| \\#g \\!h \\~i \\$j \\&k next"
    )


def test_a_column_with_thousands_of_values_gives_a_bounded_profile(three_segments, effects, names, params):
    customers, segments = three_segments
    many = customers.assign(kyc_status=[f"value {i}" for i in range(len(customers))])
    assert top_values(many["kyc_status"], 4).tolist().count("other values") == len(customers) - 3
    grouped = top_values(pd.Series(["b", "a", "a", "c", "c", "d", None]), 3)
    assert grouped.tolist()[:6] == ["other values", "a", "a", "c", "c", "other values"]
    assert pd.isna(grouped.iloc[6])
    big = pd.concat([many] * 3, ignore_index=True).assign(kyc_status=[f"v{i}" for i in range(45)])
    effects = segment_effects(big, pd.concat([segments] * 3, ignore_index=True), params.features, PROFILE)
    profile = profile_segments(
        big, pd.concat([segments] * 3, ignore_index=True), params.features, PROFILE, names, effects
    )
    for p in profile["segments"].values():
        assert len(p["categories"]["kyc_status"]) <= 20


def test_a_stray_personal_value_in_a_category_is_never_named():
    values = pd.Series(["Verified"] * 5 + ["Pending"] * 3 + ["asha.rao@example.com", "ABCPK1234F"])
    assert top_values(values).tolist() == ["Verified"] * 5 + ["Pending"] * 3 + ["other values"] * 2
