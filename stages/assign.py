"""Stage assign: label the training customers and the new batch with the saved model."""

import argparse
from pathlib import Path

import pandas as pd

from bankseg.assignment import label_customers, read_segment_names, split_by_segment
from bankseg.errors import run_entry_point
from bankseg.io import load_model, read_json, write_csv
from bankseg.params import load_params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--segments", required=True)
    parser.add_argument("--customers", required=True)
    parser.add_argument("--new", required=True)
    parser.add_argument("--out-customers", required=True)
    parser.add_argument("--out-new", required=True)
    parser.add_argument("--by-segment", required=True, help="folder for one CSV per segment of the new batch")
    args = parser.parse_args()
    params = load_params()

    model = load_model(args.model)
    names = read_segment_names(read_json(args.segments))
    customers = label_customers(model, names, pd.read_parquet(args.customers), params)
    new = label_customers(model, names, pd.read_parquet(args.new), params)
    write_csv(customers, args.out_customers)
    write_csv(new, args.out_new)
    for segment, part in split_by_segment(new, names).items():
        write_csv(part, Path(args.by_segment) / f"segment_{segment}.csv")


if __name__ == "__main__":
    run_entry_point(main)
