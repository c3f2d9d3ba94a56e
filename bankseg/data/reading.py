"""Reading customer files: CSV in the usual dialects and encodings, and Parquet, as text.

Every value comes out as text, exactly as written (a Parquet integer id ``20000`` is the text
``20000``, never ``20000.0``), so that the cleaning, not the reader, decides what is a
number. A file is first recognised by its content (:func:`sniff`): a compressed file, a
workbook or another binary file is refused in one line without showing its bytes. Files are
read a block of customers at a time, so that memory does not grow with the file.

CSV records are read by pyarrow's fast reader; a file it cannot take as it stands (a row with
more or fewer fields than the header) is read again by Python's ``csv`` module, which keeps
such rows apart (see ``MALFORMED``) instead of shifting their values into other columns.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bankseg.errors import InputError
from bankseg.paths import check_regular_file
from bankseg.personal import normalise_header, shown_name, value_kind

log = logging.getLogger(__name__)
T = TypeVar("T")

TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")
DELIMITERS = (",", ";", "\t", "|")
MAX_COLUMNS = 10_000  # more is not a customer export, and would take memory for nothing
HEAD_BYTES = 1 << 20  # read to recognise a file and parse its header

BLOCK_ROWS = 250_000  # customers per block
# pyarrow's streaming CSV reader holds many times its block size (about 30 times, measured):
# files are read in small pieces, which are put together into blocks of BLOCK_ROWS customers.
READ_BYTES = 4 << 20  # of CSV
READ_ROWS = 1 << 16  # of Parquet

# Block frames carry, in ``attrs``: every column of the file (ALL_COLUMNS), the CSV delimiter
# (DELIMITER, None for Parquet) and the records with a wrong number of fields (MALFORMED, a
# Malformed: position in the block -> number of fields; their values are all missing).
ALL_COLUMNS, DELIMITER, MALFORMED = "all_columns", "delimiter", "malformed"


class Malformed(Mapping[int, int]):
    """Position -> number of fields of the records with a wrong number of fields; read-only.

    pandas deep-copies a frame's ``attrs`` into the result of every operation on it: a dict
    of a dirty file's many broken records made cleaning it many times slower. Being
    read-only, this mapping is shared instead.
    """

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[int, int] | None = None) -> None:
        self._fields = dict(fields or {})

    def __getitem__(self, position: int) -> int:
        return self._fields[position]

    def __iter__(self) -> Iterator[int]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"Malformed({self._fields!r})"

    def __deepcopy__(self, memo: dict) -> Malformed:
        return self


# First bytes of files that are not text, and what to tell the user about each.
_MAGIC: dict[bytes, str] = {
    b"\x1f\x8b": "a gzip-compressed file; decompress it first (gunzip), then read the .csv inside",
    b"PK\x03\x04": "a zip archive or an Excel workbook; export the sheet as CSV (UTF-8) and read that",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1": "an Excel workbook; export it as CSV (UTF-8) and read that",
    b"BZh": "a bzip2-compressed file; decompress it first, then read the .csv inside",
    b"\xfd7zXZ\x00": "an xz-compressed file; decompress it first, then read the .csv inside",
    b"\x28\xb5\x2f\xfd": "a zstd-compressed file; decompress it first, then read the .csv inside",
    b"%PDF": "a PDF document, not a text file; expected a CSV or Parquet file",
}
_WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods", ".numbers")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Control characters that never occur in a text export (tab, line breaks and form feed do).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


NO_HEADER = "the first row holds values, not column names; expected a header row naming the columns"


@dataclass(frozen=True)
class CsvFormat:
    encoding: str  # a Python codec name
    delimiter: str
    names: list[str]  # the header's column names, each once


Format = CsvFormat | None  # None: Parquet


def sniff(path: str | Path) -> Format:
    """Recognise a customer file by its content: its CSV format, or None for Parquet.

    Refuses, in one line, a missing or special file, an empty one, compressed files,
    workbooks, binary files, a header with a repeated name or more than
    :data:`MAX_COLUMNS` columns, and unknown file name suffixes.
    """
    path = Path(path)
    check_regular_file(path)
    suffix = path.suffix.lower()
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
            whole = len(head) < HEAD_BYTES or not handle.read(1)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from exc
    if head.startswith(b"PAR1"):
        return None
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise InputError(f"{path}: {what}")
    if suffix in _WORKBOOK_SUFFIXES:
        raise InputError(f"{path}: a spreadsheet workbook; export it as CSV (UTF-8) and read that")
    if suffix in PARQUET_SUFFIXES:
        if not head:
            raise InputError(f"{path}: file is empty, expected a Parquet file of customers")
        raise InputError(f"{path}: cannot be read as parquet (it does not start as a Parquet file does)")
    if suffix not in TEXT_SUFFIXES:
        raise InputError(f"{path}: unsupported file type {suffix!r}, expected .csv or .parquet")
    encoding = _encoding(path, head, whole)
    try:
        text = head.decode(encoding, errors="ignore" if not whole else "strict")
    except UnicodeDecodeError as exc:  # a byte order mark, then bytes that are not that encoding
        skipped = len(codecs.BOM_UTF8) if encoding == "utf-8-sig" else 0  # the codec skips its mark
        byte = exc.start + skipped
        raise InputError(
            f"{path}: cannot be read as csv (not {encoding} text: byte {byte} cannot be decoded); save it as UTF-8"
        ) from None
    if not text.strip():
        raise InputError(f"{path}: file is empty, expected a header row and customer rows")
    if _CONTROL.search(text.lstrip("\ufeff")):
        raise InputError(f"{path}: not a text file (it holds control characters); expected a CSV file")
    if not whole and not re.search(r"[\r\n]", text):
        raise InputError(
            f"{path}: the first line is longer than {HEAD_BYTES // (1 << 20)} MB; expected a header row"
        )
    return _csv_format(path, text, encoding)


def _encoding(path: Path, head: bytes, whole: bool) -> str:
    """UTF-8 (with or without byte order mark), UTF-16 or UTF-32 (by their marks or their
    zero bytes), else Latin-1 (with a warning); a file with other zero bytes is not text."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    if b"\x00" in head:
        even, odd = head[0::2], head[1::2]
        if odd.count(0) > 0.4 * len(odd) and not even.count(0):
            return "utf-16-le"
        if even.count(0) > 0.4 * len(even) and not odd.count(0):
            return "utf-16-be"
        raise InputError(f"{path}: not a text file (it holds zero bytes); expected a CSV file")
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A block cut in the middle of a multi-byte character is still UTF-8.
        if not whole and exc.start >= len(head) - 3:
            return "utf-8"
    warn_once(log, "%s: not UTF-8; read as Latin-1", path)
    return "latin-1"


