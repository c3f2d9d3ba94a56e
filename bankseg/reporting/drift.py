"""Drift of a new-customer batch against the training customers.

The population stability index (PSI) of a feature compares the share of customers in each
bin: ``sum((new - training) * ln(new / training))``. Numeric features use the training
customers' quantile bins, categories their values; missing values are a bin of their own.
Common reading: below 0.1 no shift, 0.1 to 0.2 a moderate shift, above 0.2 a major one.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from bankseg.params import DriftParams, FeatureParams

log = logging.getLogger(__name__)

# Floor for a bin's share, so an empty bin gives a large but finite index.
MIN_SHARE = 1e-4


def psi(training: np.ndarray, new: np.ndarray) -> float:
    """Population stability index of two share vectors over the same bins."""
    training = np.maximum(np.asarray(training, dtype="float64"), MIN_SHARE)
    new = np.maximum(np.asarray(new, dtype="float64"), MIN_SHARE)
    return float(np.sum((new - training) * np.log(new / training)))


def _shares(codes: np.ndarray, n_bins: int) -> np.ndarray:
    return np.bincount(codes, minlength=n_bins) / max(len(codes), 1)


def numeric_psi(training: pd.Series, new: pd.Series, bins: int) -> float:
    """PSI over the training customers' quantile bins (plus one bin for missing values)."""
    train_values = training.astype("float64").to_numpy()
    edges = np.unique(np.nanquantile(train_values, np.linspace(0, 1, bins + 1)[1:-1]))

    def codes(values: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(values), len(edges) + 1, np.searchsorted(edges, values, side="right"))

    n_bins = len(edges) + 2
    new_values = new.astype("float64").to_numpy()
    return psi(_shares(codes(train_values), n_bins), _shares(codes(new_values), n_bins))


def categorical_psi(training: pd.Series, new: pd.Series) -> float:
    """PSI over the category values seen in either batch (missing is a value)."""
    train_shares, new_shares = _value_shares(training), _value_shares(new)
    values = sorted(set(train_shares.index) | set(new_shares.index), key=str)
    return psi(
        train_shares.reindex(values, fill_value=0.0).to_numpy(),
        new_shares.reindex(values, fill_value=0.0).to_numpy(),
    )


def _value_shares(values: pd.Series) -> pd.Series:
    """Share of each value, missing values counted as the value "(missing)"."""
    shares = values.value_counts(dropna=False, normalize=True)
    keys = ["(missing)" if pd.isna(v) else v for v in shares.index.astype(object)]
    return pd.Series(shares.to_numpy(), index=pd.Index(keys, dtype=object)).groupby(level=0).sum()


def drift_report(
    training: pd.DataFrame,
    new: pd.DataFrame,
    training_segments: pd.Series,
    new_segments: pd.Series,
    segment_names: dict[int, str],
    features: FeatureParams,
    params: DriftParams,
) -> dict:
    """PSI per feature, segment shares before and after, and what crossed the thresholds.

    Without new customers there is nothing to compare: no figure, no warning."""
    if new.empty:
        return {
            "n_training": len(training),
            "n_new": 0,
            "psi_threshold": params.psi_threshold,
            "share_threshold": params.share_threshold,
            "warnings": [],
        }
    per_feature = {}
    for f in features.numeric:
        per_feature[f.column] = numeric_psi(training[f.column], new[f.column], params.bins)
    for f in features.categorical:
        per_feature[f.column] = categorical_psi(training[f.column], new[f.column])
    ids = sorted(segment_names)
    before = training_segments.value_counts(normalize=True).reindex(ids, fill_value=0.0)
    after = new_segments.value_counts(normalize=True).reindex(ids, fill_value=0.0)
    shares = {
        str(s): {"training": float(before[s]), "new": float(after[s]), "change": float(after[s] - before[s])}
        for s in ids
    }
    warnings = [
        f"feature {column}: PSI {value:.3f} above {params.psi_threshold}"
        for column, value in per_feature.items()
        if value > params.psi_threshold
    ] + [
        f"segment {s} ({segment_names[int(s)]}): share {v['training']:.1%} -> {v['new']:.1%}"
        for s, v in shares.items()
        if abs(v["change"]) > params.share_threshold
    ]
    return {
        "n_training": len(training),
        "n_new": len(new),
        "psi": per_feature,
        "max_psi": max(per_feature.values(), default=0.0),
        "share_change": {s: v["change"] for s, v in shares.items()},
        "new_share": {s: v["new"] for s, v in shares.items()},
        "max_share_change": max((abs(v["change"]) for v in shares.values()), default=0.0),
        "psi_threshold": params.psi_threshold,
        "share_threshold": params.share_threshold,
        "warnings": warnings,
    }
