"""K-means on the scaled features, canonical segment ids, and scoring customers."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.pipeline import Pipeline

from bankseg.errors import InputError
from bankseg.params import FeatureParams, TrainParams
from bankseg.segmentation.choosing_k import quality_scores
from bankseg.segmentation.encoding import feature_frame


def canonical_order(centers: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Old cluster numbers listed in canonical order.

    Segment 0 is the largest segment, 1 the next largest, and so on; equal sizes are ordered
    by their centres' coordinates. The order depends on the segments, not on the random
    start that found them.
    """
    sizes = np.bincount(labels, minlength=len(centers))
    keys = [(-int(sizes[i]), *np.round(centers[i], 9).tolist()) for i in range(len(centers))]
    return np.array(sorted(range(len(centers)), key=lambda i: keys[i]))


def new_kmeans(n_clusters: int, params: TrainParams) -> KMeans:
    """An unfitted scikit-learn KMeans with the ``train`` settings."""
    return KMeans(
        n_clusters=n_clusters,
        n_init=params.n_init,
        max_iter=params.max_iter,
        tol=params.tol,
        algorithm=params.algorithm,
        random_state=params.random_state,
    )


def fit_kmeans(X: pd.DataFrame, *, n_clusters: int, params: TrainParams) -> KMeans:
    """Fit K-means and renumber its clusters in canonical order.

    ``X`` is a DataFrame so that the model remembers the feature names it was fitted on.
    """
    if len(X) < n_clusters:
        raise InputError(f"train: {len(X)} customers is fewer than n_clusters={n_clusters}")
    kmeans = new_kmeans(n_clusters, params).fit(X)
    return relabel(kmeans, X, canonical_order(kmeans.cluster_centers_, kmeans.labels_))


def relabel(kmeans: KMeans, X: pd.DataFrame, order: np.ndarray) -> KMeans:
    """Renumber clusters so that new segment ``i`` is old cluster ``order[i]``."""
    # Parallel sums make the last bits of the centres depend on the thread count; rounding
    # far below any meaningful precision makes the saved model byte-identical across machines.
    kmeans.cluster_centers_ = np.round(kmeans.cluster_centers_[order], 9)
    kmeans.labels_ = kmeans.predict(X).astype(np.int32)
    kmeans.inertia_ = float(np.round(-kmeans.score(X), 6))
    # KMeans pickles the thread count of the machine that fitted it; a fixed value keeps the
    # model file identical everywhere (prediction is cheap on one thread).
    kmeans._n_threads = 1
    return kmeans


def encoded_centres(preprocessing: Pipeline, kmeans: KMeans) -> pd.DataFrame:
    """Segment centres in encoded, unscaled units (log amounts, category codes, shares)."""
    scale = preprocessing.named_steps["scale"]
    centres = scale.inverse_transform(pd.DataFrame(kmeans.cluster_centers_, columns=kmeans.feature_names_in_))
    return pd.DataFrame(np.asarray(centres), columns=list(kmeans.feature_names_in_))


def encoded_spread(preprocessing: Pipeline, X: pd.DataFrame) -> pd.Series:
    """Standard deviation of each encoded feature over the customers (1 where constant)."""
    encoded = np.asarray(preprocessing.named_steps["scale"].inverse_transform(X))
    spread = pd.Series(encoded.std(axis=0), index=list(X.columns))
    return spread.where(spread > 0, 1.0)


def centre_distances(centres: pd.DataFrame, reference: dict) -> np.ndarray:
    """Root-mean-square distance, in standard deviations, of each centre to each reference one.

    Only features present in both are compared; the spread is the reference's.
    """
    spread = pd.Series(reference["feature_spread"], dtype="float64")
    columns = [c for c in centres.columns if c in spread.index]
    ref_ids = sorted(reference["segments"], key=int)
    ref = np.array([[reference["segments"][r]["centre"].get(c, np.nan) for c in columns] for r in ref_ids])
    new = centres[columns].to_numpy()
    diff = (new[:, None, :] - ref[None, :, :]) / spread[columns].to_numpy()
    return np.sqrt(np.nanmean(diff**2, axis=2))


def matched_centres(centres: pd.DataFrame, reference: dict | None, *, max_distance: float) -> dict[int, int]:
    """Row of ``centres`` -> id of the reference segment it is, for the rows that match one.

    Rows are paired with reference segments one to one, closest first (the Hungarian method on
    :func:`centre_distances`); a pair counts only when the centres are at most ``max_distance``
    standard deviations apart. Nothing matches without reference segments or shared features.
    """
    shared = set(centres.columns) & set((reference or {}).get("feature_spread", {}))
    if not (reference and reference.get("segments") and shared):
        return {}
    distances = np.nan_to_num(centre_distances(centres, reference), nan=1e300, posinf=1e300)
    ref_ids = sorted((int(r) for r in reference["segments"]), key=int)
    rows, cols = linear_sum_assignment(distances)
    return {int(r): ref_ids[c] for r, c in zip(rows, cols, strict=True) if distances[r, c] <= max_distance}


