"""Stage elbow: score a range of K and suggest one."""

import argparse

import pandas as pd

from bankseg.errors import run_entry_point
from bankseg.io.atomic import save_figure, write_json
from bankseg.params import load_params
from bankseg.paths import check_args
from bankseg.reporting.plots import elbow_figure
from bankseg.segmentation.choosing_k import choose_k, seeded_sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--features", required=True)
    parser.add_argument("--scores", required=True)
    parser.add_argument("--figure", required=True)
    parser.add_argument("--metrics", required=True)
    args = parser.parse_args()
    check_args(args, inputs=["features"], outputs=["scores", "figure", "metrics"])
    if load_params().engine == "spark":
        from bankseg.engines.spark.elbow import run

        return run(args, load_params())
    params = load_params().elbow

    X = pd.read_parquet(args.features).to_numpy()
    scores, suggestion = choose_k(X[seeded_sample(len(X), params.sample_size, params.random_state)], params)
    write_json(scores.to_dict(orient="records"), args.scores)
    save_figure(elbow_figure(scores, suggestion), args.figure)
    write_json(suggestion, args.metrics)


if __name__ == "__main__":
    run_entry_point(main)
