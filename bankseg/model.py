"""K-means on the scaled features, canonical segment ids, and scoring customers."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.pipeline import Pipeline

from bankseg.choosing_k import quality_scores
from bankseg.errors import InputError
from bankseg.features import feature_frame
from bankseg.params import FeatureParams, TrainParams


def canonical_order(centers: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Old cluster numbers listed in canonical order.

    Segment 0 is the largest segment, 1 the next largest, and so on; equal sizes are ordered
    by their centres' coordinates. The order depends on the segments, not on the random
    start that found them.
    """
    sizes = np.bincount(labels, minlength=len(centers))
    keys = [(-int(sizes[i]), *np.round(centers[i], 9).tolist()) for i in range(len(centers))]
    return np.array(sorted(range(len(centers)), key=lambda i: keys[i]))


def fit_kmeans(X: pd.DataFrame, *, n_clusters: int, params: TrainParams) -> KMeans:
    """Fit K-means and renumber its clusters in canonical order.

    ``X`` is a DataFrame so that the model remembers the feature names it was fitted on.
    """
    if len(X) < n_clusters:
        raise InputError(f"train: {len(X)} customers is fewer than n_clusters={n_clusters}")
    kmeans = KMeans(
        n_clusters=n_clusters,
        n_init=params.n_init,
        max_iter=params.max_iter,
        tol=params.tol,
        algorithm=params.algorithm,
        random_state=params.random_state,
    ).fit(X)
    order = canonical_order(kmeans.cluster_centers_, kmeans.labels_)
    new_label = np.empty_like(order)
    new_label[order] = np.arange(len(order))
    # Parallel sums make the last bits of the centres depend on the thread count; rounding
    # far below any meaningful precision makes the saved model byte-identical across machines.
    kmeans.cluster_centers_ = np.round(kmeans.cluster_centers_[order], 9)
    kmeans.labels_ = kmeans.predict(X).astype(np.int32)
    kmeans.inertia_ = float(np.round(-kmeans.score(X), 6))
    # KMeans pickles the thread count of the machine that fitted it; a fixed value keeps the
    # model file identical everywhere (prediction is cheap on one thread).
    kmeans._n_threads = 1
    return kmeans


def build_model(preprocessing: Pipeline, kmeans: KMeans) -> Pipeline:
    """Fitted preprocessing and fitted K-means as one model (neither is refitted here)."""
    return Pipeline([("preprocess", preprocessing), ("kmeans", kmeans)])


def training_metrics(X: pd.DataFrame, kmeans: KMeans, *, silhouette_sample: int, random_state: int) -> dict:
    sizes = np.bincount(kmeans.labels_, minlength=kmeans.n_clusters)
    metrics = {
        "n_clusters": int(kmeans.n_clusters),
        "n_customers": len(X),
        "inertia": float(kmeans.inertia_),
        "segment_sizes": {str(i): int(s) for i, s in enumerate(sizes)},
        "smallest_segment_share": float(sizes.min() / len(X)),
    }
    metrics.update(
        quality_scores(X, kmeans.labels_, silhouette_sample=silhouette_sample, random_state=random_state)
    )
    return metrics


def assign_segments(model: Pipeline, customers: pd.DataFrame, features: FeatureParams) -> pd.DataFrame:
    """Segment and distance to the segment centre for every customer, using the fitted model."""
    if customers.empty:
        return pd.DataFrame({"segment": pd.Series(dtype="int64"), "distance": pd.Series(dtype="float64")})
    distances = model.transform(feature_frame(customers, features))
    distances = np.asarray(distances, dtype="float64")
    segment = distances.argmin(axis=1)
    return pd.DataFrame(
        {"segment": segment.astype("int64"), "distance": distances[np.arange(len(segment)), segment]},
        index=customers.index,
    )
