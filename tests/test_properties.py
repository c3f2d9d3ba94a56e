"""Property-based tests (Hypothesis) of the customer file reader and the params parser.

Whatever the input, the ``assign`` command line either succeeds with a complete result or
stops with exactly one ``error:`` line and exit status 2: never a traceback, another
exception or a hang. No personal value of the input (names, PANs, Aadhaar and phone
numbers, e-mail addresses, postal addresses) appears in the output, the rejected rows, the
error line or the log, and an earlier output file is either replaced by a complete result
or left as it was. ``parse_params`` and ``load_params`` give valid settings or one
``InputError`` line naming the file.

The Hypothesis profiles are set in ``tests/conftest.py``: the default one keeps this file
to about a minute; ``HYPOTHESIS_PROFILE=deep`` runs several times as many examples.
"""

from __future__ import annotations

import codecs
import contextlib
import copy
import csv
import decimal
import gzip
import io
import logging
import math
import os
import shutil
import signal
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import event, given, settings
from hypothesis import strategies as st

from bankseg.__main__ import main
from bankseg.data import reading
from bankseg.errors import InputError
from bankseg.params import Params, load_params, parse_params
from bankseg.personal import header_key

pytestmark = pytest.mark.slow  # seconds per test: subprocesses, apps or searches

ROOT = Path(__file__).resolve().parent.parent
PARAMS_TEXT = (ROOT / "params.yaml").read_text(encoding="utf-8")
RAW_PARAMS = yaml.safe_load(PARAMS_TEXT)

ASSIGNED_COLUMNS = ["customer_id", "segment", "segment_name", "distance"]
ID = "customer_id"
NUMERIC = ["age", "networth", "sip_amount"]
CATEGORICAL = ["income_slab", "risk_id", "sip_status", "has_demat_account", "account_type"]
PROFILE = ["kyc_status"]
PERSONAL = [
    "customer_name",
    "customer_pan_card_no",
    "customer_adhar_card_no",
    "address",
    "mobile_no",
    "email",
]
EXTRA = ["branch_name", "country", "nationality", "notes"]
COLUMNS = [ID, *NUMERIC, *CATEGORICAL, *PROFILE, *PERSONAL, *EXTRA]
NEEDED_KEYS = {header_key(c) for c in [ID, *NUMERIC, *CATEGORICAL, *PROFILE]}
HANG_SECONDS = 120  # one example; a hang is a failure, not a stuck test run


def _examples(share: float) -> int:
    """Examples for a test: ``share`` of the profile's max_examples (the command line is slow)."""
    return max(5, round(settings().max_examples * share))


# --- running the command line -------------------------------------------------------------


class Hang(Exception):
    """An example ran longer than HANG_SECONDS."""


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    def stop(signum, frame):
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Outcome:
    code: int
    err: str  # what the command printed on stderr
    log: str  # every log message, INFO and above


def run_cli(argv: list[str]) -> Outcome:
    """``main(argv)`` in-process: its exit status, its stderr and its log messages."""
    err, log = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(log)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        with (
            mock.patch.dict(os.environ),
            contextlib.redirect_stderr(err),
            _time_limit(HANG_SECONDS),
        ):
            os.environ.pop("BANKSEG_DEBUG", None)
            try:
                main(argv)
                code = 0
            except SystemExit as exc:
                code = exc.code
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    return Outcome(code, err.getvalue(), log.getvalue())


def _model_args(folder: Path, params: Path | None = None) -> list[str]:
    return [
        "--model",
        str(folder / "model.skops"),
        "--segments",
        str(folder / "segments.json"),
        "--params",
        str(params or folder / "params.yaml"),
    ]


def _unquoted(text: str) -> str:
    return text.replace('"', "")


def _id_column(params: Path | None) -> str:
    """The id column of the outputs: a params file without data.id_column numbers customers by record."""
    return ID if params is None else load_params(params).data.id_column


def assign_and_check(
    source: Path, folder: Path, model_dir: Path, sentinels: list[str], params: Path | None = None
) -> Outcome:
    """Run ``assign`` on ``source`` over earlier output files and check every promise of the command."""
    output, rejected = folder / "out.csv", folder / "rejected.csv"
    before_output = f"an earlier result {folder.name}\n".encode()
    before_rejected = f"earlier rejected rows {folder.name}\n".encode()
    output.write_bytes(before_output)
    rejected.write_bytes(before_rejected)
    argv = ["assign", str(source), str(output), "--rejected", str(rejected), *_model_args(model_dir, params)]
    outcome = run_cli(argv)

    event(f"exit status {outcome.code}")
    assert "Traceback" not in outcome.err
    assert outcome.code in (0, 2), outcome
    if outcome.code == 0:
        assert not [line for line in outcome.err.splitlines() if line.startswith("error:")], outcome.err
        written = pd.read_csv(output, dtype=str, keep_default_na=False)
        assert list(written.columns) == [_id_column(params), *ASSIGNED_COLUMNS[1:]]
        assert output.read_bytes() != before_output
    else:
        lines = outcome.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), outcome.err
        assert output.read_bytes() == before_output, "a failed run changed the earlier output"
    if rejected.read_bytes() != before_rejected:
        rejected_columns = list(pd.read_csv(rejected, dtype=str, keep_default_na=False).columns)
        assert rejected_columns == ["file", "row", _id_column(params), "reason"]

    shown = {
        "the output": _unquoted(output.read_text(encoding="utf-8", errors="replace")),
        "the rejected rows": _unquoted(rejected.read_text(encoding="utf-8", errors="replace")),
        "stderr": _unquoted(outcome.err),
        "the log": _unquoted(outcome.log),
    }
    for where, text in shown.items():
        for value in sentinels:
            assert value not in text, f"personal value {value!r} shown in {where}"
    return outcome


