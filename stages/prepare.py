"""Stage prepare: validate raw records, drop personal data, reject invalid rows."""

import argparse

import pandas as pd

from bankseg.cleaning import clean_customers, needed_columns, require_rows
from bankseg.errors import run_entry_point
from bankseg.io import read_customers, write_csv, write_json, write_parquet
from bankseg.params import load_params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--raw", required=True)
    parser.add_argument("--new", required=True)
    parser.add_argument("--out-customers", required=True)
    parser.add_argument("--out-new", required=True)
    parser.add_argument("--rejected", required=True)
    parser.add_argument("--metrics", required=True)
    args = parser.parse_args()
    params = load_params()

    columns = needed_columns(params)  # personal data is never even read
    customers = clean_customers(read_customers(args.raw, columns), params, source=args.raw)
    require_rows(customers, params, minimum=params.elbow.k_max + 1, source=args.raw)
    new = clean_customers(read_customers(args.new, columns), params, source=args.new)

    write_parquet(customers.kept, args.out_customers)
    write_parquet(new.kept, args.out_new)
    write_csv(pd.concat([customers.rejected, new.rejected], ignore_index=True), args.rejected)
    write_json({"customers": customers.quality, "new_customers": new.quality}, args.metrics)


if __name__ == "__main__":
    run_entry_point(main)