def _csv_format(path: Path, text: str, encoding: str) -> CsvFormat:
    """The delimiter (of ``, ; tab |``, the most frequent in the first line) and the header."""
    text = text.lstrip("\ufeff")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(DELIMITERS, key=first.count)
    if not first.count(delimiter):
        delimiter = ","
    _raise_field_limit()
    try:
        header = next((r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r), [])
    except csv.Error as exc:
        raise InputError(f"{path}: cannot be read as csv (its header row: {exc})") from exc
    if len(header) > MAX_COLUMNS:
        raise InputError(
            f"{path}: {len(header):,} columns, expected at most {MAX_COLUMNS:,}; export only the columns needed"
        )
    names = [normalise_header(n) or f"(column {i + 1})" for i, n in enumerate(header)]
    _refuse_repeated_names(path, names)
    return CsvFormat(encoding, delimiter, names)


def looks_like_data(cell: str) -> bool:
    """Whether a header cell is a value rather than a column name: a number, a date, an
    identifier such as a PAN or a phone number."""
    text = cell.strip()
    number = re.sub(r"^(?:₹|rs\.?|inr)\s*|[,_\s]", "", text, flags=re.IGNORECASE)
    return bool(
        re.fullmatch(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?", number, flags=re.IGNORECASE)
        or re.fullmatch(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T][\d:.]+)?", text)
        or value_kind(text)
    )


def _refuse_repeated_names(path: Path, names: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            if any(looks_like_data(n) for n in names):
                raise InputError(f"{path}: {NO_HEADER}")
            raise InputError(
                f"{path}: the header names column '{shown_name(name)}' twice (columns {seen[name] + 1} and {i + 1}); "
                "expected each column once"
            )
        seen[name] = i


def _raise_field_limit() -> None:
    # Python's csv module refuses fields over 128 KB by default; long addresses are real.
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))


class NotReadableInBlocks(Exception):
    """pyarrow cannot read this CSV as it stands; read it with :func:`python_csv_blocks`."""


def _text_frame(table: pa.Table, all_columns: list[str], delimiter: str | None) -> pd.DataFrame:
    df = pd.DataFrame({n: pd.Series(table.column(n).to_pandas(), dtype="str") for n in table.column_names})
    df.attrs.update({ALL_COLUMNS: list(all_columns), DELIMITER: delimiter, MALFORMED: Malformed()})
    return df