# --- personal values ----------------------------------------------------------------------

CONSONANTS = "bcdfghjkmnpqrstvwxz"


@st.composite
def personal_values(draw, n_rows: int) -> tuple[dict[str, list[str]], list[str]]:
    """Recognisable personal values for ``n_rows`` rows of each personal column, and the
    strings that must never be shown (each value, and the random token inside the text ones)."""
    token = "Zq" + draw(st.text(CONSONANTS, min_size=6, max_size=6))
    digits = st.text("0123456789", min_size=4, max_size=4)
    # Names and addresses are written with commas, semicolons, bars and line breaks in them.
    name = draw(st.sampled_from(["{t}{i}Name Sharma", "Iyer, {t}{i}Name", "{t}{i}Name"]))
    address = draw(
        st.sampled_from(
            [
                "{i}, {t} Road\nFlat {i}, Pune",
                "{i}, {t} Road, Pune",
                "Flat {i}; {t} Nagar",
                "{t} Lane | Block {i}",
            ]
        )
    )
    values: dict[str, list[str]] = {c: [] for c in PERSONAL}
    for i in range(n_rows):
        values["customer_name"].append(name.format(t=token, i=i))
        letters = draw(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=5, max_size=5))
        values["customer_pan_card_no"].append(f"{letters[:3]}P{letters[3]}{draw(digits)}{letters[4]}")
        values["customer_adhar_card_no"].append(
            f"{draw(st.sampled_from('23456789'))}{draw(digits)[1:]} {draw(digits)} {draw(digits)}"
        )
        values["address"].append(address.format(t=token, i=i + 1))
        values["mobile_no"].append(f"+91 {draw(st.sampled_from('6789'))}{draw(digits)}{draw(digits)}{i % 10}")
        values["email"].append(f"x{token.lower()}{i}@example.com")
    sentinels = [token, token.lower()] + [v for column in values.values() for v in column]
    return values, sentinels


# --- customer files -----------------------------------------------------------------------

ODD_VALUES = [
    # numbers with grouping, decimal commas and currency marks
    "1,20,000",
    "1,234.50",
    "1.234,50",
    "12,5",
    "1.234.567",
    "₹ 1,20,000",
    "Rs. 5000",
    "INR 12",
    "$1,000",
    "€ 12,50",
    "1 000",
    "1_000",
    # huge, tiny and not finite
    "1e300",
    "-1e300",
    "9" * 400,
    "1" + "0" * 400 + ".5",
    "1e-300",
    "0.000000001",
    "-5",
    "+5",
    "inf",
    "-inf",
    "Infinity",
    "nan",
    "NaN",
    "1e999",
    # missing and text
    "",
    " ",
    "N/A",
    "null",
    "none",
    "-",
    "abc",
    "Low ",
    " yes",
    "TRUE",
    "Savings Account",
    # formulas
    "=1+1",
    "+1",
    "@SUM(A1)",
    "-2+3",
    '=HYPERLINK("http://x.invalid")',
    # control characters, quotes, line breaks
    "\x01",
    "\x7f",
    "a\x00b",
    "\t",
    "a\rb",
    "a\nb",
    '"',
    'a"b',
    "x" * 3000,
    # unicode
    "१२३",
    "٣٤",
    "①",
    "１２",
    "12३",
    "Ünïcödé",
    "🙂",
    # values that look personal
    "9876543210",
    "user@example.org",
]

# Text without control characters: a control character refuses the whole file (ODD_VALUES
# has a few), which would leave little else tested.
printable = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12)
odd_value = st.one_of(
    st.sampled_from(ODD_VALUES),
    printable,
    st.integers().map(str),
    st.floats().map(repr),
)


def _indian(whole: int) -> str:
    text = str(whole)
    head, tail = text[:-3], text[-3:]
    groups = []
    while head:
        groups.insert(0, head[-2:])
        head = head[:-2]
    return ",".join([*groups, tail]) if groups else tail


def number_text(value: float, style: str) -> str:
    """A valid number as an export may write it."""
    whole, cents = int(value), round((value - int(value)) * 100) % 100
    if style == "plain":
        return f"{value:.2f}" if cents else str(whole)
    if style == "grouped":
        return f"{_indian(whole)}.{cents:02d}"
    if style == "comma":
        return f"{whole:,}".replace(",", ".") + f",{cents:02d}"
    return f"₹ {_indian(whole)}"


