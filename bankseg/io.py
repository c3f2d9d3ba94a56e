"""Reading customer files and writing every output atomically.

Each writer writes to a temporary file in the target's folder and renames it into place,
so a killed run never leaves a half-written file where DVC would cache it.
"""

from __future__ import annotations

import contextlib
import glob
import io
import json
import logging
import math
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bankseg.errors import InputError
from bankseg.trust import ALLOWED_TYPES, check_recorded, check_types

log = logging.getLogger(__name__)
T = TypeVar("T")

CSV_SUFFIXES = (".csv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    Temporary files are named ``.<name>.<random>.tmp``: ``.dvcignore`` keeps them out of
    DVC's directory outputs, and the next write to ``path`` removes any a killed run left.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        stale.unlink(missing_ok=True)  # left by a run that was killed before its rename
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)
        with open(tmp_path, "rb") as handle:  # on disk before the rename, also after a power cut
            os.fsync(handle.fileno())
        os.replace(tmp_path, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    finally:
        tmp_path.unlink(missing_ok=True)


DELIMITERS = (",", ";", "\t", "|")


def _csv_dialect(path: Path) -> tuple[str, str]:
    """The encoding (UTF-8, with or without byte order mark, else Latin-1) and the delimiter.

    The delimiter is the one of ``, ; tab |`` that occurs most often in the header line.
    """
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    try:
        head.decode("utf-8")
        encoding = "utf-8-sig"
    except UnicodeDecodeError as exc:
        # A cut in the middle of a multi-byte character at the end of the block is still UTF-8.
        encoding = "utf-8-sig" if exc.start >= len(head) - 3 else "latin-1"
    header = head.decode(encoding, errors="replace").splitlines()[0] if head.strip() else ""
    delimiter = max(DELIMITERS, key=header.count)
    if encoding == "latin-1":
        log.warning("%s: not UTF-8; read as Latin-1", path)
    return encoding, delimiter if header.count(delimiter) else ","


def read_customers(
    path: str | Path, columns: list[str] | Callable[[str], bool] | None = None
) -> pd.DataFrame:
    """Read a CSV or Parquet file of customers with every column as text (CSV) or as stored.

    CSV values stay strings so that validation, not the reader, decides what is a number.
    The encoding and the delimiter of a CSV are detected (see :func:`_csv_dialect`).
    ``columns`` (names, or a test of a header) reads only those columns, which is much
    faster on a wide export; then ``attrs["all_columns"]`` lists every column of the file.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    suffix = path.suffix.lower()
    wanted = columns
    if isinstance(columns, list):
        names = set(columns)
        wanted = names.__contains__
    try:
        if suffix in PARQUET_SUFFIXES:
            available = pq.read_schema(path).names
            if wanted is None:
                return pd.read_parquet(path)
            df = pd.read_parquet(path, columns=[c for c in available if wanted(c)])
            df.attrs["all_columns"] = list(available)
            return df
        if suffix in CSV_SUFFIXES:
            encoding, delimiter, options, header = _csv_header(path)
            df = _read_csv_arrow(path, encoding, delimiter, header, wanted)
            if df is None:
                df = pd.read_csv(path, dtype=str, usecols=wanted, **options)
            if wanted is not None:
                df.attrs["all_columns"] = header
            return df
    except pd.errors.EmptyDataError as exc:
        raise InputError(f"{path}: file is empty, expected a header row and customer rows") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, pa.ArrowInvalid, OSError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot be read as {suffix[1:]} ({detail})") from exc
    raise InputError(f"{path}: unsupported file type {suffix!r}, expected .csv or .parquet")


def _csv_header(path: Path) -> tuple[str, str, dict, list]:
    """The encoding, the delimiter, pandas's options for the file and its header's column names."""
    encoding, delimiter = _csv_dialect(path)
    options = dict(sep=delimiter, encoding=encoding, keep_default_na=False, na_values=[""])
    return encoding, delimiter, options, list(pd.read_csv(path, nrows=0, **options).columns)


def _arrow_csv_options(
    encoding: str, delimiter: str, header: list[str], wanted: Callable[[str], bool] | None, **read: Any
) -> dict | None:
    """pyarrow's CSV options giving the frame pandas would give, or None for a header pandas renames."""
    names = [str(c) for c in header]
    if len(set(names)) != len(names) or any(not n or n.startswith("Unnamed: ") for n in names):
        return None
    return dict(
        read_options=pacsv.ReadOptions(encoding="utf8" if encoding == "utf-8-sig" else encoding, **read),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            include_columns=[n for n in names if wanted is None or wanted(n)],
            null_values=[""],
            strings_can_be_null=True,
        ),
    )