def arrow_csv_blocks(path: Path, fmt: CsvFormat, wanted: Callable[[str], bool]) -> Iterator[pd.DataFrame]:
    """Blocks of a CSV read by pyarrow's streaming reader; :class:`NotReadableInBlocks` (possibly
    after some blocks) when it cannot parse the file as it stands."""
    if fmt.encoding not in ("utf-8", "utf-8-sig", "latin-1") or not _quotes_balanced(path):
        # pyarrow reads a quote left open as running to the end of the file, without error.
        raise NotReadableInBlocks("an odd number of quotes, or a multi-byte encoding")
    names = fmt.names
    options = dict(
        read_options=pacsv.ReadOptions(
            encoding="latin-1" if fmt.encoding == "latin-1" else "utf8",  # Latin-1 is transcoded
            column_names=names,
            skip_rows_after_names=1,
            block_size=READ_BYTES,
        ),
        parse_options=pacsv.ParseOptions(delimiter=fmt.delimiter, newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            include_columns=[n for n in names if wanted(n)],
            null_values=[""],
            strings_can_be_null=True,
        ),
    )
    try:
        batches = pacsv.open_csv(path, **options)
    except (pa.ArrowException, UnicodeError, ValueError) as exc:
        raise NotReadableInBlocks(str(exc)) from exc
    for table in _row_blocks(batches, batches.schema, BLOCK_ROWS):
        yield _text_frame(table, names, fmt.delimiter)


def _quotes_balanced(path: Path) -> bool:
    """Whether the file has an even number of quote characters (one pass over its bytes)."""
    count = 0
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            count += chunk.count(b'"')
    return count % 2 == 0


def python_csv_blocks(path: Path, fmt: CsvFormat, wanted: Callable[[str], bool]) -> Iterator[pd.DataFrame]:
    """Blocks of a CSV read by Python's ``csv`` module, for files pyarrow cannot read.

    A record with more or fewer fields than the header is never shifted: its values are all
    missing and ``attrs[MALFORMED]`` gives its number of fields. Empty fields at the end count
    too: in ``1,12 MG Road, Pune,30,`` the comma in the address, not a trailing delimiter, may
    be what made the extra field.
    """
    names = fmt.names
    keep = [i for i, n in enumerate(names) if wanted(n)]
    _raise_field_limit()
    records = 0
    try:
        with open(path, encoding=fmt.encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=fmt.delimiter, strict=True)
            next((r for r in reader if r), None)  # the header
            rows: list[list[str | None]] = []
            malformed: dict[int, int] = {}
            for record in reader:
                if not record:
                    continue  # a blank line
                records += 1
                if len(record) == len(names):
                    rows.append([record[i] or None for i in keep])
                else:
                    malformed[len(rows)] = len(record)
                    rows.append([None] * len(keep))
                if len(rows) == BLOCK_ROWS:
                    yield _python_frame(rows, malformed, names, keep, fmt.delimiter)
                    rows, malformed = [], {}
            if rows or not records:
                yield _python_frame(rows, malformed, names, keep, fmt.delimiter)
    except csv.Error as exc:
        detail = (
            f"unterminated quote: EOF inside string starting at row {records + 1}"
            if "unexpected end of data" in str(exc)
            else f"{exc} in record {records + 1}"
        )
        raise InputError(f"{path}: cannot be read as csv ({detail})") from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: cannot be read as csv (not {fmt.encoding} text after record {records}); "
            "save it as UTF-8"
        ) from exc


def _python_frame(
    rows: list[list[str | None]], malformed: dict[int, int], names: list[str], keep: list[int], delimiter: str
) -> pd.DataFrame:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in keep]
    df = pd.DataFrame(
        {names[i]: pd.Series(list(col), dtype="str") for i, col in zip(keep, columns, strict=True)}
    )
    df.attrs.update({ALL_COLUMNS: list(names), DELIMITER: delimiter, MALFORMED: Malformed(malformed)})
    return df


def parquet_blocks(path: Path, wanted: Callable[[str], bool]) -> Iterator[pd.DataFrame]:
    """Blocks of a Parquet file with every value as text (see :func:`text_column`)."""
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: cannot be read as parquet ({_first_line(exc)})") from exc
    names = [str(n) for n in parquet.schema_arrow.names]
    if len(names) > MAX_COLUMNS:
        raise InputError(f"{path}: {len(names):,} columns, expected at most {MAX_COLUMNS:,}")
    _refuse_repeated_names(path, [normalise_header(n) for n in names])
    columns = [n for n in names if wanted(n)]
    schema = pa.schema([parquet.schema_arrow.field(c) for c in columns])
    try:
        batches = parquet.iter_batches(batch_size=READ_ROWS, columns=columns)
        for table in _row_blocks(batches, schema, BLOCK_ROWS):
            text = pa.table({c: text_column(path, c, table.column(c)) for c in columns})
            yield _text_frame(text, names, None)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: cannot be read as parquet ({_first_line(exc)})") from exc