def reference_order(
    centres: pd.DataFrame, reference: dict | None, *, max_distance: float
) -> tuple[np.ndarray, dict[int, int]]:
    """Segment ids that follow a reference segmentation, matched by centre.

    Segments are paired with reference segments one to one, closest first (the Hungarian
    method on centre distances); a pair counts only when the centres are at most
    ``max_distance`` standard deviations apart (root mean square over features). A matched
    segment keeps its reference id when that id exists at this K; the other segments take
    the free ids in their current (canonical) order. Returns ``order`` for :func:`relabel`
    and the reference id of every matched new id.
    """
    k = len(centres)
    matched = matched_centres(centres, reference, max_distance=max_distance)  # old cluster -> reference id
    order = [-1] * k
    for old, ref_id in matched.items():
        if ref_id < k:
            order[ref_id] = old
    rest = iter(old for old in range(k) if old not in order)
    order = [slot if slot != -1 else next(rest) for slot in order]
    kept = {new: matched[old] for new, old in enumerate(order) if matched.get(old) == new}
    return np.array(order), kept


def build_model(preprocessing: Pipeline, kmeans: KMeans) -> Pipeline:
    """Fitted preprocessing and fitted K-means as one model (neither is refitted here)."""
    return Pipeline([("preprocess", preprocessing), ("kmeans", kmeans)])


def training_metrics(
    kmeans: KMeans,
    X: pd.DataFrame | np.ndarray,
    labels: np.ndarray,
    *,
    silhouette_sample: int,
    random_state: int,
) -> dict:
    """Segment sizes and inertia over every customer (``kmeans.labels_``), and the quality
    criteria of :func:`bankseg.segmentation.choosing_k.quality_scores` on the scaled features ``X``
    with their ``labels``: every customer, or a seeded sample of them (the Spark engine)."""
    sizes = np.bincount(kmeans.labels_, minlength=kmeans.n_clusters)
    n_customers = len(kmeans.labels_)
    metrics = {
        "n_clusters": int(kmeans.n_clusters),
        "n_customers": n_customers,
        "inertia": float(kmeans.inertia_),
        "segment_sizes": {str(i): int(s) for i, s in enumerate(sizes)},
        "smallest_segment_share": float(sizes.min() / n_customers),
    }
    metrics.update(quality_scores(X, labels, silhouette_sample=silhouette_sample, random_state=random_state))
    return metrics


def assign_segments(
    model: Pipeline, customers: pd.DataFrame, features: FeatureParams, *, encoded: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Segment and distance to the segment centre for every customer, using the fitted model.

    ``encoded`` is the customers' features as the model's preprocessing already made them
    (the featurize stage's output for the training customers): they are not encoded again.
    """
    if customers.empty:
        return pd.DataFrame({"segment": pd.Series(dtype="int64"), "distance": pd.Series(dtype="float64")})
    if encoded is None:
        encoded = model[:-1].transform(feature_frame(customers, features))
    distances = np.asarray(model[-1].transform(encoded), dtype="float64")
    segment = distances.argmin(axis=1)
    return pd.DataFrame(
        {"segment": segment.astype("int64"), "distance": distances[np.arange(len(segment)), segment]},
        index=customers.index,
    )


def nearest_segments(model: Pipeline | KMeans, encoded: pd.DataFrame) -> pd.DataFrame:
    """The nearest and the second-nearest segment of every customer, with the distances to
    their centres (in the scaled features), and how clear-cut the assignment is.

    ``model``: the fitted model (its last step is the K-means) or the K-means itself;
    ``encoded``: the customers' features as the model's preprocessing made them (not encoded
    again here). ``clarity`` is ``1 - distance / runner_up_distance``: 0 for a customer exactly
    between two segments, 1 at its segment's centre. With a single segment there is no
    runner-up (``<NA>``) and the clarity is 1. ``segment`` is the one :func:`assign_segments`
    gives (ties go to the lower segment id).
    """
    kmeans = model[-1] if isinstance(model, Pipeline) else model
    index = encoded.index if isinstance(encoded, pd.DataFrame) else None
    k = int(kmeans.n_clusters)
    empty = np.empty((0, k))
    distances = np.asarray(kmeans.transform(encoded), dtype="float64") if len(encoded) else empty
    order = np.argsort(distances, axis=1, kind="stable")
    rows = np.arange(len(distances))
    nearest = distances[rows, order[:, 0]]
    if k > 1:
        runner_up = pd.array(order[:, 1], dtype="Int64")
        second = distances[rows, order[:, 1]]
        with np.errstate(divide="ignore", invalid="ignore"):
            clarity = np.where(second > 0, 1.0 - nearest / second, 0.0)
    else:
        runner_up = pd.array([pd.NA] * len(rows), dtype="Int64")
        second = np.full(len(rows), np.nan)
        clarity = np.ones(len(rows))
    return pd.DataFrame(
        {
            "segment": order[:, 0].astype("int64"),
            "distance": nearest,
            "runner_up": runner_up,
            "runner_up_distance": second,
            "clarity": clarity,
        },
        index=index,
    )
