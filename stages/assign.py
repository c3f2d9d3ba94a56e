"""Stage assign: label the training customers and the new batch with the saved model."""

import argparse
import logging
from pathlib import Path

import pandas as pd

from bankseg.errors import InputError, run_entry_point
from bankseg.io.atomic import read_json, write_csv, write_json
from bankseg.io.models import load_model
from bankseg.params import load_params
from bankseg.paths import check_args
from bankseg.reporting.drift import drift_report
from bankseg.segmentation.assignment import label_customers, read_segment_names, split_by_segment

log = logging.getLogger("assign")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--segments", required=True)
    parser.add_argument("--customers", required=True)
    parser.add_argument("--features", required=True, help="the customers' features from the featurize stage")
    parser.add_argument("--new", required=True)
    parser.add_argument("--out-customers", required=True)
    parser.add_argument("--out-new", required=True)
    parser.add_argument("--by-segment", required=True, help="folder for one CSV per segment of the new batch")
    parser.add_argument("--drift", required=True, help="JSON metrics: the new batch against training")
    args = parser.parse_args()
    check_args(
        args,
        inputs=["model", "segments", "customers", "features", "new"],
        outputs=["out_customers", "out_new", "by_segment", "drift"],
        folders=["by_segment"],
    )
    if load_params().engine == "spark":
        from bankseg.engines.spark.assign import run

        return run(args, load_params())
    params = load_params()

    # DVC runs the stage in the project folder, where dvc.lock records the model.
    model = load_model(args.model, root=Path.cwd(), stage="assign")
    names = read_segment_names(read_json(args.segments))
    training = pd.read_parquet(args.customers)
    batch = pd.read_parquet(args.new)
    # The training customers went through the model's preprocessing in featurize already.
    encoded = pd.read_parquet(args.features)
    if len(encoded) != len(training):
        raise InputError(
            f"{args.features}: {len(encoded)} rows of features for the {len(training)} customers of "
            f"{args.customers}, expected one per customer (run dvc repro)"
        )
    customers = label_customers(model, names, training, params, encoded=encoded)
    new = label_customers(model, names, batch, params)
    drift = drift_report(
        training, batch, customers["segment"], new["segment"], names, params.features, params.drift
    )
    for warning in drift["warnings"]:
        log.warning("drift in the new customers: %s", warning)
    write_csv(customers, args.out_customers)
    write_csv(new, args.out_new)
    folder = Path(args.by_segment)
    for stale in folder.glob("segment_*.csv"):  # from an earlier run with other segments
        if stale.stem.removeprefix("segment_") not in {str(s) for s in names}:
            stale.unlink()
    for segment, part in split_by_segment(new, names).items():
        write_csv(part, Path(args.by_segment) / f"segment_{segment}.csv")
    write_json(drift, args.drift)


if __name__ == "__main__":
    run_entry_point(main)
