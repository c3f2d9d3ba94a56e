"""bankseg.reporting.profiling: effect sizes, profiles of the segments and their metrics."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from bankseg.reporting.naming import name_segments
from bankseg.reporting.profiling import (
    MIN_EFFECT,
    Effect,
    add_confidence,
    profile_metrics,
    profile_segments,
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
def names(effects, params):
    return name_segments(effects, params.features, top_features=3, min_effect=0.2, strong_effect=0.5).names


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
    assert _effect(effects, 2, "income_slab").phrase == "high-income"  # words of an ordered category
    assert _effect(effects, 0, "networth").phrase == "less affluent"
    assert _effect(effects, 0, "sip_amount").phrase == "low monthly SIP"  # no words: low or high
    assert _effect(effects, 1, "kyc_status", "Pending").effect > 0
    assert _effect(effects, 1, "kyc_status", "Pending").phrase == "Pending kyc status"


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
    assert profile["base_categories"]["kyc_status"] == {
        "Pending": pytest.approx(4 / 15),
        "Verified": pytest.approx(11 / 15),
    }
    assert profile["base"]["age"]["median"] == pytest.approx(45.0)
    assert sum(p["size"] for p in profile["segments"].values()) == 15


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
    assert profile["segments"]["1"]["stability"] == 0.5
    for p in profile["segments"].values():
        assert all(d["effect"] <= -0.1 and "=" in d["feature"] for d in p["under_represented"])


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


def test_a_difference_below_a_tenth_of_a_standard_deviation_is_not_a_differentiator(params):
    """Two segments that differ in age only: the account types' and the net worths' tiny
    differences are effects, but neither is what sets a segment apart."""
    same = {"networth": 1e5, "sip": 0, "income": "Low", "risk": "1", "sip_status": "No", "demat": "No"}
    young = _block(100, age=25, account="Savings", **same)
    old = _block(100, age=70, account="Savings", **same)
    young.loc[:50, "account_type"] = "Current"  # 51 of 100
    old.loc[:48, "account_type"] = "Current"  # 49 of 100
    old.loc[0, "networth"] = 1.01e5
    customers = pd.concat([young, old], ignore_index=True)
    segments = pd.Series([0] * 100 + [1] * 100)
    effects = segment_effects(customers, segments, params.features, PROFILE)
    assert any(0 < abs(e.effect) < MIN_EFFECT for e in effects[0])  # the tiny ones exist
    profile = profile_segments(customers, segments, params.features, PROFILE, {0: "young", 1: "old"}, effects)
    for seg in ("0", "1"):
        [only] = profile["segments"][seg]["differentiators"]
        assert only["feature"] == "age"
        assert abs(only["effect"]) >= MIN_EFFECT