def valid_cell(column: str, row: int, draw, style: str) -> str:
    if column == ID:
        return str(50000 + row)
    if column == "age":
        return str(draw(st.integers(18, 100)))
    if column == "networth":
        return number_text(draw(st.floats(0, 5e7)), style)
    if column == "sip_amount":
        return number_text(draw(st.sampled_from([0.0, 500.0, 1500.0, 25000.5])), style)
    choices = {
        "income_slab": ["Low", "Medium", "High"],
        "risk_id": ["1", "2", "3", "4"],
        "sip_status": ["Yes", "No", "yes", "N", "true"],
        "has_demat_account": ["No", "Yes", "False"],
        "account_type": ["Savings", "Current", "Salary"],
        "kyc_status": ["Verified", "Pending", ""],
        "branch_name": ["Kochi", "Pune"],
        "country": ["India"],
        "nationality": ["Indian"],
        "notes": ["", "call back"],
    }
    return draw(st.sampled_from(choices[column]))


def _sometimes(draw, one_in: int) -> bool:
    """True in about one example in ``one_in`` (and False once shrunk)."""
    return draw(st.integers(1, one_in)) == one_in


def _few(draw, strategy: st.SearchStrategy, *, max_size: int, one_in: int) -> list:
    """Up to ``max_size`` draws of ``strategy`` in about one example in ``one_in``, else none."""
    return draw(st.lists(strategy, min_size=1, max_size=max_size)) if _sometimes(draw, one_in) else []


@st.composite
def spelling(draw, name: str) -> str:
    """``name`` as some export spells it: the same column by :func:`header_key`."""
    words = name.split("_")
    case = draw(st.sampled_from([str.lower, str.upper, str.title, str.capitalize]))
    separator = draw(st.sampled_from(["_", " ", "-", "", ".", " - "]))
    padding = draw(st.sampled_from(["", " ", "  "]))
    if _sometimes(draw, 8):  # other white space, which header_key ignores too
        separator = draw(st.sampled_from(["\t", "\u00a0", "\n", "\u2028", "\x0b", "\x85", "\u3000"]))
        padding = draw(st.sampled_from(["\t", "\u00a0", "\ufeff", "\u3000"]))
    return padding + separator.join(case(w) for w in words) + draw(st.sampled_from(["", " "]))


other_header = st.one_of(
    st.sampled_from(["", " ", "Unnamed: 0", "(column 1)", "(column 2)", "12345", "2024-01-31", "id", "Age2"]),
    printable.filter(bool),
)


@st.composite
def header_plan(draw) -> list[tuple[str, str]]:
    """(column, header) for each column of a file: the real columns in a random order and
    spelling, some dropped, some twice, with extra columns of other names ("" for no column)."""
    columns = list(draw(st.permutations(COLUMNS)))
    for dropped in set(_few(draw, st.sampled_from(COLUMNS), max_size=2, one_in=6)):
        columns.remove(dropped)
    plan = [(c, draw(spelling(c))) for c in columns]
    for again in _few(draw, st.sampled_from(COLUMNS), max_size=1, one_in=6):
        plan.insert(draw(st.integers(0, len(plan))), (again, draw(spelling(again))))
    for header in _few(draw, other_header, max_size=2, one_in=3):
        plan.insert(draw(st.integers(0, len(plan))), ("", header))
    return plan


@dataclass
class CustomerFile:
    content: bytes
    suffix: str
    sentinels: list[str]
    description: str


ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-16-le", "utf-32", "latin-1", "cp1252"]


def _encode(text: str, encoding: str) -> bytes:
    if encoding == "utf-16-be":
        return codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    if encoding in ("latin-1", "cp1252"):
        try:
            return text.encode(encoding)
        except UnicodeEncodeError:
            return text.encode("utf-8")  # not representable: the file is UTF-8 after all
    return text.encode(encoding)


def _misread(text: str, cells: list[str], delimiter: str, n_columns: int) -> bool:
    """Whether a record written without quotes reads back as another record of the header's
    length: a delimiter or line break inside a value that no reader can tell from a field
    boundary (a trailing delimiter is not counted, by design: see ``python_csv_blocks``)."""
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error:
        return False  # the whole file is refused
    for record in records:
        while len(record) > n_columns and record[-1] == "":
            record.pop()
        if len(record) == n_columns and record != cells:
            return True
    return False


def _record(cells: list[str], delimiter: str, quoting: str, n_columns: int) -> str:
    if quoting == "none":
        text = delimiter.join(cells)
        if not _misread(text, cells, delimiter, n_columns):
            return text
    buffer = io.StringIO()
    mode = csv.QUOTE_ALL if quoting == "all" else csv.QUOTE_MINIMAL
    csv.writer(buffer, delimiter=delimiter, quoting=mode, lineterminator="").writerow(cells)
    return buffer.getvalue()