def text_column(path: Path, name: str, column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A Parquet column as the text a CSV export would hold: whole numbers without a decimal
    point, booleans as true/false, dates as ISO text; NaN is missing."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind):
        return column.cast(pa.string())
    if pa.types.is_floating(kind):
        values = column.to_numpy(zero_copy_only=False).astype("float64")  # missing: NaN
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(values) & (np.floor(values) == values) & (np.abs(values) < 2.0**63)
        text = pc.cast(column, pa.string()).to_numpy(zero_copy_only=False).astype(object)
        text[whole] = pc.cast(pa.array(values[whole].astype(np.int64)), pa.string()).to_numpy(
            zero_copy_only=False
        )
        return pa.chunked_array([pa.array(text, type=pa.string(), mask=np.isnan(values))])
    if any(
        test(kind)
        for test in (
            pa.types.is_integer,
            pa.types.is_boolean,
            pa.types.is_decimal,
            pa.types.is_temporal,
            pa.types.is_binary,
            pa.types.is_large_binary,
        )
    ):
        try:
            return column.cast(pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InputError(f"{path}: column '{shown_name(name)}' holds bytes that are not text") from exc
    raise InputError(
        f"{path}: column '{shown_name(name)}' holds values of type {kind}, expected numbers or text"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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


Reader = Callable[[str | Path, Callable[[str], bool]], Iterable[pd.DataFrame]]


def _columns_test(columns: list[str] | Callable[[str], bool] | None) -> Callable[[str], bool]:
    if columns is None:
        return lambda name: True
    if callable(columns):
        return columns
    return set(columns).__contains__


def _reader(fast: bool) -> Reader:
    def read(path: str | Path, columns: Callable[[str], bool]) -> Iterable[pd.DataFrame]:
        path = Path(path)
        fmt = sniff(path)
        if fmt is None:
            return parquet_blocks(path, columns)
        if fast:
            return arrow_csv_blocks(path, fmt, columns)
        return python_csv_blocks(path, fmt, columns)

    return read


# The warnings given so far by the current :func:`in_blocks` run, which are not given again
# when it starts again with Python's reader (None outside such a run).
_given: ContextVar[set[str] | None] = ContextVar("given_warnings", default=None)


def warn_once(logger: logging.Logger, message: str, *args: object) -> None:
    """``logger.warning(message, *args)``, unless the :func:`in_blocks` run it is part of has
    given that warning already (a file read again after a failed block read warns once)."""
    given = _given.get()
    if given is not None:
        text = message % args if args else message
        if text in given:
            return
        given.add(text)
    logger.warning(message, *args)


def in_blocks(run: Callable[[Reader], T]) -> T:
    """``run(read)``, where ``read(path, columns)`` gives a customer file's blocks of text frames.

    ``columns`` (a test of a header) selects the columns read. When pyarrow cannot read a
    CSV as it stands, ``run`` starts again with every CSV read by Python's ``csv`` module
    (:func:`python_csv_blocks`), so it must write its outputs only when it succeeds (as the
    block writers do). Warnings given through :func:`warn_once` are not repeated.
    """
    given = _given.set(set())
    try:
        try:
            return run(_reader(True))
        except NotReadableInBlocks:
            return run(_reader(False))
    finally:
        _given.reset(given)


def read_customers(
    path: str | Path,
    columns: list[str] | Callable[[str], bool] | None = None,
) -> pd.DataFrame:
    """A whole customer file as one text frame (the blocks of :func:`in_blocks` end to end).

    ``columns`` (names, or a test of a header) reads only those columns, which is much faster
    on a wide export and never loads the others; ``attrs["all_columns"]`` lists every column.
    """

    def whole(read: Reader) -> pd.DataFrame:
        blocks = list(read(path, _columns_test(columns)))
        frame = pd.concat(blocks, ignore_index=True) if len(blocks) > 1 else blocks[0]
        malformed: dict[int, int] = {}
        offset = 0
        for block in blocks:
            malformed |= {offset + i: n for i, n in block.attrs[MALFORMED].items()}
            offset += len(block)
        frame.attrs.update(blocks[0].attrs | {MALFORMED: Malformed(malformed)})
        return frame

    return in_blocks(whole)
