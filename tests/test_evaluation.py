"""bankseg.segmentation.evaluation: what drives the segments, fairness, outcomes, and their warnings."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from bankseg.data.cleaning import rejection_comparison, selective_warnings
from bankseg.params import FairnessParams, Outcome
from bankseg.segmentation.evaluation import driver_warnings, fairness, outcomes, segment_drivers


@pytest.fixture(scope="module")
def by_demat(cleaned, fitted):
    """Segments that are exactly the customers with and without a demat account."""
    preprocessing, X = fitted
    customers = cleaned.kept
    labels = (customers["has_demat_account"] == "Yes").to_numpy().astype(int)
    return customers, X, preprocessing, labels


def test_segments_made_by_one_column_are_found_and_named(by_demat, params):
    customers, X, preprocessing, labels = by_demat
    drivers = segment_drivers(X, labels, preprocessing, customers, params.features, min_share=0.03)
    shares = drivers["feature_shares"]
    assert set(shares) == set(params.features.columns)
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-5)
    assert max(shares, key=shares.get) == "has_demat_account"
    assert drivers["max_feature_share"] == shares["has_demat_account"] > 0.4
    assert drivers["category_agreement"]["columns"] == ["has_demat_account"]
    assert drivers["category_agreement"]["ari"] == pytest.approx(1.0)
    warnings = driver_warnings(drivers, params)
    assert any(w.startswith("demat account alone makes") for w in warnings)
    # Read back from JSON (keys sorted), the largest share is still the one named.
    reread = json.loads(json.dumps(drivers, sort_keys=True))
    assert [w for w in driver_warnings(reread, params) if "alone makes" in w] == [
        w for w in warnings if "alone makes" in w
    ]
    assert any("essentially the combinations of demat account" in w for w in warnings)
    json.dumps(drivers, allow_nan=False)


def test_small_segments_are_flagged(by_demat, params):
    customers, X, preprocessing, _ = by_demat
    labels = np.zeros(len(customers), dtype=int)
    labels[:20] = 1  # about 1 % of the customers
    drivers = segment_drivers(X, labels, preprocessing, customers, params.features, min_share=0.03)
    assert drivers["small_segments"] == ["1"]
    assert drivers["segment_shares"]["1"] == pytest.approx(20 / len(customers), abs=1e-6)
    assert any(w.startswith("segment 1 holds only 1.") for w in driver_warnings(drivers, params))
    relaxed = segment_drivers(X, labels, preprocessing, customers, params.features, min_share=0.001)
    assert relaxed["small_segments"] == []


def test_a_protected_column_the_segments_follow_is_flagged(cleaned, params):
    customers = cleaned.kept.copy()
    segments = pd.Series(np.arange(len(customers)) % 2, index=customers.index)
    customers["Gender"] = np.where(segments == 1, "F", "M")  # exactly the segments
    customers["nationality"] = "Indian"
    found = fairness(customers, segments, params)
    assert found.metrics["flagged"] == ["Gender"]
    assert found.metrics["columns"]["Gender"]["association"] == pytest.approx(1.0)
    assert found.metrics["columns"]["nationality"]["association"] == 0.0
    assert found.metrics["max_association"] == pytest.approx(1.0)
    assert found.warnings == [
        "the segments follow the protected attribute Gender (Cramér's V 1.00 > fairness.max_association "
        "0.3): offers targeted by segment would treat its groups differently"
    ]
    unrelated = customers.assign(Gender=np.where(np.arange(len(customers)) % 3 == 0, "F", "M"))
    assert fairness(unrelated, segments, params).metrics["flagged"] == []


def test_a_protected_feature_used_knowingly_is_named(cleaned, params):
    opted = replace(params, fairness=FairnessParams(protected=("age",), use_as_feature=("age",)))
    found = fairness(cleaned.kept, pd.Series(0, index=cleaned.kept.index), opted)
    assert found.metrics["used_as_features"] == ["age"]
    assert any("protected attribute age is used as a feature" in w for w in found.warnings)


def test_outcome_rates_lift_and_association(cleaned, params):
    customers = cleaned.kept.copy()
    segments = pd.Series(np.arange(len(customers)) % 2, index=customers.index)
    # Segment 1 subscribes twice as often as segment 0: 40 % against 20 %.
    rng = np.random.default_rng(0)
    p = np.where(segments == 1, 0.4, 0.2)
    customers["subscribed"] = np.where(rng.random(len(customers)) < p, "yes", "no")
    customers["revenue"] = np.where(segments == 1, 200.0, 100.0)
    with_outcomes = replace(
        params, outcomes=(Outcome("subscribed", "took the offer"), Outcome("revenue", "revenue"))
    )
    found = outcomes(customers, segments, with_outcomes, {0: "a", 1: "b"})
    rate = found.metrics["outcomes"]["subscribed"]
    assert rate["kind"] == "rate" and rate["positive"] == "yes"
    observed = customers.groupby(segments)["subscribed"].apply(lambda s: (s == "yes").mean())
    assert rate["segments"]["1"]["rate"] == pytest.approx(observed[1])
    assert rate["segments"]["1"]["lift"] == pytest.approx(observed[1] / rate["overall"])
    assert rate["best_segment"] == "1"
    assert 0.15 < rate["association"] < 0.35
    revenue = found.metrics["outcomes"]["revenue"]
    assert revenue["kind"] == "mean" and revenue["association"] == pytest.approx(1.0)
    assert found.metrics["max_association"] == pytest.approx(1.0)
    json.dumps(found.metrics, allow_nan=False)
    missing = outcomes(customers, segments, replace(params, outcomes=(Outcome("churn"),)), {})
    assert missing.warnings == ["outcome column churn is not in the customers: nothing to judge"]


def test_rejected_rows_that_differ_are_selective(params):
    outcome = replace(params, outcomes=(Outcome("bad_payer", positive="1"),))
    kept = {"bad_payer": Counter({"1": 25, "0": 75}), "region": Counter({"north": 50, "south": 50})}
    rejected = {"bad_payer": Counter({"1": 55, "0": 45}), "region": Counter({"north": 5, "south": 5})}
    comparison = rejection_comparison(kept, rejected, outcome)
    entry = comparison["outcomes"]["bad_payer"]
    assert (entry["kept_rate"], entry["rejected_rate"]) == (0.25, 0.55)
    assert entry["selective"] and comparison["selective"] == ["bad_payer"]
    assert comparison["columns"]["region"] == {"distance": 0.0, "selective": False}
    [warning] = selective_warnings(comparison)
    assert "55% among rejected rows against 25% among kept ones" in warning
    alike = {"bad_payer": Counter({"1": 26, "0": 74}), "region": Counter({"north": 9, "south": 1})}
    fair = rejection_comparison(kept, alike, outcome)
    assert fair["selective"] == ["region"]  # 90 % north against 50 %: distance 0.4
    assert not fair["outcomes"]["bad_payer"]["selective"]