@st.composite
def customer_csv(draw) -> CustomerFile:
    """A CSV of customers written in some dialect, with odd headers, rows and values."""
    n_rows = draw(st.integers(0, 8))
    plan = draw(header_plan())
    personal, sentinels = draw(personal_values(n_rows))
    style = draw(st.sampled_from(["plain", "grouped", "comma", "currency"]))
    rows = []
    for i in range(n_rows):
        row = []
        for column, _ in plan:
            if column in PERSONAL:
                row.append(personal[column][i])
            elif column:
                row.append(valid_cell(column, i, draw, style))
            else:
                row.append(draw(st.one_of(st.just(""), odd_value)))
        rows.append(row)
    if n_rows:
        for i, position, value in draw(
            st.lists(
                st.tuples(st.integers(0, n_rows - 1), st.integers(0, len(plan) - 1), odd_value), max_size=6
            )
        ):
            if plan[position][0] not in PERSONAL:
                rows[i][position] = value
        for i, change in _few(
            draw, st.tuples(st.integers(0, n_rows - 1), st.integers(-3, 3)), max_size=2, one_in=4
        ):
            rows[i] = rows[i][:change] if change < 0 else rows[i] + [""] * change

    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    quoting = draw(st.sampled_from(["minimal", "all", "none", "minimal"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    no_header = _sometimes(draw, 10)
    records = [] if no_header else [_record([h for _, h in plan], delimiter, quoting, len(plan))]
    records += [_record(row, delimiter, quoting, len(plan)) for row in rows]
    if not no_header and _sometimes(draw, 20):  # two exports joined together
        records.insert(draw(st.integers(1, len(records))), records[0])
    for position in _few(draw, st.integers(0, len(records)), max_size=2, one_in=3):
        records.insert(position, "")  # blank lines
    for position in _few(draw, st.integers(0, len(records)), max_size=1, one_in=10):
        records.insert(position, '"unterminated' + delimiter + "quote")
    text = newline.join(records) + draw(st.sampled_from([newline, ""]))
    encoding = draw(st.sampled_from(ENCODINGS))
    suffix = draw(st.sampled_from([".csv", ".csv", ".txt", ".tsv", ".CSV"]))
    description = (
        f"{encoding}, delimiter {delimiter!r}, quoting {quoting}, {n_rows} rows, header {not no_header}"
    )
    return CustomerFile(_encode(text, encoding), suffix, sentinels, description)


# --- Parquet files ------------------------------------------------------------------------

PARQUET_KINDS = [
    "string",
    "int",
    "float",
    "bool",
    "dictionary",
    "large_string",
    "binary",
    "timestamp",
    "date",
    "decimal",
    "duration",
    "null",
    "list",
    "struct",
    "uint64",
    "int8",
    "float16",
    "time",
    "timestamp_tz",
    "large_binary",
    "fixed_binary",
    "decimal256",
    "dictionary_int",
    "map",
]
NESTED = {"list", "struct", "map"}
# The types an export would most likely give each column.
NATURAL_KINDS = {
    ID: ["int", "string"],
    "age": ["int", "float"],
    "networth": ["float", "decimal"],
    "sip_amount": ["float", "int"],
    "risk_id": ["int", "string"],
    "sip_status": ["bool", "string"],
    "has_demat_account": ["bool", "string"],
}


def parquet_column(kind: str, texts: list[str | None], draw) -> pa.Array:
    """A column of ``kind`` holding ``texts`` where it can (numbers parsed, others made up)."""
    n = len(texts)
    nulls = draw(st.lists(st.booleans(), min_size=n, max_size=n))

    def number(text: str | None) -> float | None:
        try:
            return float(str(text).replace(",", "").replace("₹", ""))
        except ValueError:
            return None

    if kind == "string":
        return pa.array(texts, pa.string())
    if kind == "large_string":
        return pa.array(texts, pa.large_string())
    if kind == "dictionary":
        return pa.array(texts, pa.string()).dictionary_encode()
    if kind == "binary":
        raw = [None if t is None else t.encode("utf-8") for t in texts]
        if n and draw(st.booleans()):
            raw[0] = b"\xff\xfe bytes"
        return pa.array(raw, pa.binary())
    if kind == "int":
        values = []
        for text, null in zip(texts, nulls, strict=True):
            x = number(text)
            values.append(None if null or x is None or not math.isfinite(x) or abs(x) >= 2**63 else int(x))
        return pa.array(values, pa.int64())
    if kind == "float":
        special = st.sampled_from([math.nan, math.inf, -math.inf, 1e300, 5e-324, 2.0**63, 20000.0])
        return pa.array(
            [draw(special) if null else number(t) for t, null in zip(texts, nulls, strict=True)], pa.float64()
        )
    if kind == "bool":
        return pa.array([None if null else bool(i % 2) for i, null in enumerate(nulls)], pa.bool_())
    if kind == "timestamp":
        return pa.array(
            [None if null else 1_700_000_000_000 + i for i, null in enumerate(nulls)], pa.timestamp("ms")
        )
    if kind == "date":
        return pa.array([None if null else 19000 + i for i, null in enumerate(nulls)], pa.date32())
    if kind == "decimal":
        values = [
            None if null or number(t) is None else decimal.Decimal(i) / 4
            for i, (t, null) in enumerate(zip(texts, nulls, strict=True))
        ]
        return pa.array(values, pa.decimal128(12, 2))
    if kind == "duration":
        return pa.array([None if null else i for i, null in enumerate(nulls)], pa.duration("s"))
    if kind == "null":
        return pa.nulls(n)
    if kind == "uint64":
        return pa.array([None if null else 2**64 - 1 - i for i, null in enumerate(nulls)], pa.uint64())
    if kind == "int8":
        return pa.array([None if null else -128 + i for i, null in enumerate(nulls)], pa.int8())
    if kind == "float16":
        return pa.array(np.array([1.5 + i for i in range(n)], dtype=np.float16), pa.float16())
    if kind == "time":
        return pa.array([None if null else i * 1_000_000 for i, null in enumerate(nulls)], pa.time64("us"))
    if kind == "timestamp_tz":
        values = [None if null else 1_700_000_000 + i for i, null in enumerate(nulls)]
        return pa.array(values, pa.timestamp("s", tz="Asia/Kolkata"))
    if kind == "large_binary":
        return pa.array([None if t is None else t.encode("utf-8") for t in texts], pa.large_binary())
    if kind == "fixed_binary":
        return pa.array([b"\x00\x01\xff" for _ in texts], pa.binary(3))
    if kind == "decimal256":
        values = [None if null else decimal.Decimal(10) ** 60 + i for i, null in enumerate(nulls)]
        return pa.array(values, pa.decimal256(70, 2))
    if kind == "dictionary_int":
        return pa.array(
            [None if null else i % 3 for i, null in enumerate(nulls)], pa.int32()
        ).dictionary_encode()
    if kind == "map":
        return pa.array([[("k", t or "")] for t in texts], pa.map_(pa.string(), pa.string()))
    if kind == "list":
        values = [None if null else [t or "", "x"] for t, null in zip(texts, nulls, strict=True)]
        return pa.array(values, pa.list_(pa.string()))
    fields = pa.struct([("value", pa.string()), ("n", pa.int64())])
    return pa.array([{"value": t, "n": i} for i, t in enumerate(texts)], fields)


@dataclass
class ParquetFile:
    content: bytes
    sentinels: list[str]
    nested_needed: bool  # a column the command needs holds lists or records


@st.composite
def customer_parquet(draw) -> ParquetFile:
    n_rows = draw(st.integers(0, 6))
    plan = draw(header_plan())
    personal, sentinels = draw(personal_values(n_rows))
    style = draw(st.sampled_from(["plain", "grouped"]))
    arrays, names, nested_needed = [], [], False
    for column, header in plan:
        if column in PERSONAL:
            texts = personal[column]
            kind = draw(st.sampled_from(["string", "large_string", "dictionary", "binary"]))
        else:
            texts = [valid_cell(column, i, draw, style) if column else draw(odd_value) for i in range(n_rows)]
            for i, value in draw(
                st.lists(st.tuples(st.integers(0, max(n_rows - 1, 0)), odd_value), max_size=2)
            ):
                if n_rows:
                    texts[i] = value
            natural = NATURAL_KINDS.get(column, ["string", "dictionary"])
            kind = draw(st.sampled_from(PARQUET_KINDS if _sometimes(draw, 4) else natural))
        arrays.append(parquet_column(kind, texts, draw))
        names.append(header)
        nested_needed |= kind in NESTED and header_key(header) in NEEDED_KEYS
    buffer = io.BytesIO()
    row_group_size = draw(st.sampled_from([None, 1, 2]))
    pq.write_table(pa.Table.from_arrays(arrays, names=names), buffer, row_group_size=row_group_size)
    return ParquetFile(buffer.getvalue(), sentinels, nested_needed)


# --- files that are not customer files ----------------------------------------------------


@st.composite
def other_file(draw) -> tuple[bytes, str]:
    """Random bytes, compressed and archived files, broken Parquet, and CSVs with bytes changed."""
    kind = draw(
        st.sampled_from(
            ["bytes", "gzip", "zip", "parquet-magic", "truncated-parquet", "no-columns", "flipped"]
        )
    )
    suffix = draw(st.sampled_from([".csv", ".parquet", ".txt", ".xlsx", ".gz", ".json"]))
    if kind == "bytes":
        return draw(st.binary(max_size=600)), suffix
    csv_file = draw(customer_csv())
    if kind == "gzip":
        return gzip.compress(csv_file.content, mtime=0), suffix
    if kind == "zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("customers.csv", csv_file.content)
        return buffer.getvalue(), suffix
    if kind == "parquet-magic":
        return b"PAR1" + draw(st.binary(max_size=300)), suffix
    if kind == "no-columns":
        buffer = io.BytesIO()
        pq.write_table(pa.table({}), buffer)
        return buffer.getvalue(), ".parquet"
    if kind == "truncated-parquet":
        table = pa.table({"customer_id": ["1", "2"], "age": [30, 40]})
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        content = buffer.getvalue()
        return content[: draw(st.integers(0, len(content) - 1))], suffix
    content = bytearray(csv_file.content)
    for position, byte in draw(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=4)):
        if content:
            content[position % len(content)] = byte
    return bytes(content), ".csv"


# --- the properties: customer files -------------------------------------------------------


# Customers per block (the file is read and cleaned a block at a time) and Parquet rows per
# read: the real sizes, or a few rows so that a small file spans several blocks.
block_rows = st.sampled_from([reading.BLOCK_ROWS, 1, 2, 3])
read_rows = st.sampled_from([reading.READ_ROWS, 1, 2])


@settings(max_examples=_examples(1.5))
@given(customer_csv(), block_rows)
def test_any_csv_gives_a_result_or_one_error_line_and_shows_no_personal_value(tiny_model_dir, file, rows):
    with tempfile.TemporaryDirectory() as folder, mock.patch.object(reading, "BLOCK_ROWS", rows):
        folder = Path(folder)
        source = folder / f"customers{file.suffix}"
        source.write_bytes(file.content)
        assign_and_check(source, folder, tiny_model_dir, file.sentinels)


@settings(max_examples=_examples(0.8))
@given(customer_parquet(), block_rows, read_rows)
def test_any_parquet_gives_a_result_or_one_error_line_and_shows_no_personal_value(
    tiny_model_dir, file, rows, reads
):
    with (
        tempfile.TemporaryDirectory() as folder,
        mock.patch.object(reading, "BLOCK_ROWS", rows),
        mock.patch.object(reading, "READ_ROWS", reads),
    ):
        folder = Path(folder)
        source = folder / "customers.parquet"
        source.write_bytes(file.content)
        outcome = assign_and_check(source, folder, tiny_model_dir, file.sentinels)
        if file.nested_needed:
            assert outcome.code == 2, "a needed column of lists or records was not refused"


@settings(max_examples=_examples(0.8))
@given(other_file())
def test_any_bytes_give_a_result_or_one_error_line(tiny_model_dir, file):
    content, suffix = file
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        source = folder / f"customers{suffix}"
        source.write_bytes(content)
        assign_and_check(source, folder, tiny_model_dir, [])


# --- params -------------------------------------------------------------------------------

# Integers of more than 4300 digits cannot even be shown by repr(): they come from YAML text
# (params_text), which is the only way a user can write one.
huge_int = st.sampled_from([2**63, -(2**63) - 1, 10**400, -(10**400)])
yaml_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    huge_int,
    st.floats(),
    st.sampled_from([math.nan, math.inf, -math.inf, -1, 0, 1, 2, 101]),
    st.text(max_size=12),
    st.sampled_from(
        ["auto", "drop", "median", "zero", "minmax", "ordinal", "yes_no", "onehot", "", " ", "1e3"]
    ),
)
yaml_key = st.one_of(st.text(max_size=12), st.integers(-5, 5), st.none(), st.booleans())
yaml_value = st.recursive(
    yaml_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(yaml_key, inner, max_size=4)),
    max_leaves=8,
)


