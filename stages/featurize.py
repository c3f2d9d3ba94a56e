"""Stage featurize: fit the encoding and scaling on the training customers and save it."""

import argparse

import pandas as pd

from bankseg.errors import run_entry_point
from bankseg.io.atomic import write_parquet
from bankseg.io.models import save_model
from bankseg.params import load_params
from bankseg.paths import check_args
from bankseg.segmentation.encoding import fit_preprocessing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", required=True)
    parser.add_argument("--preprocessing", required=True)
    parser.add_argument("--features", required=True)
    args = parser.parse_args()
    check_args(args, inputs=["customers"], outputs=["preprocessing", "features"])
    if load_params().engine == "spark":
        from bankseg.engines.spark.featurize import run

        return run(args, load_params())
    params = load_params()

    customers = pd.read_parquet(args.customers)
    preprocessing, scaled = fit_preprocessing(customers, params.features, params.featurize)
    save_model(preprocessing, args.preprocessing)
    write_parquet(scaled, args.features)


if __name__ == "__main__":
    run_entry_point(main)
