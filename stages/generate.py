"""Stage generate: write the built-in synthetic customer base and a batch of new customers."""

import argparse

from bankseg.errors import run_entry_point
from bankseg.generate import generate_customers
from bankseg.io import write_csv
from bankseg.params import load_params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", required=True)
    parser.add_argument("--new", required=True)
    parser.add_argument("--personas", required=True)
    args = parser.parse_args()
    params = load_params().generate

    customers, personas = generate_customers(params.n_customers, seed=params.seed)
    new, _ = generate_customers(params.n_new_customers, seed=params.seed + 1, first_id=params.n_customers)
    write_csv(customers, args.customers)
    write_csv(new, args.new)
    write_csv(personas, args.personas)


if __name__ == "__main__":
    run_entry_point(main)
