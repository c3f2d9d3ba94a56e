"""The feature scaling saved inside every model file.

``models/preprocessing.skops`` and ``models/model.skops`` record this class by its import
path, ``bankseg.features.FeatureScaler``, and the model-trust check admits it by that name:
it stays here, whatever else moves, so that models saved by earlier versions still load.
The encoding around it is built in :mod:`bankseg.segmentation.encoding`.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

# Kinds of encoded column, as the scaler treats them: a number (or an ordered category's
# code), a yes/no answer, one value of an unordered category, a was-missing indicator.
NUMBER, BINARY, LEVEL, FLAG = "number", "binary", "level", "flag"


class FeatureScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Scale encoded columns by kind: ``y = x * factor_ + shift_``, one pair per column.

    ``layout`` names each encoded column's feature and kind (number, one-hot level, was-missing
    flag); :func:`fit_preprocessing` sets it once the encoders are fitted. Numbers are
    standardised (or min-max / robust scaled); with ``balance`` each feature's one-hot levels
    are scaled together to the total variance of one scaled number, else like numbers; a
    flag moves a customer one typical spread. Then each feature's columns are multiplied by
    the square root of its ``weight``, so that its share of the variance is ``weight``.
    """

    def __init__(
        self,
        scaler: str = "standard",
        feature_range: tuple[float, float] = (0.0, 1.0),
        balance: bool = True,
        weights: dict | None = None,
        layout: tuple | None = None,
    ):
        self.scaler = scaler
        self.feature_range = feature_range
        self.balance = balance
        self.weights = weights
        self.layout = layout

    def fit(self, X, y=None):
        names = [str(c) for c in X.columns] if hasattr(X, "columns") else None
        stats = column_stats(np.asarray(X, dtype="float64"), robust=self.uses_quantiles())
        return self.fit_stats(stats, n_features=X.shape[1], names=names)

    def uses_quantiles(self) -> bool:
        """Whether the scaling needs each column's median and quartiles (see :func:`column_stats`)."""
        return self.scaler == "robust"

    def fit_stats(self, stats: dict[str, np.ndarray], *, n_features: int | None = None, names=None):
        """Fit from the columns' statistics (:func:`column_stats`; the Spark engine computes
        them with Spark): both engines' scaling goes through here."""
        self.n_features_in_ = len(names) if n_features is None else n_features
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        self.factor_, self.shift_ = scaling(stats, self._layout(self.n_features_in_), self)
        return self

    def _layout(self, n_columns: int) -> list[tuple[str, str]]:
        layout = [tuple(entry) for entry in (self.layout or [])]
        if len(layout) != n_columns:
            raise ValueError(f"FeatureScaler: layout names {len(layout)} columns, the data has {n_columns}")
        return layout

    def transform(self, X):
        check_is_fitted(self, "factor_")
        return np.asarray(X, dtype="float64") * self.factor_ + self.shift_

    def inverse_transform(self, X):
        check_is_fitted(self, "factor_")
        factor = np.where(self.factor_ == 0, 1.0, self.factor_)  # weight 0: the column is constant
        return (np.asarray(X, dtype="float64") - self.shift_) / factor


def column_stats(X: np.ndarray, *, robust: bool = False) -> dict[str, np.ndarray]:
    """What the scaling needs of each encoded column: mean, population variance, min, max
    and, for the robust scaler, the median and the quartiles."""
    stats = {
        "mean": X.mean(axis=0),
        "var": X.var(axis=0),
        "min": X.min(axis=0),
        "max": X.max(axis=0),
    }
    if robust:
        stats["q25"], stats["median"], stats["q75"] = np.percentile(X, [25, 50, 75], axis=0)
    return stats


def _nonzero(values: np.ndarray) -> np.ndarray:
    return np.where(values > 0, values, 1.0)


def scaling(stats: dict[str, np.ndarray], layout: list[tuple[str, str]], settings: FeatureScaler):
    """``factor`` and ``shift`` of every encoded column from its statistics (both engines)."""
    kinds = np.array([kind for _, kind in layout], dtype=object)
    features = [feature for feature, _ in layout]
    as_number = (kinds == NUMBER) | (kinds == BINARY) | ((kinds == LEVEL) & (not settings.balance))
    factor = np.ones(len(layout))
    centre = np.zeros(len(layout))
    if settings.scaler == "minmax":
        low, high = settings.feature_range
        factor = (high - low) / _nonzero(stats["max"] - stats["min"])
        centre = stats["min"] - low / factor
    elif settings.scaler == "robust":
        factor = 1.0 / _nonzero(stats["q75"] - stats["q25"])
        centre = stats["median"]
    else:
        factor = 1.0 / _nonzero(np.sqrt(stats["var"]))
        centre = stats["mean"]
    factor, centre = np.where(as_number, factor, 1.0), np.where(as_number, centre, 0.0)
    # The variance of one scaled number: 1 when standardised; else the mean over the numbers.
    scaled_var = stats["var"] * factor**2
    target = (
        1.0 if settings.scaler == "standard" or not as_number.any() else float(scaled_var[as_number].mean())
    )
    for feature in dict.fromkeys(features):
        columns = np.array([f == feature for f in features]) & ((kinds == LEVEL) | (kinds == BINARY))
        if settings.balance and columns.any():
            # A category with one dominant value counts as less than one feature: its variance
            # is taken as at least half of what evenly spread values would give, so that a
            # rare value (1 % in default) is not stretched into a segment of its own.
            levels = 2 if kinds[columns][0] == BINARY else int(columns.sum())
            even = 0.25 if levels == 2 and kinds[columns][0] == BINARY else 1 - 1 / max(levels, 2)
            block = max(float(stats["var"][columns].sum()), even / 2)
            factor[columns] = np.sqrt(target / block)
    factor = np.where(kinds == FLAG, np.sqrt(target), factor)
    weights = settings.weights or {}
    factor = factor * np.sqrt([float(weights.get(f, 1.0)) for f in features])
    return factor, -centre * factor
