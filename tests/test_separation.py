"""bankseg.segmentation.separation: which features drive the segments, and whether categories explain them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from bankseg.segmentation.encoding import build_preprocessing, fit_preprocessing
from bankseg.segmentation.separation import category_agreement, feature_groups, separation_shares


def test_feature_groups_map_every_encoded_column_to_its_feature(fitted, params):
    preprocessing, X = fitted
    groups = feature_groups(preprocessing)
    assert list(groups) == params.features.columns
    assert len(groups["account_type"]) > 1  # one-hot: one column per value
    assert all(c.startswith("account_type_") for c in groups["account_type"])
    assert groups["age"] == ["age"]
    assert [c for cols in groups.values() for c in cols] == list(X.columns)


def test_feature_groups_put_a_missing_value_indicator_with_its_feature(cleaned, params):
    customers = cleaned.kept.copy()
    customers.loc[customers.index[:10], "age"] = np.nan
    age = replace(params.features.numeric[0], flag_missing=True)
    features = replace(params.features, numeric=(age, *params.features.numeric[1:]))
    preprocessing, X = fit_preprocessing(customers, features, params.featurize)
    groups = feature_groups(preprocessing)
    assert groups["age"] == ["age", "missingindicator_age"]
    assert sorted(c for cols in groups.values() for c in cols) == sorted(X.columns)


def test_feature_groups_need_a_fitted_encode_step(params):
    with pytest.raises(ValueError, match="preprocessing=Pipeline"):
        feature_groups(build_preprocessing(params.features, params.featurize))
    with pytest.raises(ValueError, match="step 'scale'"):
        feature_groups(object())


def test_separation_shares_by_hand():
    # a: segment means 0 and 2 around 1 -> 2*1 + 2*1 = 4; c: means 1 and 1 -> 0;
    # d: means 0 and 1 around 0.5 -> 2*0.25 + 2*0.25 = 1. Total 5.
    X = pd.DataFrame({"a": [0.0, 0.0, 2.0, 2.0], "c": [0.0, 2.0, 1.0, 1.0], "d": [0.0, 0.0, 0.0, 2.0]})
    shares = separation_shares(X, [0, 0, 1, 1], {"y": ["c", "d"], "x": ["a"]})
    assert list(shares) == ["x", "y"]
    assert shares["x"] == pytest.approx(0.8) and shares["y"] == pytest.approx(0.2)


def test_separation_weighs_each_segment_by_its_size():
    # Segments of 4, 1 and 1. a: means 0, 6, 0 around 1 -> 4*1 + 1*25 + 1*1 = 30;
    # c: means 3, 0, 0 around 2 -> 4*1 + 1*4 + 1*4 = 12. Total 42.
    X = pd.DataFrame({"a": [0.0, 0, 0, 0, 6, 0], "c": [3.0, 3, 3, 3, 0, 0]})
    shares = separation_shares(X, [0, 0, 0, 0, 1, 2], {"a": ["a"], "c": ["c"]})
    assert shares == pytest.approx({"a": 30 / 42, "c": 12 / 42})


def test_a_feature_with_equal_segment_means_has_no_share():
    X = pd.DataFrame({"kind": [0.0, 0.0, 0.0, 1.0, 1.0, 1.0], "noise": [1.0, 2.0, 3.0, 3.0, 2.0, 1.0]})
    labels = np.array(["b", "b", "b", "a", "a", "a"])
    shares = separation_shares(X, labels, {"noise": ["noise"], "kind": ["kind"]})
    assert shares == {"kind": pytest.approx(1.0), "noise": pytest.approx(0.0, abs=1e-12)}
    assert list(shares) == ["kind", "noise"]


def test_separation_shares_do_not_depend_on_segment_numbers_and_sum_to_one(fitted, cleaned):
    preprocessing, X = fitted
    groups = feature_groups(preprocessing)
    codes = pd.factorize(cleaned.kept["account_type"])[0]
    shares = separation_shares(X, codes, groups)
    assert sum(shares.values()) == pytest.approx(1.0)
    assert next(iter(shares)) == "account_type"  # segments that are the account types
    renumbered = separation_shares(X, 10 - 3 * codes, groups)
    assert renumbered == pytest.approx(shares)
    assert list(renumbered) == list(shares)


def test_a_single_segment_gives_all_zero_shares_in_name_order():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 1.0, 2.0]})
    shares = separation_shares(X, [4, 4, 4], {"b": ["b"], "a": ["a"]})
    assert shares == {"a": 0.0, "b": 0.0} and list(shares) == ["a", "b"]


def test_separation_shares_reject_inputs_that_do_not_fit():
    X = pd.DataFrame({"a": [1.0, 2.0, np.nan]})
    with pytest.raises(ValueError, match="one label per row"):
        separation_shares(X, [0, 1], {"a": ["a"]})
    with pytest.raises(ValueError, match=r"\['z'\]"):
        separation_shares(X, [0, 1, 1], {"a": ["a"], "z": ["z"]})
    with pytest.raises(ValueError, match="X has missing values"):
        separation_shares(X, [0, 1, 1], {"a": ["a"]})
    with pytest.raises(ValueError, match="labels has missing values"):
        separation_shares(X.fillna(0.0), [0, 1, None], {"a": ["a"]})


@pytest.fixture
def categories() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 600
    return pd.DataFrame(
        {
            "kind": rng.choice(["x", "y", "z"], n),
            "flag": rng.choice(["yes", "no"], n),
            "noise": rng.choice(list("abcdef"), n),
            "constant": ["c"] * n,
        },
        index=np.arange(n) * 7,  # positions, not index labels, pair customers with labels
    )


def test_segments_that_are_one_column_agree_with_it_exactly(categories):
    labels = 5 - pd.factorize(categories["kind"])[0]
    result = category_agreement(categories, labels, ["noise", "flag", "kind"])
    assert result == {"columns": ["kind"], "ari": pytest.approx(1.0)}


def test_segments_that_are_a_pair_of_columns_agree_with_the_pair(categories):
    labels = pd.factorize(categories["kind"] + categories["flag"])[0]
    assert category_agreement(categories, labels, ["kind", "flag", "noise"]) == {
        "columns": ["flag", "kind"],
        "ari": pytest.approx(1.0),
    }
    single = category_agreement(categories, labels, ["kind", "flag", "noise"], max_columns=1)
    assert single["columns"] == ["kind"] and 0.2 < single["ari"] < 0.9


def test_agreement_ties_go_to_fewer_columns_then_names(categories):
    frame = categories.assign(same_kind=categories["kind"])
    labels = pd.factorize(frame["kind"])[0]
    # kind, same_kind, and kind with the constant column are all the same groups.
    result = category_agreement(frame, labels, ["same_kind", "constant", "kind"])
    assert result["columns"] == ["kind"]


def test_missing_values_are_a_group_of_their_own():
    frame = pd.DataFrame({"channel": ["web", None, "branch", None, "web", "branch"]})
    labels = [0, 1, 2, 1, 0, 2]
    assert category_agreement(frame, labels, ["channel"]) == {"columns": ["channel"], "ari": 1.0}


def test_missing_values_are_a_group_of_their_own_in_pairs_too():
    # (p, missing) and (missing, v) are different groups, whatever the codes of missing values.
    frame = pd.DataFrame(
        {
            "a": ["p", "p", None, "q", "p", "p", None, "q"],
            "b": ["u", None, "v", "u", "u", None, "v", "u"],
        }
    )
    labels = [0, 1, 2, 3, 0, 1, 2, 3]
    assert category_agreement(frame, labels, ["a", "b"]) == {"columns": ["a", "b"], "ari": 1.0}


def test_agreement_on_a_seeded_sample(categories):
    labels = np.where(categories["kind"].to_numpy() == "x", 1, 0)
    labels[:40] = 1 - labels[:40]  # some disagreement, so the sample matters
    first = category_agreement(categories, labels, ["kind", "noise"], sample_size=100, random_state=3)
    again = category_agreement(categories, labels, ["kind", "noise"], sample_size=100, random_state=3)
    full = category_agreement(categories, labels, ["kind", "noise"])
    assert first == again and first["columns"] == ["kind"]
    assert first["ari"] != full["ari"]


def test_agreement_without_columns_is_none_and_bad_arguments_are_named(categories):
    labels = np.zeros(len(categories), dtype=int)
    assert category_agreement(categories, labels, []) is None
    with pytest.raises(ValueError, match="not columns"):
        category_agreement(categories, labels, ["kind", "missing_column"])
    with pytest.raises(ValueError, match="max_columns=0"):
        category_agreement(categories, labels, ["kind"], max_columns=0)
    with pytest.raises(ValueError, match="one label per customer"):
        category_agreement(categories, labels[:-1], ["kind"])
