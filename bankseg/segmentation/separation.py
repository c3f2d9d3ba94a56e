"""What drives the segments: each feature's share of the separation, and whether the segments
are just the groups of one or two category columns.

K-means separates segments by the between-segment sum of squares of the scaled features, so a
feature's share of that sum says how much the segments are about it. When the segments are
(nearly) the combinations of one or two category values, a rule on those columns would give
the same customers: the adjusted Rand index with those groups says so.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import Pipeline

# Rows compared by category_agreement: the index settles well before this many customers.
AGREEMENT_SAMPLE = 100_000


def feature_groups(preprocessing: Pipeline) -> dict[str, list[str]]:
    """The encoded column names that come from each original feature, in output order.

    One-hot features give several columns and a was-missing indicator is a column of the
    feature it watches: adding up a share per encoded column would split those features into
    parts. The fitted scaling knows each column's feature (its ``layout``).
    """
    scale = preprocessing.named_steps.get("scale") if hasattr(preprocessing, "named_steps") else None
    if scale is None or not hasattr(scale, "feature_names_in_") or not scale.layout:
        raise ValueError(
            f"preprocessing={type(preprocessing).__name__} should be a fitted preprocessing "
            "(bankseg.segmentation.encoding.fit_preprocessing) with a fitted step 'scale'"
        )
    groups: dict[str, list[str]] = {}
    for name, (feature, _) in zip(scale.feature_names_in_, scale.layout, strict=True):
        groups.setdefault(str(feature), []).append(str(name))
    return groups


def separation_shares(X: pd.DataFrame, labels, groups: dict[str, list[str]]) -> dict[str, float]:
    """Each feature's share of the between-segment sum of squares of the scaled features ``X``.

    Per column ``sum over segments of n_s * (mean_s - mean) ** 2``, summed over the feature's
    columns and divided by the total over every column of ``X`` (a column in no group counts
    in the total only). Highest share first, ties by name; all 0.0 with a single segment.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(X):
        raise ValueError(f"labels of shape {labels.shape} should have one label per row of X ({len(X)} rows)")
    unknown = sorted({c for cols in groups.values() for c in cols} - set(X.columns))
    if unknown:
        raise ValueError(f"groups name columns that X does not have: {unknown}")
    values = X.to_numpy(dtype="float64")
    if np.isnan(values).any():
        raise ValueError("X has missing values; pass the scaled features the model was fitted on")
    codes, _ = pd.factorize(labels)
    if (codes < 0).any():
        raise ValueError("labels has missing values; every row should have a segment")
    between = pd.Series(_between_sum_of_squares(values, codes), index=X.columns)
    total = float(between.sum())
    shares = {
        feature: float(between[cols].sum()) / total if total > 0 else 0.0 for feature, cols in groups.items()
    }
    return dict(sorted(shares.items(), key=lambda item: (-item[1], item[0])))


def _between_sum_of_squares(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per column, ``sum over segments of n_s * (mean_s - mean) ** 2`` (``codes`` from 0)."""
    counts = np.bincount(codes).astype("float64")
    if len(counts) < 2:
        return np.zeros(values.shape[1])
    between = np.empty(values.shape[1])
    for j in range(values.shape[1]):  # a few columns; each pass is vectorised over the rows
        column = values[:, j]
        means = np.bincount(codes, weights=column) / counts
        between[j] = np.sum(counts * (means - column.mean()) ** 2)
    return between


def category_agreement(
    customers: pd.DataFrame,
    labels,
    columns: list[str],
    *,
    max_columns: int = 2,
    sample_size: int = AGREEMENT_SAMPLE,
    random_state: int = 0,
) -> dict | None:
    """The category columns (one, or a combination of up to ``max_columns``) whose groups best
    match the segments, by adjusted Rand index: ``{"columns": [...], "ari": float}``.

    An index of 0.8 or more means the segments are essentially those value combinations.
    Missing values are a group of their own. Ties go to fewer columns, then to names; None
    when ``columns`` is empty. Computed on a seeded sample of at most ``sample_size`` rows.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(customers):
        raise ValueError(
            f"labels of shape {labels.shape} should have one label per customer ({len(customers)} rows)"
        )
    if not isinstance(max_columns, int | np.integer) or max_columns < 1:
        raise ValueError(f"max_columns={max_columns!r} should be an integer >= 1")
    if not isinstance(sample_size, int | np.integer) or sample_size < 1:
        raise ValueError(f"sample_size={sample_size!r} should be an integer >= 1")
    missing = [c for c in columns if c not in customers.columns]
    if missing:
        raise ValueError(f"columns {missing} are not columns of customers")
    names = sorted(set(columns))
    if not names:
        return None
    rows = np.arange(len(customers))
    if len(rows) > sample_size:
        rows = np.sort(np.random.default_rng(random_state).choice(rows, size=sample_size, replace=False))
    sampled = labels[rows]
    codes = {c: pd.factorize(customers[c].iloc[rows], use_na_sentinel=False)[0] for c in names}
    best = None
    for size in range(1, min(max_columns, len(names)) + 1):
        for combo in combinations(names, size):
            ari = float(adjusted_rand_score(sampled, _combined(codes, combo)))
            # Rounded so that the same partition reached by two routes ties exactly.
            key = (-round(ari, 12), size, combo)
            if best is None or key < best[0]:
                best = (key, {"columns": list(combo), "ari": ari})
    return best[1]


def _combined(codes: dict[str, np.ndarray], combo: tuple[str, ...]) -> np.ndarray:
    """One group code per distinct combination of the columns' values."""
    combined = codes[combo[0]]
    for column in combo[1:]:
        nxt = codes[column]
        # Re-factorised after each step, so the codes never outgrow int64.
        combined = pd.factorize(combined.astype("int64") * (int(nxt.max()) + 1) + nxt)[0]
    return combined