def _text_frame(table: pa.Table) -> pd.DataFrame:
    return pd.DataFrame({n: pd.Series(table.column(n).to_pandas(), dtype="str") for n in table.column_names})


def _read_csv_arrow(
    path: Path, encoding: str, delimiter: str, header: list[str], wanted: Callable[[str], bool] | None
) -> pd.DataFrame | None:
    """The fast path of :func:`read_customers`: pyarrow's multi-threaded CSV reader.

    It gives the frame pandas would give (text columns, empty fields missing) or None, and
    then pandas reads the file: for a header pandas renames (duplicate or empty names), and
    for anything pyarrow cannot parse as it stands (a row with more or fewer fields, an
    unterminated quote, bytes that are not text), so that pandas's handling and messages
    stay those of every file.
    """
    options = _arrow_csv_options(encoding, delimiter, header, wanted)
    if options is None:
        return None
    try:
        table = pacsv.read_csv(path, **options)
    except (pa.ArrowException, UnicodeError, ValueError):
        return None
    return _text_frame(table)


class NotReadableInBlocks(Exception):
    """:func:`read_customer_blocks` cannot read this file a block at a time; read it whole."""


BLOCK_ROWS = 250_000  # customers per block
# pyarrow's streaming CSV reader holds many times its block size (about 30 times, measured):
# files are read in small pieces, which are put together into blocks of BLOCK_ROWS customers.
READ_BYTES = 4 << 20  # of CSV
READ_ROWS = 1 << 16  # of Parquet


