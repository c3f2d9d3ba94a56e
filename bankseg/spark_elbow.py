"""Stage elbow on Spark: inertia of every K on every customer, the other criteria on a sample."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    calinski_harabasz_score,
    davies_bouldin_score,
    pairwise_distances,
    silhouette_score,
)

from bankseg.choosing_k import gap_statistic, seeded_sample, stability_by_k, suggest_k
from bankseg.io import (
    save_figure,
    write_json,
)
from bankseg.params import Params
from bankseg.plots import elbow_figure
from bankseg.spark_engine import (
    assemble,
    collect_rows,
    nearest,
    read_features,
    run_stage,
    spark_kmeans,
    total_inertia,
)

log = logging.getLogger(__name__)

# --- elbow -------------------------------------------------------------------------------


def sweep(spark: Any, features: Any, params: Params) -> pd.DataFrame:
    """The elbow sweep: inertia of pyspark.ml K-means on every customer for each K, and the
    other criteria with scikit-learn on the default engine's seeded sample of customers.

    The columns are those of :func:`bankseg.choosing_k.sweep`; ``inertia`` is over every
    customer (its knee does not depend on the scale).
    """
    el = params.elbow
    vectors = assemble(features).persist()
    try:
        n_rows = vectors.count()
        X = collect_rows(features, seeded_sample(n_rows, el.sample_size, el.random_state), n_rows).to_numpy()
        k_max = min(el.k_max, len(X) - 1)
        inertia = {1: total_inertia(features)}
        fits: dict[int, SimpleNamespace] = {1: SimpleNamespace(labels_=np.zeros(len(X), dtype=int))}
        sample_inertia = {1: float(((X - X.mean(axis=0)) ** 2).sum())}
        for k in range(2, k_max + 1):
            model = spark_kmeans(vectors, k, seed=el.random_state, max_iter=300, tol=1e-4, n_init=el.n_init)
            inertia[k] = float(model.summary.trainingCost)
            labels, d2 = nearest(X, np.array(model.clusterCenters()))
            fits[k] = SimpleNamespace(labels_=labels)
            sample_inertia[k] = float(d2.sum())
    finally:
        vectors.unpersist()
    sample = seeded_sample(len(X), el.silhouette_sample, el.random_state)
    distances = pairwise_distances(X[sample])
    gaps = gap_statistic(X, sample_inertia, n_references=el.n_references, random_state=el.random_state)
    gaps = gaps.set_index("k")
    shown = {k: fit for k, fit in fits.items() if k >= max(el.k_min, 2)}
    stability = stability_by_k(
        X, shown, n_bootstrap=el.n_bootstrap, n_init=el.n_init, random_state=el.random_state
    )
    rows = []
    for k in range(el.k_min, k_max + 1):
        labels = fits[k].labels_
        many = len(np.unique(labels)) > 1
        row = {"k": k, "inertia": inertia[k], "silhouette": float("nan")}
        if len(np.unique(labels[sample])) > 1:
            row["silhouette"] = float(silhouette_score(distances, labels[sample], metric="precomputed"))
        row["calinski_harabasz"] = float(calinski_harabasz_score(X, labels)) if many else float("nan")
        row["davies_bouldin"] = float(davies_bouldin_score(X, labels)) if many else float("nan")
        row["gap"] = float(gaps.loc[k, "gap"])
        row["gap_se"] = float(gaps.loc[k, "gap_se"])
        row["stability"] = stability.get(k, float("nan"))
        rows.append(row)
        log.info("k=%d inertia=%.1f silhouette=%.3f (spark)", k, row["inertia"], row["silhouette"])
    scores = pd.DataFrame(rows)
    scores.attrs["gap"] = [(int(k), float(r.gap), float(r.gap_se)) for k, r in gaps.iterrows()]
    scores.attrs["n_customers"] = n_rows
    scores.attrs["sample_size"] = len(X)
    if not scores["inertia"].is_monotonic_decreasing:
        log.warning("inertia does not decrease with k; raise elbow.n_init for a reliable knee")
    return scores


def run_elbow(spark: Any, args: Any, params: Params) -> None:
    scores = sweep(spark, read_features(spark, args.features)[0], params)
    suggestion = suggest_k(scores, params.elbow.method) | {"sample_size": scores.attrs["sample_size"]}
    write_json(scores.to_dict(orient="records"), args.scores)
    save_figure(elbow_figure(scores, suggestion), args.figure)
    write_json(suggestion, args.metrics)


def run(args: Any, params: Params) -> None:
    run_stage(run_elbow, args, params)