@st.composite
def deep_value(draw):
    value = draw(yaml_scalar)
    for _ in range(draw(st.integers(1, 60))):
        value = [value] if draw(st.booleans()) else {"k": value}
    return value


def _misspelled(key: object, draw) -> object:
    text = str(key)
    edit = draw(st.sampled_from(["drop", "double", "upper", "plural", "hyphen", "space"]))
    at = draw(st.integers(0, max(len(text) - 1, 0)))
    if edit == "drop" and text:
        return text[:at] + text[at + 1 :]
    if edit == "double" and text:
        return text[:at] + text[at] + text[at:]
    if edit == "upper":
        return text.upper() if text != text.upper() else text + "X"
    if edit == "plural":
        return text + "s"
    if edit == "hyphen":
        return text.replace("_", "-") if "_" in text else text + "-x"
    return " " + text


def _children(node: object) -> list[object]:
    if isinstance(node, dict):
        return sorted(node, key=repr)
    if isinstance(node, list):
        return list(range(len(node)))
    return []


@st.composite
def mutated_params(draw) -> object:
    """params.yaml as plain data, with keys deleted, unknown and misspelled keys added and
    values replaced by anything YAML can hold."""
    tree = copy.deepcopy(RAW_PARAMS)
    for operation in draw(st.lists(st.sampled_from(["delete", "add", "replace"]), min_size=1, max_size=4)):
        node, path = tree, []
        while _children(node) and (not path or draw(st.integers(0, 3)) > 0):
            step = draw(st.sampled_from(_children(node)))
            path.append((node, step))
            node = node[step]
        if operation == "add" and isinstance(node, dict):
            siblings = _children(node)
            key = (
                _misspelled(draw(st.sampled_from(siblings)), draw)
                if siblings and draw(st.booleans())
                else draw(yaml_key)
            )
            node[key] = draw(st.one_of(yaml_value, deep_value()))
        elif not path:
            tree = draw(yaml_value)
        else:
            parent, step = path[-1]
            if operation == "delete":
                del parent[step]
            else:
                parent[step] = draw(st.one_of(yaml_value, deep_value()))
    return tree