def read_customer_blocks(path: str | Path, columns: Callable[[str], bool]) -> Iterator[pd.DataFrame]:
    """:func:`read_customers` a block of rows at a time, so that memory does not grow with the file.

    The blocks (of :data:`BLOCK_ROWS` customers), put end to end, are the frame
    :func:`read_customers` gives; there is at least one (empty for a file without rows).
    A CSV that pyarrow's streaming reader cannot read as it stands raises
    :class:`NotReadableInBlocks`, possibly after some blocks: read it with
    :func:`read_customers` then, which also gives the error message of a bad file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        try:
            parquet = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as exc:
            raise NotReadableInBlocks(str(exc)) from exc
        available = parquet.schema_arrow.names
        wanted = [c for c in available if columns(c)]
        batches = parquet.iter_batches(batch_size=READ_ROWS, columns=wanted)
        schema = pa.schema([parquet.schema_arrow.field(c) for c in wanted])
    elif suffix in CSV_SUFFIXES and path.exists():
        try:
            encoding, delimiter, _, available = _csv_header(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
            raise NotReadableInBlocks(str(exc)) from exc
        options = _arrow_csv_options(encoding, delimiter, available, columns, block_size=READ_BYTES)
        if options is None:
            raise NotReadableInBlocks("a header pandas renames")
        try:
            batches = pacsv.open_csv(path, **options)
        except (pa.ArrowException, UnicodeError, ValueError) as exc:
            raise NotReadableInBlocks(str(exc)) from exc
        schema = batches.schema
    else:
        raise NotReadableInBlocks(f"{suffix!r} files are read whole")
    for table in _row_blocks(batches, schema, BLOCK_ROWS):
        df = table.to_pandas() if suffix in PARQUET_SUFFIXES else _text_frame(table)
        df.attrs["all_columns"] = list(available)
        yield df


class _OnlyOnce(logging.Filter):
    """Let each message through once: a file read again after a failed block read warns once."""

    def __init__(self) -> None:
        super().__init__()
        self.first: dict[str, logging.LogRecord] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        # The same record passes every handler; a repeated message is a new record.
        return self.first.setdefault(record.getMessage(), record) is record


Reader = Callable[[str | Path, Callable[[str], bool]], Iterable[pd.DataFrame]]


def in_blocks(run: Callable[[Reader], T]) -> T:
    """``run(read)``, where ``read(path, columns)`` gives a file's blocks (:func:`read_customer_blocks`).

    When a file cannot be read in blocks, ``run`` starts again with every file read whole
    (:func:`read_customers`), so it must write its outputs only when it succeeds (as the
    block writers do). Warnings are not repeated.
    """
    once = _OnlyOnce()
    handlers = logging.getLogger().handlers
    for handler in handlers:
        handler.addFilter(once)
    try:
        try:
            return run(read_customer_blocks)
        except NotReadableInBlocks:
            # Some files only pandas reads (e.g. rows with fewer fields), or nothing reads:
            # then pandas reads the whole file, and says what is wrong with it.
            return run(lambda path, columns: [read_customers(path, columns)])
    finally:
        for handler in handlers:
            handler.removeFilter(once)


def _row_blocks(batches: Iterator[pa.RecordBatch], schema: pa.Schema, rows: int) -> Iterator[pa.Table]:
    """Tables of ``rows`` rows (the last one shorter, and one empty table for no rows)."""
    pending = schema.empty_table()
    found = False
    while True:
        try:
            batch = next(batches, None)
        except (pa.ArrowException, UnicodeError, ValueError) as exc:
            raise NotReadableInBlocks(str(exc)) from exc
        if batch is not None:
            pending = pa.concat_tables([pending, pa.Table.from_batches([batch])])
        while pending.num_rows >= rows or (batch is None and (pending.num_rows or not found)):
            found = True
            yield pending.slice(0, rows)
            pending = pending.slice(rows)
        if batch is None:
            return


def write_parquet(df: pd.DataFrame, path: str | Path) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def _no_null_columns(schema: pa.Schema) -> pa.Schema:
    """``schema`` with text for the columns that had no value at all (Arrow's null type)."""
    fields = [f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in schema]
    return pa.schema(fields, metadata=schema.metadata)


def parquet_block_writer(
    path: str | Path,
) -> contextlib.AbstractContextManager[Callable[[pd.DataFrame | pa.Table], None]]:
    """A context giving ``write(block)``, which appends frames or tables with the same columns
    to one Parquet file; the file appears on success. A frame written in one block gives the
    file of :func:`write_parquet`; a column without any value in the first block is text."""

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


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with an apostrophe.

    Cells starting with ``= + - @``, tab or carriage return are neutralised; plain numbers
    such as ``-1`` are left as they are.
    """
    out = df.copy()
    for column in out.columns:
        if out[column].dtype.kind not in "OSU" and not pd.api.types.is_string_dtype(out[column]):
            continue
        text = out[column].astype("string")
        starts = text.str.startswith(FORMULA_START).fillna(False)
        if not starts.any():  # the usual case: skip the slower number test
            continue
        risky = starts & ~text.str.match(_PLAIN_NUMBER).fillna(False)
        if risky.any():
            out[column] = out[column].astype(object).where(~risky, "'" + text[risky].astype(object))
    return out


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write CSV quickly with pyarrow (pandas' writer is several times slower).

    Text that a spreadsheet would run as a formula is neutralised first.
    """
    table = pa.Table.from_pandas(neutralise_formulas(df), preserve_index=False)
    with atomic_path(path) as tmp:
        pacsv.write_csv(table, tmp)


_ASCII_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _risky_rows(table: pa.Table) -> bool:
    """Whether any text cell starts like a spreadsheet formula (checked in Arrow, without Python strings)."""
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            starts = pc.is_in(pc.utf8_slice_codeunits(column, 0, 1), value_set=pa.array(FORMULA_START))
            if pc.any(starts).as_py():
                # Few cells start so; plain ASCII numbers such as -1 are left alone anyway.
                candidates = pc.filter(column, pc.fill_null(starts, False)).to_pylist()
                if not all(_ASCII_NUMBER.fullmatch(v) for v in candidates):
                    return True
    return False


def csv_block_writer(
    path: str | Path,
) -> contextlib.AbstractContextManager[Callable[[pa.Table | pd.DataFrame], None]]:
    """A context giving ``write(block)``, which appends a table or frame to one CSV; the file
    appears on success. Blocks have the same columns; a column without any value in the
    first block is text. The file is the bytes :func:`write_csv` writes for all blocks at
    once: frames, and tables with a cell that looks like a formula, go through
    :func:`neutralise_formulas`."""

    def to_table(block: pa.Table | pd.DataFrame, schema: pa.Schema | None) -> pa.Table:
        if isinstance(block, pd.DataFrame):
            block = pa.Table.from_pandas(neutralise_formulas(block), preserve_index=False)
        elif _risky_rows(block):
            block = pa.Table.from_pandas(neutralise_formulas(block.to_pandas()), preserve_index=False)
        return block.replace_schema_metadata(None)

    return _block_writer(path, pacsv.CSVWriter, to_table)


def write_csv_blocks(blocks: Iterable[pa.Table], path: str | Path) -> None:
    """Write Arrow tables with the same columns as one CSV, a block at a time."""
    with csv_block_writer(path) as write:
        for block in blocks:
            write(block)


def _rounded(value: Any, digits: int) -> Any:
    if isinstance(value, dict):
        return {str(k): _rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v, digits) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return round(value, digits)
    return value


def write_json(data: Any, path: str | Path, *, digits: int = 4) -> None:
    """Small, diffable JSON: sorted keys, rounded floats, non-finite values as null."""
    text = json.dumps(_rounded(data, digits), indent=2, sort_keys=True, ensure_ascii=False)
    write_text(text + "\n", path)


def read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{path}: file not found; run the pipeline first (dvc repro)") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc


def write_text(text: str, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def save_figure(fig: Any, path: str | Path) -> None:
    """Save a matplotlib figure as PNG without metadata that changes between runs."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})


# skops names each array's file, and numbers each object, by id(obj), and dates each entry:
# the archive is rewritten with those replaced, so the same model gives the same bytes.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold


def _canonical_skops(data: bytes) -> bytes:
    """The skops archive ``data`` written the same way every time, with the same content.

    The ids (``__id__`` and the ``<id>.npy`` file names) are renumbered 1, 2, ... in order of
    first appearance in ``schema.json``, one mapping for both (an id can be shared by several
    nodes, and a node's array file carries its id). Entries are stored uncompressed, dated
    1980-01-01, arrays in that order and the schema last, the schema as compact JSON.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        numbers: dict[str, int] = {}
        arrays: dict[str, bytes] = {}  # new name -> content
        read: set[str] = set()  # old names

        def number(old: object) -> int:
            # From 1: skops does not remember an object whose id is 0.
            return numbers.setdefault(str(old), len(numbers) + 1)

        def renumber(node: Any) -> Any:
            if isinstance(node, list):
                return [renumber(v) for v in node]
            if not isinstance(node, dict):
                return node
            out = {}
            for key, value in node.items():  # in the order of the file
                if key == "__id__":
                    out[key] = number(value)
                elif key == "file" and "__loader__" in node and isinstance(value, str):
                    stem, dot, suffix = value.partition(".")
                    out[key] = f"{number(stem)}{dot}{suffix}"
                    arrays[out[key]] = archive.read(value)
                    read.add(value)
                else:
                    out[key] = renumber(value)
            return out

        schema = renumber(json.loads(archive.read("schema.json")))
        unnamed = set(archive.namelist()) - {"schema.json"} - read
    if unnamed:  # the schema does not name every file: this format is not the one we know
        raise ValueError(f"skops wrote files its schema does not name: {sorted(unnamed)}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        entries = sorted(arrays.items(), key=lambda item: int(item[0].partition(".")[0]))
        for name, content in [*entries, ("schema.json", json.dumps(schema, separators=(",", ":")).encode())]:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 3  # Unix, wherever it is written
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def save_model(model: Any, path: str | Path) -> None:
    """Save with skops (a zip of JSON and arrays, loaded without running code), byte for byte
    the same for the same model (:func:`_canonical_skops`)."""
    import skops.io

    data = _canonical_skops(skops.io.dumps(model))
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def load_model(path: str | Path, *, root: str | Path, stage: str | None = None) -> Any:
    """Load a model the pipeline saved, after checking it against the project's ``dvc.lock``.

    ``root`` is the project folder holding ``dvc.lock`` (stages run there; the command line
    uses the folder of its params file). The file is read once; its MD5 must be the one
    dvc.lock records (:func:`bankseg.trust.check_recorded`, where ``stage`` is the stage now
    running), and it must name only the types of :data:`bankseg.trust.ALLOWED_TYPES`
    (:func:`bankseg.trust.check_types`). Only then does skops build it, from those bytes.
    """
    import skops.io

    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{path}: model not found; run the pipeline first (dvc repro)") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read the model ({exc.strerror})") from exc
    check_recorded(path, data, root=root, stage=stage)
    check_types(path, data)
    try:
        return skops.io.loads(data, trusted=sorted(ALLOWED_TYPES))
    except (ValueError, TypeError, KeyError, AttributeError, ImportError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: cannot be loaded ({type(exc).__name__}: {exc}); run dvc repro") from exc
