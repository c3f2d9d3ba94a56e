"""Train on Spark: K-means on every customer, exported as a scikit-learn model."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from bankseg.engines.spark.session import (
    assemble,
    collect_rows,
    map_frames,
    read_features,
    read_parquet,
    spark_kmeans,
)
from bankseg.engines.training import (
    TrainedSegments,
    follow_reference,
    segment_findings,
    segment_metrics,
    segment_names,
    segments_record,
)
from bankseg.errors import InputError
from bankseg.params import Params, TrainParams
from bankseg.segmentation.kmeans import canonical_order, encoded_centres, new_kmeans
from bankseg.segmentation.sampling import seeded_sample
from bankseg.segmentation.stability import bootstrap_stability

log = logging.getLogger(__name__)


def exported_kmeans(centres: np.ndarray, names: list[str], train: TrainParams) -> KMeans:
    """A scikit-learn KMeans holding ``centres`` (rounded as :func:`bankseg.segmentation.kmeans.relabel`
    rounds them), with the ``train`` settings; its labels and inertia are set later.

    scikit-learn fits it itself, started at the centres on the centres (one iteration that
    moves nothing), so every fitted attribute is its own. On one OpenMP thread, so that the
    model records one thread as the default engine's does, whatever the driver machine. Its
    ``n_iter_`` is that of this fit, not Spark's: Spark's count depends on the partitions
    (the same centres took 4 or 5 iterations from 2 or 1 partitions), and the model file
    should not.
    """
    rounded = np.round(np.asarray(centres, dtype="float64"), 9)
    kmeans = new_kmeans(len(rounded), train)
    settings = kmeans.get_params()
    with threadpool_limits(limits=1, user_api="openmp"):
        kmeans.set_params(init=rounded, n_init=1).fit(pd.DataFrame(rounded, columns=names))
    kmeans.set_params(**settings)  # what the model says it was trained with: the train settings
    kmeans.cluster_centers_ = rounded  # the fit centres the data, which moves the last bits
    return kmeans


def score_rows(features: Any, kmeans: KMeans, names: list[str]) -> tuple[np.ndarray, float]:
    """Label of every customer (in file order) and the inertia, with the scikit-learn model on Spark."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, IntegerType, StructField, StructType

    schema = StructType([StructField("label", IntegerType()), StructField("d2", DoubleType())])

    def score(pdf: pd.DataFrame) -> pd.DataFrame:
        frame = pd.DataFrame(pdf.to_numpy(), columns=names)
        labels = kmeans.predict(frame).astype("int32")
        d2 = kmeans.transform(frame)[np.arange(len(frame)), labels] ** 2
        return pd.DataFrame({"label": labels, "d2": d2})

    scored = map_frames(features, score, schema).persist()
    try:
        labels = scored.select("label").toPandas()["label"].to_numpy().astype(np.int32)
        inertia = float(scored.agg(F.sum("d2")).first()[0] or 0.0)
    finally:
        scored.unpersist()
    return labels, inertia


def feature_spread(features: Any, preprocessing: Pipeline, names: list[str]) -> pd.Series:
    """As :func:`bankseg.segmentation.kmeans.encoded_spread`: the standard deviation of each encoded feature.

    The scalers are affine, so the encoded spread is the scaled one times the inverse scale.
    """
    from pyspark.sql import functions as F

    row = features.agg(*[F.stddev_pop(c) for c in features.columns]).first()
    scale = preprocessing.named_steps["scale"]
    ones = np.asarray(scale.inverse_transform(pd.DataFrame([np.ones(len(names))], columns=names)))
    zeros = np.asarray(scale.inverse_transform(pd.DataFrame([np.zeros(len(names))], columns=names)))
    spread = pd.Series(np.abs(ones - zeros)[0] * np.array(row, dtype="float64"), index=names)
    return spread.where(spread > 0, 1.0)


def train(
    spark: Any,
    *,
    features: str | Path,
    customers: str | Path,
    preprocessing: Pipeline,
    reference: dict,
    params: Params,
    n_clusters: int,
    sample_size: int,
) -> TrainedSegments:
    """K-means on Spark, exported as scikit-learn; ids, names, stability and metrics as
    :func:`bankseg.engines.training.train_segments` gives them, the names and the quality
    criteria on a seeded sample of ``sample_size`` customers (``spark.sample_size``)."""
    frame, names = read_features(spark, features)
    vectors = assemble(frame).persist()
    try:
        n_rows = vectors.count()
        if n_rows < n_clusters:
            raise InputError(f"train: {n_rows} customers is fewer than n_clusters={n_clusters}")
        tr = params.train
        model = spark_kmeans(
            vectors, n_clusters, seed=tr.random_state, max_iter=tr.max_iter, tol=tr.tol, n_init=tr.n_init
        )
        sizes = np.asarray(model.summary.clusterSizes)
        log.info("K-means converged in %d iterations on Spark", model.summary.numIter)
    finally:
        vectors.unpersist()
    centres = np.array(model.clusterCenters())
    centres = centres[canonical_order(centres, np.repeat(np.arange(n_clusters), sizes))]
    order, kept = follow_reference(exported_kmeans(centres, names, tr), preprocessing, reference, params)
    kmeans = exported_kmeans(centres[order], names, tr)
    labels, inertia = score_rows(frame, kmeans, names)
    kmeans.labels_ = labels
    kmeans.inertia_ = float(np.round(inertia, 6))
    log.info("%d of %d segments keep their reference id and name", len(kept), n_clusters)

    # Names and the sampled criteria: seeded samples collected to the driver.
    st = params.stability
    named_rows = seeded_sample(n_rows, sample_size, params.elbow.random_state)
    stable_rows = seeded_sample(n_rows, st.sample_size, st.random_state)
    wanted = np.union1d(named_rows, stable_rows)
    X_all = collect_rows(frame, wanted, n_rows).set_axis(names, axis=1)
    X_all.index = wanted
    customers_s = collect_rows(read_parquet(spark, customers), named_rows, n_rows)
    naming = segment_names(customers_s, labels[named_rows], kept, reference, params)
    stability = bootstrap_stability(
        X_all.loc[stable_rows].to_numpy(), labels[stable_rows], n_clusters, train=tr, params=st
    )
    record = segments_record(
        naming,
        encoded_centres(preprocessing, kmeans),
        stability,
        feature_spread(frame, preprocessing, names),
        params,
    )
    # What drives the segments, and the silhouette, Calinski-Harabasz and Davies-Bouldin, on
    # the seeded sample (all customers when they fit in spark.sample_size, as the default engine).
    X_named = X_all.loc[named_rows]
    findings = segment_findings(X_named, labels[named_rows], preprocessing, customers_s, params)
    record["drivers"] = findings.metrics
    metrics = segment_metrics(kmeans, X_named.to_numpy(), labels[named_rows], stability, naming, params)
    return TrainedSegments(kmeans, naming, kept, stability, record, findings.warnings, metrics)