def _one_line_params_error(message: str, *names: str) -> bool:
    return len(message.splitlines()) == 1 and message.startswith(tuple(f"{n}: " for n in names))


@settings(max_examples=_examples(3))
@given(mutated_params())
def test_any_params_tree_is_valid_or_one_error_line(raw):
    with _time_limit(HANG_SECONDS):
        try:
            assert isinstance(parse_params(raw), Params)
            event("valid")
        except InputError as exc:
            event("refused")
            assert _one_line_params_error(str(exc), "params.yaml"), str(exc)


def _dumped(tree: object) -> str:
    try:
        return yaml.safe_dump(tree, sort_keys=False, allow_unicode=True)
    except (yaml.YAMLError, ValueError):  # ValueError: an integer too long to write
        return PARAMS_TEXT


@st.composite
def params_text(draw) -> bytes:
    """A params file: the real one or a mutated tree, written as YAML, then edited as text:
    repeated keys, anchors and aliases, deep nesting, odd scalars, broken lines and bytes."""
    text = PARAMS_TEXT if draw(st.booleans()) else _dumped(draw(mutated_params()))
    lines = text.splitlines()
    edits = st.sampled_from(
        ["repeat", "anchor", "alias", "deep", "scalar", "key", "line", "tab", "cut", "merge", "bom", "bytes"]
    )
    raw_bytes = b""
    for edit in draw(st.lists(edits, min_size=1, max_size=3)):
        at = draw(st.integers(0, max(len(lines) - 1, 0)))
        if edit == "repeat" and lines:
            lines.insert(at + 1, lines[at])
        elif edit == "anchor" and lines:
            lines[at] = lines[at].replace(": ", ": &a ", 1)
        elif edit == "alias":
            lines.append(draw(st.sampled_from(["engine: *a", "other: *a", "x: &a [1]", "y: *a"])))
        elif edit == "deep":
            depth = draw(st.sampled_from([1, 20, 99, 100, 101, 400, 1000, 3000]))
            lines.append("deep: " + "[" * depth + "]" * depth)
            if draw(st.booleans()):
                lines.append(
                    "deeper:" + "".join(f"\n{'  ' * (i + 1)}k{i}:" for i in range(depth % 400)) + " 1"
                )
        elif edit == "scalar" and lines:
            scalar = draw(
                st.sampled_from(
                    [
                        "1" * 5000,
                        "0x" + "f" * 5000,
                        "-" + "9" * 4400,
                        "1.0e+400",
                        ".nan",
                        "-.inf",
                        "2001-13-45",
                        "2001-02-30",
                        "2001-12-14t21:59:43.10-05:00",
                        "190:20:30",
                        "0b" + "1" * 20000,
                        "!!binary aGVsbG8=",
                        "!!set {a, b}",
                        "!!python/object:os.system 1",
                        "!!float abc",
                        "!!int 1.5",
                        "~",
                        "'\\x00'",
                        '"\\x01\\u2028"',
                        '"a\\nb"',
                    ]
                )
            )
            key = lines[at].split(":", 1)[0] if ":" in lines[at] else "x"
            lines[at] = f"{key}: {scalar}"
        elif edit == "key":
            keys = ['"a\\nb"', '"a\\rb"', '"\\t"', "''", "~", "1", "-1.5", "true", "? 0x" + "f" * 4400 + "\n"]
            key = draw(st.sampled_from(keys))
            indent = " " * (len(lines[at]) - len(lines[at].lstrip())) if lines else ""
            for value in draw(st.lists(st.sampled_from(["1", "x", "{}"]), min_size=1, max_size=2)):
                lines.insert(at, f"{indent}{key}: {value}")
        elif edit == "line" and lines:
            lines[at] = draw(st.text(max_size=30))
        elif edit == "tab" and lines:
            lines[at] = "\t" + lines[at]
        elif edit == "cut":
            lines = lines[:at]
        elif edit == "merge":
            lines.append("merged:\n  <<: {a: 1}")
        elif edit == "bom":
            lines.insert(0, "\ufeff")
        else:
            raw_bytes += draw(st.binary(min_size=1, max_size=8))
    return "\n".join(lines).encode("utf-8") + raw_bytes


