"""Stage generate: write the built-in synthetic customer base and a batch of new customers,
as of quarter ``generate.quarter`` (1: the base as first drawn; see docs/quarters.md)."""

import argparse

from bankseg.errors import run_entry_point
from bankseg.startup import loading_libraries


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", required=True)
    parser.add_argument("--new", required=True)
    parser.add_argument("--personas", required=True)
    parser.add_argument("--params", default="params.yaml", help="the settings (default: %(default)s)")
    args = parser.parse_args(argv)

    with loading_libraries():
        from bankseg.data.generate import customer_blocks, new_customer_blocks
        from bankseg.io.blocks import write_csv_blocks
        from bankseg.params import load_params
        from bankseg.paths import check_args

    check_args(args, inputs=[], outputs=["customers", "new", "personas"], params=args.params)
    params = load_params(args.params).generate

    # Written a block of customers at a time, so that memory stays bounded for any size.
    customers, personas = customer_blocks(
        params.n_customers, seed=params.seed, quarter=params.quarter, n_new=params.n_new_customers
    )
    write_csv_blocks(customers, args.customers)
    write_csv_blocks(personas, args.personas)
    new, _ = new_customer_blocks(
        params.n_new_customers, n_customers=params.n_customers, seed=params.seed, quarter=params.quarter
    )
    write_csv_blocks(new, args.new)


if __name__ == "__main__":
    run_entry_point(main)
