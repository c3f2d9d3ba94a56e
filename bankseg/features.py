"""Encoding and scaling of customer features as one fitted scikit-learn pipeline.

The preprocessing is fitted once, on the training customers, and then reused unchanged for
every customer scored later, so a customer's features never depend on who else is in a file.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    RobustScaler,
    StandardScaler,
)

from bankseg.cleaning import YES_NO
from bankseg.params import FeatureParams, FeaturizeParams

log = logging.getLogger(__name__)

IMPUTERS = {
    "median": {"strategy": "median"},
    "mean": {"strategy": "mean"},
    "most_frequent": {"strategy": "most_frequent"},
    "zero": {"strategy": "constant", "fill_value": 0.0},
}


def _scaler(params: FeaturizeParams):
    if params.scaler == "minmax":
        return MinMaxScaler(feature_range=params.feature_range)
    if params.scaler == "standard":
        return StandardScaler()
    return RobustScaler()


def feature_frame(customers: pd.DataFrame, features: FeatureParams) -> pd.DataFrame:
    """The feature columns with the dtypes the preprocessing expects."""
    frame = pd.DataFrame(index=customers.index)
    for f in features.numeric:
        frame[f.column] = customers[f.column].astype("float64")
    for f in features.categorical:
        frame[f.column] = pd.Series(_shared_objects(customers[f.column]), index=frame.index, dtype=object)
    return frame


def _shared_objects(values: pd.Series) -> np.ndarray:
    """``values`` as an object array, missing as NaN, each distinct value one shared object.

    A category column has a few distinct values: one Python string per row would cost
    about 60 bytes a customer and column (and scikit-learn encodes object arrays).
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct = np.append(np.asarray(uniques, dtype=object), np.nan)
    return distinct[codes]  # code -1 (missing) takes the appended NaN


def build_preprocessing(
    features: FeatureParams, missing: dict[str, str], featurize: FeaturizeParams
) -> Pipeline:
    """An unfitted pipeline: impute, encode, optionally log, then scale every column."""
    transformers = []
    for f in features.numeric:
        steps = []
        if missing.get(f.column, "drop") != "drop":
            steps.append(("impute", SimpleImputer(**IMPUTERS[missing[f.column]])))
        if f.log:
            steps.append(("log", FunctionTransformer(np.log1p, feature_names_out="one-to-one")))
        step = Pipeline(steps) if steps else "passthrough"
        transformers.append((f.column, step, [f.column]))
    for f in features.categorical:
        steps = []
        if missing.get(f.column, "drop") != "drop":
            steps.append(("impute", SimpleImputer(strategy="most_frequent")))
        if f.encoding == "onehot":
            # At most max_categories columns: the rarest values share one (memory stays bounded).
            encoder = OneHotEncoder(
                handle_unknown="ignore", sparse_output=False, max_categories=featurize.max_categories
            )
            steps.append(("encode", encoder))
        else:
            order = list(YES_NO) if f.encoding == "yes_no" else list(f.order)
            steps.append(("encode", OrdinalEncoder(categories=[order], dtype=np.float64)))
        transformers.append((f.column, Pipeline(steps), [f.column]))
    encode = ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)
    pipeline = Pipeline([("encode", encode), ("scale", _scaler(featurize))])
    return pipeline.set_output(transform="pandas")


def fit_preprocessing(
    customers: pd.DataFrame, features: FeatureParams, missing: dict[str, str], featurize: FeaturizeParams
) -> tuple[Pipeline, pd.DataFrame]:
    """Fit the preprocessing on ``customers`` and return it with their scaled features."""
    preprocessing = build_preprocessing(features, missing, featurize)
    scaled = preprocessing.fit_transform(feature_frame(customers, features))
    warn_grouped_values(preprocessing, featurize)
    return preprocessing, scaled.astype("float64")


def grouped_values(preprocessing: Pipeline) -> dict[str, tuple[int, int]]:
    """For each one-hot feature whose rarest values share a column: (distinct values, values
    encoded in columns of their own)."""
    grouped = {}
    for name, step, _ in preprocessing.named_steps["encode"].transformers_:
        encoder = getattr(step, "named_steps", {}).get("encode")
        if isinstance(encoder, OneHotEncoder) and encoder.infrequent_categories_[0] is not None:
            n_values = len(encoder.categories_[0])
            grouped[name] = (n_values, n_values - len(encoder.infrequent_categories_[0]))
    return grouped


def warn_grouped_values(preprocessing: Pipeline, featurize: FeaturizeParams) -> None:
    for column, (n_values, own) in grouped_values(preprocessing).items():
        log.warning(
            "%s: %s distinct values; the %d most frequent are encoded in columns of their own, the "
            "other %s share one column (featurize.max_categories: %d)",
            column,
            f"{n_values:,}",
            own,
            f"{n_values - own:,}",
            featurize.max_categories,
        )
