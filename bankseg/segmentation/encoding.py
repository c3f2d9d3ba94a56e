"""Encoding and scaling of customer features as one fitted scikit-learn pipeline.

The preprocessing is fitted once, on the training customers, and then reused unchanged for
every customer scored later, so a customer's features never depend on who else is in a file.

Mixed data is balanced by default (``featurize.balance``), FAMD's idea: every numeric column
(and every ordered category's code) is standardised, and every unordered category's one-hot
columns are scaled together so that the block's total variance is that of one standardised
column. A categorical feature with five values then weighs as much as one number, not five.
Each feature's ``weight`` is the number of features it counts as.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy.stats import skew
from sklearn.compose import ColumnTransformer
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder

from bankseg.features import BINARY, FLAG, LEVEL, NUMBER, FeatureScaler
from bankseg.params import YES_NO_VALUES, FeatureParams, FeaturizeParams

log = logging.getLogger(__name__)

IMPUTERS = {
    "median": {"strategy": "median"},
    "mean": {"strategy": "mean"},
    "most_frequent": {"strategy": "most_frequent"},
    "zero": {"strategy": "constant", "fill_value": 0.0},
}
# Suffix of the transformer that adds a feature's was-missing indicator (flag_missing).
FLAG_SUFFIX = " (missing)"
# The transforms ``log`` can choose: log(1 + x) for amounts, and the inverse hyperbolic sine,
# which behaves like a log on both sides of zero (balances that can be negative).
LOGS = {"log1p": np.log1p, "arcsinh": np.arcsinh}


def log_choice(values: pd.Series, setting: bool | str, threshold: float) -> str | None:
    """The log transform a numeric feature gets: ``log1p`` for ``log: true`` (amounts, never
    below zero: the cleaning rejects those); for ``auto``, ``arcsinh`` when the skewness is
    above ``threshold``, otherwise None. The inverse hyperbolic sine grows like a log and is
    defined everywhere, so a later customer with a value below zero is still scored."""
    if setting is True:
        return "log1p"
    if setting is False:
        return None
    numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    numbers = numbers[np.isfinite(numbers)]
    if len(numbers) < 3 or numbers.min() == numbers.max():
        return None
    return choose_log(float(skew(numbers)), threshold)


def choose_log(skewness: float, threshold: float) -> str | None:
    """``log: auto`` from a column's skewness (the Spark engine's too)."""
    return "arcsinh" if np.isfinite(skewness) and skewness > threshold else None


def log_choices(customers: pd.DataFrame, features: FeatureParams, threshold: float) -> dict[str, str | None]:
    return {f.column: log_choice(customers[f.column], f.log, threshold) for f in features.numeric}


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


def _imputer(strategy: str, categorical: bool) -> SimpleImputer | None:
    if strategy in ("drop", "level"):
        return None
    return SimpleImputer(strategy="most_frequent") if categorical else SimpleImputer(**IMPUTERS[strategy])


def build_preprocessing(
    features: FeatureParams, featurize: FeaturizeParams, logs: dict[str, str | None] | None = None
) -> Pipeline:
    """An unfitted pipeline: impute, encode, optionally log, then scale every column.

    ``logs`` is each numeric feature's log transform (:func:`log_choices`, found on the
    training customers); by default, ``log: true`` features take log1p and the others none.
    """
    logs = (
        logs if logs is not None else {f.column: "log1p" if f.log is True else None for f in features.numeric}
    )
    transformers = []
    for f in features.numeric:
        steps = []
        if (imputer := _imputer(f.missing, categorical=False)) is not None:
            steps.append(("impute", imputer))
        if logs.get(f.column):
            steps.append(("log", FunctionTransformer(LOGS[logs[f.column]], feature_names_out="one-to-one")))
        transformers.append((f.column, Pipeline(steps) if steps else "passthrough", [f.column]))
    for f in features.categorical:
        steps = []
        if (imputer := _imputer(f.missing, categorical=True)) is not None:
            steps.append(("impute", imputer))
        if f.encoding == "onehot":
            # Values rarer than min_frequency share one column, and at most max_categories
            # columns are made (memory stays bounded); an unseen value joins the rare ones.
            encoder = OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                sparse_output=False,
                min_frequency=featurize.min_frequency or None,
                max_categories=featurize.max_categories,
            )
            steps.append(("encode", encoder))
        else:
            order = list(YES_NO_VALUES) if f.encoding == "yes_no" else list(f.order)
            steps.append(("encode", OrdinalEncoder(categories=[order], dtype=np.float64)))
        transformers.append((f.column, Pipeline(steps), [f.column]))
    for f in features.all:
        if f.flag_missing:
            transformers.append((f.column + FLAG_SUFFIX, MissingIndicator(features="all"), [f.column]))
    encode = ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)
    scale = FeatureScaler(
        scaler=featurize.scaler,
        feature_range=tuple(featurize.feature_range),
        balance=featurize.balance,
        weights={f.column: f.weight for f in features.all if f.weight != 1.0},
    )
    pipeline = Pipeline([("encode", encode), ("scale", scale)])
    return pipeline.set_output(transform="pandas")


def encoded_layout(encode: ColumnTransformer, features: FeatureParams) -> tuple[tuple[str, str], ...]:
    """(feature, kind) of each column a fitted encoder makes, in order."""
    onehot = {f.column for f in features.categorical if f.encoding == "onehot"}
    binary = {f.column for f in features.categorical if f.encoding == "yes_no"}
    layout: list[tuple[str, str]] = []
    for name, part in encode.output_indices_.items():
        width = part.stop - part.start
        if name.endswith(FLAG_SUFFIX):
            layout += [(name[: -len(FLAG_SUFFIX)], FLAG)] * width
        elif name in onehot:
            layout += [(name, LEVEL)] * width
        elif name in binary:
            layout += [(name, BINARY)] * width
        elif name != "remainder":
            layout += [(name, NUMBER)] * width
    return tuple(layout)


def fitted_logs(preprocessing: Pipeline) -> dict[str, str | None]:
    """The log transform each numeric feature of a fitted preprocessing applies."""
    logs: dict[str, str | None] = {}
    for name, step, _ in preprocessing.named_steps["encode"].transformers:
        steps = getattr(step, "named_steps", {})
        if "log" in steps:
            func = steps["log"].func
            logs[name] = next(k for k, v in LOGS.items() if v is func)
        else:
            logs[name] = None
    return logs


def feature_of_column(preprocessing: Pipeline) -> dict[str, str]:
    """The feature each encoded column belongs to (a one-hot level, a was-missing flag)."""
    scale = preprocessing.named_steps["scale"]
    return dict(zip(scale.feature_names_in_, (feature for feature, _ in scale.layout), strict=True))


def fit_preprocessing(
    customers: pd.DataFrame, features: FeatureParams, featurize: FeaturizeParams
) -> tuple[Pipeline, pd.DataFrame]:
    """Fit the preprocessing on ``customers`` and return it with their scaled features."""
    logs = log_choices(customers, features, featurize.skew_threshold)
    report_logs(features, logs)
    preprocessing = build_preprocessing(features, featurize, logs)
    encode, scale = preprocessing.named_steps["encode"], preprocessing.named_steps["scale"]
    encoded = encode.fit_transform(feature_frame(customers, features)).astype("float64")
    scale.set_params(layout=encoded_layout(encode, features))
    scaled = scale.fit_transform(encoded)
    warn_grouped_values(preprocessing, featurize)
    return preprocessing, scaled.astype("float64")


def report_logs(features: FeatureParams, logs: dict[str, str | None]) -> None:
    for f in features.numeric:
        if f.log == "auto" and logs.get(f.column):
            log.info("%s: heavily skewed; log: auto takes the %s", f.column, logs[f.column])


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
        log.info(
            "%s: %s distinct values; the %d most frequent have columns of their own, the other %s "
            "(rarer than featurize.min_frequency %s, or beyond featurize.max_categories %d) share one",
            column,
            f"{n_values:,}",
            own,
            f"{n_values - own:,}",
            featurize.min_frequency,
            featurize.max_categories,
        )
