"""bankseg.segmentation.encoding: one preprocessing, fitted on the training customers and reused unchanged."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import skew

from bankseg.data.cleaning import clean_customers
from bankseg.data.generate import generate_customers
from bankseg.features import FeatureScaler
from bankseg.params import FeaturizeParams
from bankseg.segmentation.encoding import (
    build_preprocessing,
    feature_frame,
    fit_preprocessing,
    fitted_logs,
    log_choice,
)

EXPECTED_COLUMNS = [
    "age",
    "networth",
    "sip_amount",
    "income_slab",
    "risk_id",
    "sip_status",
    "has_demat_account",
    "account_type_Current",
    "account_type_Savings",
]


# The proof of concept's scaling: every column, indicators included, min-max scaled to [1, 10].
MINMAX = FeaturizeParams(scaler="minmax", feature_range=(1.0, 10.0), balance=False, min_frequency=0.0)


def _fit(customers, params, featurize=None):
    return fit_preprocessing(customers, params.features, featurize or MINMAX)


def _transform(preprocessing, customers, params) -> pd.DataFrame:
    return preprocessing.transform(feature_frame(customers, params.features))


@pytest.fixture
def three(params):
    """Three cleaned customers whose scaled values are easy to work out by hand."""
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "age": [20.0, 30.0, 40.0],
            "networth": [0.0, np.e - 1, np.e**2 - 1],  # log1p: 0, 1, 2
            "sip_amount": [0.0, np.e**0.5 - 1, np.e - 1],  # log1p: 0, 0.5, 1
            "income_slab": ["Low", "Medium", "High"],
            "risk_id": ["1", "4", "4"],
            "sip_status": ["No", "Yes", "Yes"],
            "has_demat_account": ["Yes", "No", "No"],
            "account_type": ["Savings", "Current", "Savings"],
            "kyc_status": ["Verified", "Pending", "Verified"],
        }
    )


def test_columns_and_shape(cleaned, fitted):
    _, X = fitted
    assert list(X.columns) == EXPECTED_COLUMNS
    assert len(X) == len(cleaned.kept)
    assert X.index.equals(cleaned.kept.index)
    assert not X.isna().any().any()  # missing values were imputed


def test_minmax_range_is_respected_on_training_data(cleaned, params):
    preprocessing, X = _fit(cleaned.kept, params)
    assert isinstance(preprocessing.named_steps["scale"], FeatureScaler)
    assert np.allclose(X.min().to_numpy(), 1.0)
    assert np.allclose(X.max().to_numpy(), 10.0)


def test_numbers_are_standardised_and_each_category_counts_as_one_feature(fitted, params):
    """The default: every number (and ordered category code) has variance 1, and the one-hot
    columns of a categorical feature have variance 1 together, whatever its number of values."""
    _, X = fitted
    assert params.featurize.scaler == "standard" and params.featurize.balance
    variance = X.var(ddof=0)
    for column in ("age", "networth", "sip_amount", "income_slab", "risk_id", "sip_status"):
        assert variance[column] == pytest.approx(1.0), column
        assert X[column].mean() == pytest.approx(0.0, abs=1e-9), column
    onehot = [c for c in X.columns if c.startswith("account_type_")]
    assert len(onehot) == 2
    assert variance[onehot].sum() == pytest.approx(1.0)


def test_a_category_with_many_values_weighs_as_much_as_one_with_two(cleaned, params):
    customers = cleaned.kept.copy()
    customers["account_type"] = np.array(["A", "B", "C", "D", "E"])[np.arange(len(customers)) % 5]
    _, X = _fit(customers, params, params.featurize)
    onehot = [c for c in X.columns if c.startswith("account_type_")]
    assert len(onehot) == 5
    assert X[onehot].var(ddof=0).sum() == pytest.approx(1.0)
    # Unbalanced, the five indicators would carry the variance of 5 * 0.16 / 0.16... of 5 numbers.
    _, unbalanced = _fit(customers, params, replace(params.featurize, balance=False))
    assert unbalanced[onehot].var(ddof=0).sum() == pytest.approx(5.0)


def test_weight_is_the_number_of_features_a_feature_counts_as(cleaned, params):
    features = params.features
    age = replace(features.numeric[0], weight=4.0)
    account = replace(features.categorical[-1], weight=0.5)
    weighted = replace(
        features, numeric=(age, *features.numeric[1:]), categorical=(*features.categorical[:-1], account)
    )
    _, X = fit_preprocessing(cleaned.kept, weighted, params.featurize)
    assert X["age"].var(ddof=0) == pytest.approx(4.0)
    assert X[[c for c in X.columns if c.startswith("account_type_")]].var(ddof=0).sum() == pytest.approx(0.5)
    assert X["networth"].var(ddof=0) == pytest.approx(1.0)


def test_a_bounded_share_column_is_not_inflated(cleaned, params):
    """A share in 0..1 that is nearly always 0 (a frequency) keeps variance 1 like any number:
    no single customer is pushed dozens of spreads away, as an IQR scaling does."""
    customers = cleaned.kept.copy()
    rng = np.random.default_rng(0)
    share = np.where(rng.random(len(customers)) < 0.3, rng.uniform(0.01, 0.03, len(customers)), 0.0)
    share[::20] = 1.0  # a few customers always use it
    customers["age"] = share
    age = replace(params.features.numeric[0], log=False, range=None)
    features = replace(params.features, numeric=(age, *params.features.numeric[1:]))
    _, X = fit_preprocessing(customers, features, params.featurize)
    assert X["age"].var(ddof=0) == pytest.approx(1.0)
    assert X["age"].abs().max() < 10
    _, robust = fit_preprocessing(customers, features, replace(params.featurize, scaler="robust"))
    assert robust["age"].abs().max() > X["age"].abs().max()


def test_log_auto_takes_the_log_of_heavily_skewed_columns_only(params):
    rng = np.random.default_rng(0)
    money = pd.Series(rng.lognormal(10, 1.5, 5000))
    balance = money - money.median()  # the same tail, below zero too
    age = pd.Series(rng.normal(45, 12, 5000))
    assert skew(money) > 2
    assert log_choice(money, "auto", 2.0) == "arcsinh"
    assert log_choice(balance, "auto", 2.0) == "arcsinh"  # defined below zero too
    assert log_choice(age, "auto", 2.0) is None
    assert log_choice(age, True, 2.0) == "log1p"
    assert log_choice(money, False, 2.0) is None
    assert log_choice(pd.Series([5.0, 5.0, 5.0, np.nan]), "auto", 2.0) is None


def test_the_log_chosen_on_the_training_customers_stays_in_the_model(cleaned, params):
    customers = cleaned.kept.copy()
    customers["age"] = np.random.default_rng(1).lognormal(3, 1.2, len(customers))
    age = replace(params.features.numeric[0], log="auto", range=None)
    features = replace(params.features, numeric=(age, *params.features.numeric[1:]))
    preprocessing, X = fit_preprocessing(customers, features, params.featurize)
    assert fitted_logs(preprocessing)["age"] == "arcsinh"
    one = customers.iloc[[0]].assign(age=customers["age"].iloc[0])
    scaled = preprocessing.transform(feature_frame(one, features))
    assert scaled["age"].iloc[0] == pytest.approx(X["age"].iloc[0])


def test_flag_missing_adds_an_indicator_beside_the_imputed_value(cleaned, params):
    customers = cleaned.kept.copy()
    customers.loc[customers.index[:100], "networth"] = np.nan
    gaps = customers["networth"].isna()
    networth = replace(params.features.numeric[1], flag_missing=True)
    features = replace(
        params.features, numeric=(params.features.numeric[0], networth, params.features.numeric[2])
    )
    preprocessing, X = fit_preprocessing(customers, features, params.featurize)
    flag = X["missingindicator_networth"]
    assert sorted(flag.unique()) == [0.0, pytest.approx(1.0)]  # one spread between with and without
    assert (flag[gaps] > 0).all() and (flag[~gaps] == 0).all()
    new = customers.iloc[[200]].assign(networth=np.nan)
    assert preprocessing.transform(feature_frame(new, features))["missingindicator_networth"].iloc[0] > 0


def test_rare_values_share_one_column(cleaned, params):
    customers = cleaned.kept.copy()
    values = np.array(["Savings"] * 60 + ["Current"] * 37 + ["Joint"] * 2 + ["Trust"] * 1)
    customers["account_type"] = values[np.arange(len(customers)) % 100]
    _, X = fit_preprocessing(customers, params.features, params.featurize)
    onehot = sorted(c for c in X.columns if c.startswith("account_type_"))
    assert onehot == ["account_type_Current", "account_type_Savings", "account_type_infrequent_sklearn"]


def test_hand_checked_encoding_and_scaling(three, params):
    _, X = _fit(three, params)
    assert X["age"].tolist() == pytest.approx([1.0, 5.5, 10.0])
    assert X["networth"].tolist() == pytest.approx([1.0, 5.5, 10.0])  # log1p, then scaled
    assert X["sip_amount"].tolist() == pytest.approx([1.0, 5.5, 10.0])  # log1p too
    assert X["income_slab"].tolist() == pytest.approx([1.0, 5.5, 10.0])  # Low < Medium < High
    assert X["risk_id"].tolist() == pytest.approx([1.0, 10.0, 10.0])
    assert X["sip_status"].tolist() == pytest.approx([1.0, 10.0, 10.0])  # No = 0, Yes = 1
    assert X["has_demat_account"].tolist() == pytest.approx([10.0, 1.0, 1.0])
    assert X["account_type_Current"].tolist() == pytest.approx([1.0, 10.0, 1.0])
    assert X["account_type_Savings"].tolist() == pytest.approx([10.0, 1.0, 10.0])


def test_fitted_preprocessing_is_reused_on_another_batch(cleaned, fitted, params):
    """The same customer gets the same features whoever else is in the batch: no refit."""
    preprocessing, X = fitted
    training = cleaned.kept
    other, _ = generate_customers(300, seed=99, first_id=90_000)
    other = clean_customers(other, params, source="other.csv").kept
    picked = [3, 250, 1000]
    batch = pd.concat([other, training.iloc[picked]], ignore_index=True)
    batch_X = _transform(preprocessing, batch, params)
    assert np.allclose(batch_X.tail(3).to_numpy(), X.iloc[picked].to_numpy())
    # A refit on this batch would give other values: the check above can fail.
    _, refit = _fit(batch, params)
    assert not np.allclose(refit.tail(3).to_numpy(), X.iloc[picked].to_numpy())


def test_single_customer_is_scaled_as_in_training(three, params):
    preprocessing, X = _fit(three, params)
    alone = _transform(preprocessing, three.iloc[[1]], params)
    assert np.allclose(alone.to_numpy(), X.iloc[[1]].to_numpy())


def test_new_values_beyond_the_training_range_are_not_clipped(three, params):
    preprocessing, _ = _fit(three, params)
    older = three.iloc[[2]].assign(age=50.0)
    assert _transform(preprocessing, older, params)["age"].iloc[0] == pytest.approx(14.5)


def test_imputation_uses_training_statistics(three, params):
    preprocessing, _ = _fit(three, params)
    gaps = three.iloc[[0]].assign(age=np.nan, networth=np.nan, sip_amount=np.nan, income_slab=None)
    X = _transform(preprocessing, gaps, params)
    assert X["age"].iloc[0] == pytest.approx(5.5)  # training median age 30
    assert X["networth"].iloc[0] == pytest.approx(5.5)  # median net worth e - 1, log1p 1
    assert X["sip_amount"].iloc[0] == pytest.approx(1.0)  # policy zero
    # most_frequent among Low/Medium/High (a tie) is the first in sorted order: High
    assert X["income_slab"].iloc[0] == pytest.approx(10.0)


def test_unseen_onehot_category_encodes_as_all_zeros(three, params):
    preprocessing, _ = _fit(three, params)
    X = _transform(preprocessing, three.iloc[[0]].assign(account_type="Premium"), params)
    assert X["account_type_Current"].iloc[0] == pytest.approx(1.0)  # 0 scaled to the range's low end
    assert X["account_type_Savings"].iloc[0] == pytest.approx(1.0)


def test_onehot_creates_one_column_per_category(three, params):
    customers = pd.concat([three, three.iloc[[0]].assign(customer_id="d", account_type="Joint")])
    customers = customers.reset_index(drop=True)
    _, X = _fit(customers, params)
    onehot = [c for c in X.columns if c.startswith("account_type_")]
    assert onehot == ["account_type_Current", "account_type_Joint", "account_type_Savings"]
    # Exactly one category is "on" (scaled to 10) per customer.
    assert ((X[onehot] == 10.0).sum(axis=1) == 1).all()
    assert X.loc[3, "account_type_Joint"] == pytest.approx(10.0)


@pytest.mark.parametrize("scaler", ["minmax", "standard", "robust"])
def test_scaler_is_selectable(params, scaler):
    featurize = FeaturizeParams(scaler=scaler, feature_range=(1.0, 10.0))
    pipeline = build_preprocessing(params.features, featurize)
    assert pipeline.named_steps["scale"].scaler == scaler


def test_the_scaling_inverts(fitted):
    preprocessing, X = fitted
    scale = preprocessing.named_steps["scale"]
    encoded = scale.inverse_transform(X)
    assert np.allclose(scale.transform(encoded), X.to_numpy())


def test_standard_scaler_centres_and_scales(cleaned, params):
    _, X = _fit(cleaned.kept, params, replace(params.featurize, scaler="standard", balance=False))
    assert np.allclose(X.mean().to_numpy(), 0.0, atol=1e-9)
    assert np.allclose(X.std(ddof=0).to_numpy(), 1.0)


def test_robust_scaler_centres_numeric_columns_on_the_median(cleaned, params):
    _, X = _fit(cleaned.kept, params, replace(params.featurize, scaler="robust"))
    for column in ("age", "networth", "sip_amount"):
        assert X[column].median() == pytest.approx(0.0, abs=1e-9), column
    assert X["age"].min() < -0.5
    assert X["age"].max() > 0.5


def test_other_feature_range(three, params):
    _, X = _fit(three, params, replace(MINMAX, feature_range=(0.0, 1.0)))
    assert X["age"].tolist() == pytest.approx([0.0, 0.5, 1.0])


def test_feature_frame_types(cleaned, params):
    frame = feature_frame(cleaned.kept, params.features)
    assert list(frame.columns) == params.features.columns
    for column in ("age", "networth", "sip_amount"):
        assert frame[column].dtype == np.float64
    assert frame["income_slab"].dtype == object
    missing_income = cleaned.kept["income_slab"].isna()
    assert missing_income.any()
    assert frame.loc[missing_income, "income_slab"].map(lambda v: isinstance(v, float) and np.isnan(v)).all()


@pytest.mark.parametrize("dtype", [object, "str"])
def test_feature_frame_shares_one_object_per_category(cleaned, params, dtype):
    customers = cleaned.kept.astype({"account_type": dtype, "income_slab": dtype})
    frame = feature_frame(customers, params.features)
    for column in ("account_type", "income_slab"):
        given = customers[column]
        assert frame[column].fillna("-").tolist() == given.astype(object).fillna("-").tolist()
        present = frame.loc[given.notna(), column]
        assert present.map(type).eq(str).all()
        assert len({id(v) for v in present}) == present.nunique()


def test_fitting_does_not_change_the_customers(three, params):
    before = three.copy()
    _fit(three, params)
    pd.testing.assert_frame_equal(three, before)


def _many_account_types(cleaned, counts: dict[str, int]) -> pd.DataFrame:
    values = [v for v, n in counts.items() for _ in range(n)]
    customers = pd.concat([cleaned.kept] * 2, ignore_index=True).head(len(values)).copy()
    customers["account_type"] = values
    return customers


def test_a_one_hot_feature_with_thousands_of_values_stays_bounded(cleaned, params, caplog):
    """Thousands of distinct values once asked for a column each (gigabytes at scale)."""
    counts = {f"type{i:04d}": 1 for i in range(1000)} | {"Savings": 200, "Current": 100}
    customers = _many_account_types(cleaned, counts)
    featurize = replace(params.featurize, max_categories=4, min_frequency=0.0)
    with caplog.at_level("INFO"):
        _, scaled = fit_preprocessing(customers, params.features, featurize)
    onehot = [c for c in scaled.columns if c.startswith("account_type")]
    assert len(onehot) == 4
    assert {"account_type_Savings", "account_type_Current"} <= set(onehot)
    assert "account_type: 1,002 distinct values; the 3 most frequent have columns of their own" in caplog.text


def test_a_one_hot_feature_under_the_limit_is_not_grouped(three, params, caplog):
    _, scaled = fit_preprocessing(three, params.features, params.featurize)
    assert not [c for c in scaled.columns if "infrequent" in c]
    assert "share one" not in caplog.text


@pytest.mark.parametrize("seed", range(6))
def test_the_spark_engines_rule_for_grouped_values_is_scikit_learns(seed):
    """Spark fits the encoders on example rows; they must group the values scikit-learn groups
    on all customers, ties at the cut included, and the example rows must make the encoder
    group exactly those."""
    from sklearn.preprocessing import OneHotEncoder

    from bankseg.engines.spark.featurize import _copies, _frequent_values

    def infrequent(rows, **settings) -> set:
        encoder = OneHotEncoder(handle_unknown="infrequent_if_exist", **settings).fit(rows)
        found = encoder.infrequent_categories_[0]
        return set(found) if found is not None else set()

    rng = np.random.default_rng(seed)
    counts = {f"v{i:02d}": int(n) for i, n in enumerate(rng.integers(1, 60, size=int(rng.integers(2, 30))))}
    rows = np.array([v for v, n in counts.items() for _ in range(n)], dtype=object).reshape(-1, 1)
    for min_frequency in (0.0, 0.01, 0.05, 0.2):
        for max_categories in (2, 3, 5, 10, 40):
            settings = {"min_frequency": min_frequency or None, "max_categories": max_categories}
            frequent = _frequent_values(counts, min_frequency=min_frequency, max_categories=max_categories)
            assert frequent == set(counts) - infrequent(rows, **settings), (counts, settings)
            m = _copies(len(frequent), len(counts) - len(frequent), min_frequency)
            example = np.array([v for v in counts for _ in range(m if v in frequent else 1)], dtype=object)
            assert infrequent(example.reshape(-1, 1), **settings) == set(counts) - frequent, (
                counts,
                settings,
            )


def test_a_rare_value_does_not_stretch_its_feature(cleaned, params):
    """A yes/no answer that is almost always No (2 % Yes) or a category with one dominant
    value counts as less than one feature: its rare customers are not pushed many spreads away."""
    customers = cleaned.kept.copy()
    n = len(customers)
    customers["sip_status"] = np.where(np.arange(n) % 50 == 0, "Yes", "No")
    customers["account_type"] = np.where(np.arange(n) % 50 == 0, "Current", "Savings")
    _, X = fit_preprocessing(customers, params.features, params.featurize)
    p = (customers["sip_status"] == "Yes").mean()
    assert X["sip_status"].var(ddof=0) == pytest.approx(p * (1 - p) / 0.125)
    assert X["sip_status"].abs().max() < 3
    onehot = [c for c in X.columns if c.startswith("account_type_")]
    assert X[onehot].var(ddof=0).sum() == pytest.approx(2 * p * (1 - p) / 0.25)
    # Evenly spread answers still count as one feature each.
    customers["sip_status"] = np.where(np.arange(n) % 2 == 0, "Yes", "No")
    _, even = fit_preprocessing(customers, params.features, params.featurize)
    assert even["sip_status"].var(ddof=0) == pytest.approx(1.0, abs=1e-3)
