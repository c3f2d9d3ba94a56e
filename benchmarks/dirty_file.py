"""Time reading and cleaning a customer file with a share of broken records.

Writes N generated customers as CSV with the given share of its lines cut one field short,
then reads the whole file and cleans it with the default params, and prints the CPU time of
each step. The records with a wrong number of fields (broken records: their values are kept
apart and the rows rejected, never shifted) outnumber the lines cut: the generated addresses
hold line breaks, and a line cut inside a quoted address breaks the records after it too.

Usage (from the project folder, with the package importable, e.g. ``PYTHONPATH=$PWD``)::

    python benchmarks/dirty_file.py                       # 100,000 customers; 0 % and 20 % of lines cut
    python benchmarks/dirty_file.py --n-customers 500000 --broken 0.05
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from bankseg.data.cleaning import clean_customers
from bankseg.data.generate import generate_customers
from bankseg.data.reading import MALFORMED, read_customers
from bankseg.params import load_params


def write_dirty(path: Path, n_customers: int, broken: float) -> None:
    raw, _ = generate_customers(n_customers, seed=3)
    header, *lines = raw.to_csv(index=False).splitlines()
    cut = np.random.default_rng(0).random(len(lines)) < broken
    lines = [line.rsplit(",", 1)[0] if short else line for line, short in zip(lines, cut, strict=True)]
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n-customers", type=int, default=100_000)
    parser.add_argument(
        "--broken", type=float, nargs="+", default=[0.0, 0.2], help="shares of lines cut short"
    )
    args = parser.parse_args()
    params = load_params("params.yaml")
    print(f"python {platform.python_version()}, {args.n_customers:,} customers")
    print("lines cut | broken records | read (CPU s) | clean (CPU s) | kept")
    with tempfile.TemporaryDirectory() as folder:
        for share in args.broken:
            path = Path(folder) / f"customers-{share}.csv"
            write_dirty(path, args.n_customers, share)
            start = time.process_time()
            frame = read_customers(path)
            read = time.process_time() - start
            start = time.process_time()
            kept = len(clean_customers(frame, params, source=path.name).kept)
            clean = time.process_time() - start
            print(
                f"{share:9.0%} | {len(frame.attrs[MALFORMED]):14,} | {read:12.2f} | {clean:13.2f} | {kept:,}"
            )


if __name__ == "__main__":
    main()
