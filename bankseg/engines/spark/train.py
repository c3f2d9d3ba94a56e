"""Stage train on Spark: K-means on every customer, exported as a scikit-learn model."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.pipeline import Pipeline

from bankseg.engines.spark.session import (
    assemble,
    collect_rows,
    map_frames,
    read_features,
    read_parquet,
    run_stage,
    spark_kmeans,
)
from bankseg.engines.training import (
    follow_reference,
    naming_metrics,
    read_reference,
    resolve_n_clusters,
    segment_findings,
    segment_names,
    segments_record,
    warn,
    warn_unstable,
)
from bankseg.errors import InputError
from bankseg.io.atomic import write_json
from bankseg.io.models import load_model, save_model
from bankseg.params import Params
from bankseg.segmentation.choosing_k import quality_scores, seeded_sample
from bankseg.segmentation.kmeans import build_model, canonical_order, encoded_centres, new_kmeans
from bankseg.segmentation.stability import bootstrap_stability

log = logging.getLogger(__name__)

# --- train -------------------------------------------------------------------------------


def sklearn_kmeans(centres: np.ndarray, names: list[str], params: Params) -> KMeans:
    """A fitted scikit-learn KMeans holding ``centres`` (labels and inertia are set later).

    It has no ``n_iter_``: Spark's iteration count depends on the partitions (the same centres
    took 4 or 5 iterations from 2 or 1 partitions), and the model file should not.
    """
    train = params.train
    kmeans = new_kmeans(len(centres), train)
    kmeans.cluster_centers_ = np.round(np.asarray(centres, dtype="float64"), 9)
    kmeans.n_features_in_ = len(names)
    kmeans.feature_names_in_ = np.asarray(names, dtype=object)
    kmeans._n_threads = 1  # as bankseg.segmentation.kmeans.relabel: the same model file everywhere
    kmeans._n_init = train.n_init
    kmeans._algorithm = train.algorithm
    kmeans.labels_ = np.zeros(0, dtype=np.int32)
    kmeans.inertia_ = 0.0
    return kmeans


def reorder(kmeans: KMeans, order: np.ndarray) -> KMeans:
    """New segment ``i`` is old cluster ``order[i]`` (centres rounded as in bankseg.segmentation.kmeans.relabel)."""
    kmeans.cluster_centers_ = np.round(kmeans.cluster_centers_[order], 9)
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


def run_train(spark: Any, args: Any, params: Params) -> None:
    n_clusters = resolve_n_clusters(params.train.n_clusters, args.elbow)
    reference = read_reference(args.reference)
    # Stages run in the project folder, where dvc.lock records the preprocessing.
    preprocessing = load_model(args.preprocessing, root=Path.cwd(), stage="train")
    trained = train(spark, args.features, args.customers, preprocessing, reference, params, n_clusters)
    warn_unstable(trained["stability"], trained["names"])
    warn(trained["warnings"])
    save_model(build_model(preprocessing, trained["kmeans"]), args.model)
    write_json(trained["record"], args.segments)
    write_json(trained["stability"], args.stability)
    write_json(trained["metrics"], args.metrics)


def train(
    spark: Any,
    features_path: str | Path,
    customers_path: str | Path,
    preprocessing: Pipeline,
    reference: dict,
    params: Params,
    n_clusters: int,
) -> dict:
    """K-means on Spark, exported as scikit-learn; ids, names, stability and metrics as
    :func:`bankseg.engines.training.train_segments` and :func:`bankseg.segmentation.kmeans.training_metrics` do."""
    from pyspark.sql import functions as F

    features, names = read_features(spark, features_path)
    vectors = assemble(features).persist()
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
    kmeans = sklearn_kmeans(centres, names, params)
    kmeans = reorder(kmeans, canonical_order(centres, np.repeat(np.arange(n_clusters), sizes)))

    order, kept = follow_reference(kmeans, preprocessing, reference, params)
    kmeans = reorder(kmeans, order)
    labels, inertia = score_rows(features, kmeans, names)
    kmeans.labels_ = labels
    # As scikit-learn: the tolerance in the units of the data, and the number of outputs.
    # Spark's sums vary in their last bits with the partitions: 12 digits keep the model
    # file the same however many cores read the features.
    variances = features.agg(*[F.var_pop(c) for c in features.columns]).first()
    kmeans._tol = float(f"{np.mean(np.array(variances, dtype='float64')) * params.train.tol:.12g}")
    kmeans._n_features_out = n_clusters
    kmeans.inertia_ = float(np.round(inertia, 6))
    log.info("%d of %d segments keep their reference id and name", len(kept), n_clusters)

    # Names and the sampled criteria: seeded samples collected to the driver.
    sp, st = params.spark, params.stability
    named_rows = seeded_sample(n_rows, sp.sample_size, params.elbow.random_state)
    stable_rows = seeded_sample(n_rows, st.sample_size, st.random_state)
    wanted = np.union1d(named_rows, stable_rows)
    X_all = collect_rows(features, wanted, n_rows).set_axis(names, axis=1)
    X_all.index = wanted
    customers = read_parquet(spark, customers_path)
    customers_s = collect_rows(customers, named_rows, n_rows)
    naming = segment_names(customers_s, labels[named_rows], kept, reference, params)
    stability = bootstrap_stability(
        X_all.loc[stable_rows].to_numpy(), labels[stable_rows], n_clusters, train=params.train, params=st
    )
    record = segments_record(
        naming,
        encoded_centres(preprocessing, kmeans),
        stability,
        feature_spread(features, preprocessing, names),
        params,
    )
    # What drives the segments, on the seeded sample.
    findings = segment_findings(X_all.loc[named_rows], labels[named_rows], preprocessing, customers_s, params)
    record["drivers"] = findings.metrics
    counts = np.bincount(labels, minlength=n_clusters)
    metrics = {
        "n_clusters": int(n_clusters),
        "n_customers": int(n_rows),
        "inertia": kmeans.inertia_,
        "segment_sizes": {str(i): int(s) for i, s in enumerate(counts)},
        "smallest_segment_share": float(counts.min() / n_rows),
    }
    # Silhouette, Calinski-Harabasz and Davies-Bouldin on the seeded sample (all customers
    # when they fit in spark.sample_size, as the default engine).
    metrics.update(
        quality_scores(
            X_all.loc[named_rows].to_numpy(),
            labels[named_rows],
            silhouette_sample=params.elbow.silhouette_sample,
            random_state=params.elbow.random_state,
        )
    )
    metrics["stability_mean_ari"] = stability["mean_ari"]
    metrics |= naming_metrics(naming)
    return {
        "kmeans": kmeans,
        "names": naming.names,
        "kept": kept,
        "stability": stability,
        "record": record,
    } | {
        "metrics": metrics,
        "warnings": findings.warnings,
    }


def run(args: Any, params: Params) -> None:
    run_stage(run_train, args, params)
