"""Score a range of cluster counts and suggest one."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from kneed import KneeLocator
from sklearn.cluster import KMeans
from sklearn.metrics import (
    calinski_harabasz_score,
    davies_bouldin_score,
    pairwise_distances,
    silhouette_score,
)

log = logging.getLogger(__name__)

# For each criterion: whether larger values are better.
CRITERIA = {"silhouette": True, "calinski_harabasz": True, "davies_bouldin": False}


def quality_scores(X: np.ndarray, labels: np.ndarray, *, silhouette_sample: int, random_state: int) -> dict:
    """Silhouette on a seeded sample (it is quadratic), the others on every row."""
    n_labels = len(np.unique(labels))
    if n_labels < 2 or n_labels >= len(X):
        return {"silhouette": float("nan"), "calinski_harabasz": float("nan"), "davies_bouldin": float("nan")}
    sample = min(silhouette_sample, len(X))
    return {
        "silhouette": float(silhouette_score(X, labels, sample_size=sample, random_state=random_state)),
        "calinski_harabasz": float(calinski_harabasz_score(X, labels)),
        "davies_bouldin": float(davies_bouldin_score(X, labels)),
    }


def sweep(
    X: np.ndarray, *, k_min: int, k_max: int, n_init: int, random_state: int, silhouette_sample: int
) -> pd.DataFrame:
    """One row per K with inertia and the quality criteria."""
    k_max = min(k_max, len(X) - 1)
    # One seeded sample and its distances serve the silhouette of every K: the same
    # customers are compared across K, and the quadratic work is done once.
    rng = np.random.default_rng(random_state)
    sample = np.sort(rng.choice(len(X), size=min(silhouette_sample, len(X)), replace=False))
    distances = pairwise_distances(X[sample])
    rows = []
    for k in range(k_min, k_max + 1):
        kmeans = KMeans(n_clusters=k, n_init=n_init, random_state=random_state).fit(X)
        labels = kmeans.labels_
        row = {"k": k, "inertia": float(kmeans.inertia_), "silhouette": float("nan")}
        if len(np.unique(labels[sample])) > 1:
            row["silhouette"] = float(silhouette_score(distances, labels[sample], metric="precomputed"))
        many = len(np.unique(labels)) > 1
        row["calinski_harabasz"] = float(calinski_harabasz_score(X, labels)) if many else float("nan")
        row["davies_bouldin"] = float(davies_bouldin_score(X, labels)) if many else float("nan")
        rows.append(row)
        log.info("k=%d inertia=%.1f silhouette=%.3f", k, row["inertia"], row["silhouette"])
    scores = pd.DataFrame(rows)
    if not scores["inertia"].is_monotonic_decreasing:
        log.warning("inertia does not decrease with k; raise elbow.n_init for a reliable knee")
    return scores


def find_knee(scores: pd.DataFrame) -> int | None:
    """The knee of the inertia curve found by kneed, or None when the curve has none."""
    locator = KneeLocator(
        scores["k"].tolist(), scores["inertia"].tolist(), curve="convex", direction="decreasing"
    )
    return None if locator.knee is None else int(locator.knee)


def best_by(scores: pd.DataFrame, criterion: str) -> int | None:
    valid = scores.dropna(subset=[criterion])
    if valid.empty:
        return None
    index = valid[criterion].idxmax() if CRITERIA[criterion] else valid[criterion].idxmin()
    return int(valid.loc[index, "k"])


def suggest_k(scores: pd.DataFrame, method: str) -> dict:
    """Every criterion's choice and the suggested K with the reason.

    When the inertia curve has no knee, the suggestion falls back to the best silhouette
    and says so.
    """
    choices = {"knee": find_knee(scores), **{c: best_by(scores, c) for c in CRITERIA}}
    k = choices[method]
    if k is not None:
        reason = f"chosen by elbow.method={method}"
    else:
        k = choices["silhouette"] if choices["silhouette"] is not None else int(scores["k"].iloc[0])
        reason = f"no answer from {method}; fell back to the best silhouette"
    return {"suggested_k": k, "method": method, "reason": reason, "choices": choices}