@settings(max_examples=_examples(2))
@given(params_text())
def test_any_params_file_is_valid_or_one_error_line_naming_the_file(content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "params.yaml"
        path.write_bytes(content)
        with _time_limit(HANG_SECONDS):
            try:
                assert isinstance(load_params(path), Params)
                event("valid")
            except InputError as exc:
                event("refused")
                assert _one_line_params_error(str(exc), "params.yaml", str(path)), str(exc)


def _feature_settings(features: dict, kind: str, column: str) -> dict:
    """The settings of a feature as a mapping (a numeric feature may have none: null)."""
    if features[kind][column] is None:
        features[kind][column] = {}
    return features[kind][column]


@st.composite
def other_settings(draw) -> dict:
    """params.yaml with settings other than those the tiny model was trained with: features
    dropped or added, other encodings, orders, and per-feature settings (missing-value rules
    including level for one-hot, was-missing indicators, weights, log true, false or auto,
    ranges); other scaling and balancing. Most are valid; some combinations are refused
    (a protected column as feature, log: true below zero), which is one error line too."""
    tree = copy.deepcopy(RAW_PARAMS)
    features, featurize, fairness = tree["features"], tree["featurize"], tree["fairness"]
    changes = [
        "drop feature",
        "add feature",
        "encoding",
        "missing",
        "flag_missing",
        "weight",
        "log",
        "range",
        "scaler",
    ]
    for change in draw(st.lists(st.sampled_from(changes), min_size=1, max_size=4)):
        numeric, categorical = sorted(features["numeric"]), sorted(features["categorical"])
        if change == "drop feature":
            kind = draw(st.sampled_from(["numeric", "categorical"]))
            if features[kind]:
                del features[kind][draw(st.sampled_from(sorted(features[kind])))]
        elif change == "add feature":
            column = draw(st.sampled_from(["branch_code", "state_code", "country", "nationality"]))
            kind = "numeric" if column.endswith("code") else "categorical"
            features[kind].setdefault(column, None if kind == "numeric" else {"encoding": "onehot"})
            if column == "nationality" and draw(st.booleans()):  # a protected attribute, knowingly
                fairness["use_as_feature"] = ["nationality"]
        elif change == "encoding" and categorical:
            column = draw(st.sampled_from(categorical))
            encoding = draw(st.sampled_from(["ordinal", "yes_no", "onehot"]))
            settings_ = {"encoding": encoding}
            if encoding == "ordinal":
                values = [
                    "Low",
                    "Medium",
                    "High",
                    "Huge",
                    "Yes",
                    "No",
                    "1",
                    "2",
                    "3",
                    "4",
                    "Savings",
                    "Current",
                ]
                settings_["order"] = draw(
                    st.lists(st.sampled_from(values), min_size=2, max_size=5, unique=True)
                )
            features["categorical"][column] = settings_
        elif change == "missing" and numeric + categorical:
            column = draw(st.sampled_from(numeric + categorical))
            kind = "numeric" if column in numeric else "categorical"
            settings_ = _feature_settings(features, kind, column)
            if kind == "numeric":
                choices = ["drop", "median", "mean", "zero", "most_frequent"]
            else:
                choices = ["drop", "most_frequent"] + (["level"] if settings_["encoding"] == "onehot" else [])
            settings_["missing"] = draw(st.sampled_from(choices))
        elif change in ("flag_missing", "weight") and numeric + categorical:
            column = draw(st.sampled_from(numeric + categorical))
            settings_ = _feature_settings(features, "numeric" if column in numeric else "categorical", column)
            settings_[change] = draw(
                st.booleans()
                if change == "flag_missing"
                else st.one_of(st.sampled_from([0, 0.5, 1, 2, 100]), st.floats(0, 100))
            )
        elif change == "log" and numeric:
            settings_ = _feature_settings(features, "numeric", draw(st.sampled_from(numeric)))
            log = draw(st.sampled_from([True, False, "auto", None]))
            if log is None:
                settings_.pop("log", None)  # the default: auto
            else:
                settings_["log"] = log
        elif change == "range" and numeric:
            settings_ = _feature_settings(features, "numeric", draw(st.sampled_from(numeric)))
            bounds = draw(
                st.sampled_from(
                    [None, [None, None], [0, None], [18, 100], [30, 30], [-10, 50], [None, 1e6], [1e3, None]]
                )
            )
            if bounds is None:
                settings_.pop("range", None)
            else:
                settings_["range"] = bounds
        elif change == "scaler":
            featurize["scaler"] = draw(st.sampled_from(["minmax", "standard", "robust"]))
            featurize["feature_range"] = draw(st.sampled_from([[0, 1], [1, 10], [-1, 1]]))
            featurize["balance"] = draw(st.booleans())
            featurize["min_frequency"] = draw(st.sampled_from([0, 0.01, 0.05, 0.5]))
            featurize["skew_threshold"] = draw(st.sampled_from([0, 0.5, 2.0, 10]))
    return tree


@pytest.fixture(scope="module")
def small_batch(tiny_model_dir, tmp_path_factory) -> Path:
    """20 of the tiny model's new customers; five of them with a value that the params reject
    or impute (a new income slab, missing risk and age, an unknown yes/no answer and account)."""
    path = tmp_path_factory.mktemp("batch") / "batch.csv"
    new = pd.read_csv(tiny_model_dir / "new.csv", dtype=str, keep_default_na=False).head(20)
    odd = {"income_slab": "Huge", "risk_id": "", "sip_status": "Maybe", "account_type": "Joint", "age": ""}
    for row, (column, value) in enumerate(odd.items()):
        new.loc[row, column] = value
    new.to_csv(path, index=False)
    return path


def _yaml_bytes(tree: object) -> bytes:
    return _dumped(tree).encode("utf-8")


@settings(max_examples=_examples(0.8))
@given(st.one_of(other_settings().map(_yaml_bytes), mutated_params().map(_yaml_bytes), params_text()))
def test_any_params_file_through_the_command_line_gives_a_result_or_one_error_line(
    tiny_model_dir, small_batch, content
):
    with tempfile.TemporaryDirectory() as folder:
        # The command line loads only a model its project's dvc.lock records, the project being
        # the params file's folder: a copy of the tiny model's project with this params file.
        folder = Path(folder)
        project = folder / "project"
        shutil.copytree(tiny_model_dir, project)
        params = project / "params.yaml"
        params.write_bytes(content)
        assign_and_check(small_batch, folder, project, [], params=params)
