"""Stage train: fit K-means, keep segment ids and names of the reference, measure stability."""

import argparse
from pathlib import Path

import pandas as pd

from bankseg.engines.training import (
    naming_metrics,
    read_reference,
    resolve_n_clusters,
    train_segments,
    warn,
    warn_unstable,
)
from bankseg.errors import run_entry_point
from bankseg.io.atomic import write_json
from bankseg.io.models import load_model, save_model
from bankseg.params import load_params
from bankseg.paths import check_args
from bankseg.segmentation.kmeans import build_model, training_metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", required=True)
    parser.add_argument("--features", required=True)
    parser.add_argument("--preprocessing", required=True)
    parser.add_argument("--elbow", required=True)
    parser.add_argument("--reference", required=True, help="segments whose ids and names persist")
    parser.add_argument("--model", required=True)
    parser.add_argument("--segments", required=True)
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--stability", required=True)
    args = parser.parse_args()
    check_args(
        args,
        inputs=["customers", "features", "preprocessing", "elbow", "reference"],
        outputs=["model", "segments", "metrics", "stability"],
    )
    if load_params().engine == "spark":
        from bankseg.engines.spark.train import run

        return run(args, load_params())
    params = load_params()

    n_clusters = resolve_n_clusters(params.train.n_clusters, args.elbow)
    reference = read_reference(args.reference)
    # DVC runs the stage in the project folder, where dvc.lock records the preprocessing.
    preprocessing = load_model(args.preprocessing, root=Path.cwd(), stage="train")
    X = pd.read_parquet(args.features)
    customers = pd.read_parquet(args.customers)
    trained = train_segments(X, customers, preprocessing, reference, params, n_clusters=n_clusters)
    warn_unstable(trained.stability, trained.names)
    warn(trained.warnings)

    save_model(build_model(preprocessing, trained.kmeans), args.model)
    write_json(trained.record, args.segments)
    write_json(trained.stability, args.stability)
    metrics = training_metrics(
        X,
        trained.kmeans,
        silhouette_sample=params.elbow.silhouette_sample,
        random_state=params.elbow.random_state,
    )
    metrics |= {"stability_mean_ari": trained.stability["mean_ari"]} | naming_metrics(trained.naming)
    write_json(metrics, args.metrics)


if __name__ == "__main__":
    run_entry_point(main)
