"""Stage prepare: validate raw records, drop personal data, reject invalid rows."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from bankseg.errors import run_entry_point
from bankseg.startup import loading_libraries

if TYPE_CHECKING:
    from collections.abc import Callable

    from bankseg.data.cleaning import CleanResult

log = logging.getLogger("prepare")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--raw", required=True)
    parser.add_argument("--new", required=True)
    parser.add_argument("--out-customers", required=True)
    parser.add_argument("--out-new", required=True)
    parser.add_argument("--rejected", required=True)
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--params", default="params.yaml", help="the settings (default: %(default)s)")
    args = parser.parse_args(argv)

    with loading_libraries():
        from pathlib import Path

        from bankseg.data.cleaning import (
            FileCleaner,
            needed_columns,
            rejection_warnings,
            require_rows,
            selective_warnings,
        )
        from bankseg.data.reading import Reader, in_blocks
        from bankseg.io.atomic import write_json
        from bankseg.io.blocks import csv_block_writer, parquet_block_writer
        from bankseg.params import load_params
        from bankseg.paths import check_args

    check_args(
        args,
        inputs=["raw", "new"],
        outputs=["out_customers", "out_new", "rejected", "metrics"],
        params=args.params,
    )
    params = load_params(args.params)

    columns = needed_columns(params)  # personal data is never even read
    minimum = params.elbow.k_max + 1

    # Without new customers (data.new unset, or the training file itself), the new-customer
    # outputs are empty: assign then labels the training customers only.
    has_new = Path(args.new).resolve() != Path(args.raw).resolve()

    def run(read: Reader) -> tuple[FileCleaner, FileCleaner | None]:
        # A block of customers at a time, so that memory does not grow with the files; the
        # outputs appear only when both files are cleaned and the training file passes.
        with (
            csv_block_writer(args.rejected) as write_rejected,
            parquet_block_writer(args.out_customers) as write_customers,
            parquet_block_writer(args.out_new) as write_new,
        ):
            customers = FileCleaner(params, source=args.raw, distinct_up_to=minimum)
            for block in read(args.raw, columns):
                cleaned = customers.clean(block)
                _write(cleaned, write_customers, write_rejected)
            require_rows(customers, params, minimum=minimum, source=args.raw)
            if not has_new:
                write_new(cleaned.kept.iloc[:0])
                return customers, None
            new = FileCleaner(params, source=args.new)
            for block in read(args.new, columns):
                _write(new.clean(block), write_new, write_rejected)
        return customers, new

    customers, new = in_blocks(run)
    quality = customers.quality
    new_quality = new.quality if new else None
    limit = params.gate.max_rejected_share
    warnings = [(args.raw, w) for w in rejection_warnings(quality, limit=limit)]
    warnings += [(args.raw, w) for w in selective_warnings(quality.get("rejected_vs_kept"))]
    warnings += [(args.new, w) for w in rejection_warnings(new_quality or {}, limit=limit)]
    for source, warning in warnings:
        log.warning("%s: %s", source, warning)
    write_json({"customers": quality, "new_customers": new_quality}, args.metrics)


def _write(cleaned: CleanResult, write_kept: Callable, write_rejected: Callable) -> None:
    write_kept(cleaned.kept)
    write_rejected(cleaned.rejected)


if __name__ == "__main__":
    run_entry_point(main)
