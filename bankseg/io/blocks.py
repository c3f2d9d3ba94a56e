"""One Parquet or CSV file written a block of rows at a time, so that memory does not grow
with the file; the file appears, atomically, once every block is written."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bankseg.io.atomic import atomic_path
from bankseg.io.formulas import has_formulas, neutralise_formulas


def _no_null_columns(schema: pa.Schema) -> pa.Schema:
    """``schema`` with text for the columns that had no value at all (Arrow's null type)."""
    fields = [f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in schema]
    return pa.schema(fields, metadata=schema.metadata)


def parquet_block_writer(
    path: str | Path,
) -> contextlib.AbstractContextManager[Callable[[pd.DataFrame | pa.Table], None]]:
    """A context giving ``write(block)``, which appends frames or tables with the same columns
    to one Parquet file; the file appears on success. A frame written in one block gives the
    file of :func:`bankseg.io.atomic.write_parquet`; a column without any value in the first
    block is text."""

    def to_table(block: pd.DataFrame | pa.Table, schema: pa.Schema | None) -> pa.Table:
        if isinstance(block, pa.Table):
            return block
        return pa.Table.from_pandas(block, schema=schema, preserve_index=False)

    return _block_writer(
        path, lambda tmp, schema: pq.ParquetWriter(tmp, schema, compression="zstd"), to_table
    )


@contextlib.contextmanager
def _block_writer(
    path: str | Path, open_writer: Callable[[Path, pa.Schema], Any], to_table: Callable[[Any, Any], pa.Table]
) -> Iterator[Callable[[Any], None]]:
    """Yield ``write(block)``: ``to_table(block, schema)`` (``schema`` is None for the first
    block) appended to the file ``open_writer(tmp, schema)`` writes, renamed onto ``path`` on success."""
    with atomic_path(path) as tmp:
        writer = schema = None

        def write(block: Any) -> None:
            nonlocal writer, schema
            table = to_table(block, schema)
            if writer is None:
                schema = _no_null_columns(table.schema)
                writer = open_writer(tmp, schema)
            writer.write_table(table.cast(schema))

        try:
            yield write
        finally:
            if writer is not None:
                writer.close()


def csv_block_writer(
    path: str | Path,
) -> contextlib.AbstractContextManager[Callable[[pa.Table | pd.DataFrame], None]]:
    """A context giving ``write(block)``, which appends a table or frame to one CSV; the file
    appears on success. Blocks have the same columns; a column without any value in the
    first block is text. The file is the bytes :func:`bankseg.io.atomic.write_csv` writes for
    all blocks at once: frames, and tables with a cell that looks like a formula, go through
    :func:`bankseg.io.formulas.neutralise_formulas`."""

    def to_table(block: pa.Table | pd.DataFrame, schema: pa.Schema | None) -> pa.Table:
        if isinstance(block, pd.DataFrame):
            block = pa.Table.from_pandas(neutralise_formulas(block), preserve_index=False)
        elif has_formulas(block):
            block = pa.Table.from_pandas(neutralise_formulas(block.to_pandas()), preserve_index=False)
        return block.replace_schema_metadata(None)

    return _block_writer(path, pacsv.CSVWriter, to_table)


def write_csv_blocks(blocks: Iterable[pa.Table], path: str | Path) -> None:
    """Write Arrow tables with the same columns as one CSV, a block at a time."""
    with csv_block_writer(path) as write:
        for block in blocks:
            write(block)
