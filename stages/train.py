"""Stage train: fit K-means, renumber segments canonically, name them, save one model."""

import argparse
import logging

import pandas as pd

from bankseg.errors import run_entry_point
from bankseg.io import load_model, read_json, save_model, write_json
from bankseg.model import build_model, fit_kmeans, training_metrics
from bankseg.params import load_params
from bankseg.profiling import name_segments, segment_effects

log = logging.getLogger("train")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", required=True)
    parser.add_argument("--features", required=True)
    parser.add_argument("--preprocessing", required=True)
    parser.add_argument("--elbow", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--segments", required=True)
    parser.add_argument("--metrics", required=True)
    args = parser.parse_args()
    params = load_params()

    n_clusters = params.train.n_clusters
    if n_clusters == "auto":
        n_clusters = int(read_json(args.elbow)["suggested_k"])
        log.info("n_clusters=auto: using the elbow stage's suggestion K=%d", n_clusters)
    X = pd.read_parquet(args.features)
    kmeans = fit_kmeans(X, n_clusters=n_clusters, params=params.train)

    customers = pd.read_parquet(args.customers)
    segments = pd.Series(kmeans.labels_, index=customers.index)
    effects = segment_effects(customers, segments, params.features, list(params.prepare.profile_columns))
    names = name_segments(effects, top_features=params.segments.top_features, overrides=params.segments.names)

    save_model(build_model(load_model(args.preprocessing), kmeans), args.model)
    write_json({"segments": {str(k): {"name": v} for k, v in names.items()}}, args.segments)
    metrics = training_metrics(
        X, kmeans, silhouette_sample=params.elbow.silhouette_sample, random_state=params.elbow.random_state
    )
    write_json(metrics, args.metrics)


if __name__ == "__main__":
    run_entry_point(main)
