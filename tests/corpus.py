"""A corpus of malformed customer files, built from any valid customer frame.

Each case builds one file from a base frame of valid raw customers (text columns, as read
from a CSV) and states what should happen to it in two places:

- ``assign``: the ``python -m bankseg assign`` command line scoring the file
  (``tests/test_bad_input.py``);
- ``prepare``: ``dvc repro`` with ``data.raw`` (or ``data.new``) pointing at the file
  (``tests/test_bad_input_pipeline.py``). The prepare stage needs more valid rows than
  ``elbow.k_max``; the pipeline test runs with ``elbow.k_max`` = :data:`K_MAX`.

Counts are numbers or functions of the number of rows in the base frame, so the same case
builds a 40-row file for the command line and a 600-row one for the pipeline.
"""

from __future__ import annotations

import gzip
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

Count = int | Callable[[int], int]
Builder = Callable[[pd.DataFrame, Path], Path]

# elbow.k_max of the pipeline test: prepare needs at least K_MAX + 1 valid rows.
K_MAX = 6
FEATURE_COLUMNS = [
    "age",
    "networth",
    "sip_amount",
    "income_slab",
    "risk_id",
    "sip_status",
    "has_demat_account",
    "account_type",
]
# Feature columns whose missing values reject the row (no imputation in prepare.missing).
DROP_COLUMNS = ["risk_id", "sip_status", "has_demat_account", "account_type"]


def _all(n: int) -> int:
    return n


@dataclass(frozen=True)
class Ok:
    """The file is read; ``kept`` rows go on, ``rejected`` rows are reported with a reason."""

    kept: Count
    rejected: Count = 0
    # kind of reason (as in metrics/data_quality.json rejected_by_reason) -> count
    reasons: dict[str, Count] = field(default_factory=dict)
    # column -> count, checked against data_quality.json imputed_values when given
    imputed: dict[str, Count] | None = None

    def counts(self, n: int) -> tuple[int, int, dict[str, int]]:
        reasons = {k: count(v, n) for k, v in self.reasons.items()}
        return count(self.kept, n), count(self.rejected, n), {k: v for k, v in reasons.items() if v}


@dataclass(frozen=True)
class Error:
    """One ``error: <file>: ...`` line holding each of ``texts`` (regular expressions)."""

    texts: tuple[str, ...]

    def __init__(self, *texts: str) -> None:
        object.__setattr__(self, "texts", texts)


@dataclass(frozen=True)
class Case:
    name: str
    build: Builder
    assign: Ok | Error | None  # None: not run through the command line
    prepare: Ok | Error
    # which pipeline parameter points at the file: "raw", "new" or "raw+new" (both)
    via: str = "raw"
    # the last stage `dvc repro` runs for an Ok case ("analyze": the whole pipeline)
    until: str = "prepare"

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "_", self.name.lower()).strip("_")


def count(value: Count, n: int) -> int:
    return value(n) if callable(value) else value


# --- building files ---------------------------------------------------------------------


def valid_base(raw: pd.DataFrame, n: int | None = None) -> pd.DataFrame:
    """Rows of a generated raw frame with every feature present and a unique id (first n).

    The generator plants blanks, out-of-range values and duplicate ids; a base without
    them makes every count of a case exact.
    """
    raw = raw.reset_index(drop=True)
    text = raw[FEATURE_COLUMNS].fillna("").apply(lambda s: s.str.strip())
    complete = (text != "").all(axis=1)
    age = pd.to_numeric(text["age"], errors="coerce")
    networth = pd.to_numeric(text["networth"], errors="coerce")
    sip = pd.to_numeric(text["sip_amount"], errors="coerce")
    in_range = age.between(18, 100) & (networth >= 0) & (sip >= 0)
    unique = ~raw["customer_id"].duplicated(keep=False)
    base = raw[complete & in_range & unique].reset_index(drop=True)
    return base if n is None else base.head(n).reset_index(drop=True)


def _csv(frame: pd.DataFrame, stem: Path, **options) -> Path:
    path = stem.with_suffix(".csv")
    frame.to_csv(path, index=False, **options)
    return path


def _text(stem: Path, text: str, suffix: str = ".csv") -> Path:
    path = stem.with_suffix(suffix)
    path.write_text(text, encoding="utf-8")
    return path


def _with(frame: pd.DataFrame, **columns) -> pd.DataFrame:
    """A copy with whole columns replaced (a scalar or one value per row)."""
    frame = frame.copy()
    for name, value in columns.items():
        frame[name] = value
    return frame


def _respelled(value: str) -> str:
    """An ordinal value as another export writes it: ``LOW``, ``medium``, `` High ``."""
    return {"Low": "LOW", "Medium": "medium", "High": " High "}.get(value, value)


def _rows(frame: pd.DataFrame, changes: dict[int, dict[str, str]]) -> pd.DataFrame:
    """A copy with single cells replaced: {row: {column: value}}."""
    frame = frame.copy()
    for row, values in changes.items():
        for column, value in values.items():
            frame.loc[row, column] = value
    return frame


def _cycle(values: list, n: int) -> list:
    return [values[i % len(values)] for i in range(n)]


def _unterminated_quote(b: pd.DataFrame, stem: Path) -> Path:
    text = b.to_csv(index=False)
    return _text(stem, text + '"41,unclosed\n')


def _parquet_with_types(b: pd.DataFrame, stem: Path) -> Path:
    frame = b.copy()
    frame["customer_id"] = pd.to_numeric(frame["customer_id"]).astype("int64")
    frame["networth"] = [int(i) * 1000 for i in range(len(frame))]
    frame["age"] = pd.to_numeric(frame["age"]).astype("float64")
    frame["risk_id"] = pd.to_numeric(frame["risk_id"]).astype("int64")
    path = stem.with_suffix(".parquet")
    frame.to_parquet(path)
    return path


def _parquet_with_booleans(b: pd.DataFrame, stem: Path) -> Path:
    frame = b.copy()
    frame["sip_status"] = frame["sip_status"] == "Yes"
    path = stem.with_suffix(".parquet")
    frame.to_parquet(path)
    return path


def _formulas(b: pd.DataFrame, stem: Path) -> Path:
    frame = _rows(
        b,
        {
            0: {"customer_id": "=1+1", "customer_name": '=HYPERLINK("http://x.invalid")'},
            1: {"customer_id": "+2x", "customer_name": "+x"},
            2: {"customer_id": "-3x", "customer_name": "-y"},
            3: {"customer_id": "@4", "customer_name": "@z"},
            # rejected (age is not a number): every cell of it goes to rejected.csv
            4: {"customer_id": "=5", "age": "=1+1", "account_type": "@SUM(A1)"},
        },
    )
    return _csv(frame, stem)


FORMULA_IDS = ["=1+1", "+2x", "-3x", "@4"]
FORMULA_REJECTED_ID = "=5"


# Rows of the "missing values in every feature column" case: row i has column i blank,
# each written with another of the tokens that mean "no value".
_MISSING_TOKENS = ["", "NA", "N/A", "null", "none", "nan", "-", "  "]


def _missing_everywhere(b: pd.DataFrame, stem: Path) -> Path:
    changes = {i: {column: _MISSING_TOKENS[i]} for i, column in enumerate(FEATURE_COLUMNS)}
    return _csv(_rows(b, changes), stem)


def _absurd(b: pd.DataFrame, stem: Path) -> Path:
    changes = {
        0: {"age": "250"},
        1: {"networth": "-1"},
        2: {"age": "17"},
        3: {"sip_amount": "-5"},
        4: {"networth": "inf"},
    }
    return _csv(_rows(b, changes), stem)


def _too_few(b: pd.DataFrame, stem: Path) -> Path:
    # K_MAX + 4 rows of which 4 are out of range: K_MAX valid rows, one fewer than needed
    frame = b.head(K_MAX + 4).copy()
    frame.loc[:3, "age"] = "250"
    return _csv(frame, stem)


def _identical(b: pd.DataFrame, stem: Path) -> Path:
    frame = pd.concat([b.head(1)] * len(b), ignore_index=True)
    frame["customer_id"] = [str(i) for i in range(len(frame))]
    return _csv(frame, stem)


NONE_VALID = Error(r"none of the \d+ rows is valid \(first problem, row 1: ")


def _short_and_long_rows(b: pd.DataFrame, stem: Path) -> Path:
    """Row 2 lacks its last field, row 4 has one too many: neither may shift values."""
    lines = b.drop(columns=["address"]).to_csv(index=False).splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0]
    lines[4] = lines[4] + ",surplus"
    return _text(stem, "\n".join(lines) + "\n")


def _repeated_header(b: pd.DataFrame, stem: Path) -> Path:
    text = b.head(len(b) // 2).to_csv(index=False) + b.tail(len(b) - len(b) // 2).to_csv(index=False)
    return _text(stem, text)


def _no_header(b: pd.DataFrame, stem: Path) -> Path:
    return _csv(b, stem, header=False)


def _utf16(b: pd.DataFrame, stem: Path) -> Path:
    """What Excel writes as "Unicode text": UTF-16 with a byte order mark, tab-separated."""
    path = stem.with_suffix(".txt")
    path.write_bytes(b.to_csv(index=False, sep="\t").encode("utf-16"))
    return path


def _gzip(b: pd.DataFrame, stem: Path) -> Path:
    path = stem.with_suffix(".csv")
    path.write_bytes(gzip.compress(b.to_csv(index=False).encode()))
    return path


def _workbook(b: pd.DataFrame, stem: Path) -> Path:
    path = stem.with_suffix(".xlsx")
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("[Content_Types].xml", "<Types/>")
        book.writestr("xl/worksheets/sheet1.xml", b.to_csv(index=False))
    return path


def _binary(b: pd.DataFrame, stem: Path) -> Path:
    path = stem.with_suffix(".csv")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    return path


def _european(b: pd.DataFrame, stem: Path) -> Path:
    """A European export: semicolons, decimal commas, points grouping thousands."""
    frame = b.copy()
    frame["networth"] = [f"{int(v):,}".replace(",", ".") + ",50" for v in pd.to_numeric(b["networth"])]
    frame["sip_amount"] = [f"{float(v):.2f}".replace(".", ",") for v in pd.to_numeric(b["sip_amount"])]
    return _csv(frame, stem, sep=";")


def _ambiguous_thousands(b: pd.DataFrame, stem: Path) -> Path:
    """No number shows its decimal mark: 1,250 may be 1250 or 1.25."""
    frame = _with(b, networth=_cycle(["1,250", "2,500", "7,125"], len(b)), sip_amount="0")
    return _csv(frame, stem, sep=";")


def _mixed_marks(b: pd.DataFrame, stem: Path) -> Path:
    frame = _rows(b, {0: {"networth": "1,234.50"}, 1: {"networth": "1.234,50"}})
    return _csv(frame, stem, sep=";")


def _parquet_ids_with_a_gap(b: pd.DataFrame, stem: Path) -> Path:
    frame = b.copy()
    frame["customer_id"] = pd.array([int(i) + 10**15 for i in frame["customer_id"]], dtype="Int64")
    frame.loc[3, "customer_id"] = pd.NA
    path = stem.with_suffix(".parquet")
    frame.to_parquet(path)
    return path


CASES: list[Case] = [
    Case(
        "empty file",
        lambda b, s: _text(s, ""),
        Error("file is empty"),
        Error("file is empty, expected a header row"),
    ),
    Case(
        "header only",
        lambda b, s: _csv(b.head(0), s),
        Ok(0),
        Error(r"0 valid customer rows after cleaning \(0 rejected of 0\), expected at least 7"),
    ),
    Case(
        "required column missing",
        lambda b, s: _csv(b.drop(columns=["age"]), s),
        Error("required column 'age' is missing"),
        Error(
            r"required column 'age' is missing \(\d+ columns in the file; none is close; columns found: "
            r"customer_id, .*; if the file names it otherwise, rename features\.numeric\.age in params\.yaml\)"
        ),
    ),
    Case(
        "new customers missing a required column",
        lambda b, s: _csv(b.drop(columns=["sip_status"]), s),
        None,
        Error("required column 'sip_status' is missing"),
        via="new",
    ),
    Case(
        "header case and spaces",
        lambda b, s: _csv(
            b.rename(columns={"age": " AGE ", "networth": "NetWorth", "customer_id": "Customer_ID"}), s
        ),
        Ok(_all),
        Ok(_all),
    ),
    Case(
        "numbers with grouping and rupee sign",
        lambda b, s: _csv(
            _with(b, networth=_cycle(["1,20,000", "₹5,000", "Rs. 7,500", "INR 900"], len(b))), s
        ),
        Ok(_all),
        Ok(_all),
    ),
    Case(
        "number with a k suffix",
        lambda b, s: _csv(_with(b, networth="12k"), s),
        NONE_VALID,
        Error(
            r"0 valid customer rows after cleaning \((\d+) rejected of \1\), expected at least 7",
            r"not_a_number \d+; first rejected: row 1: .*networth",
        ),
    ),
    Case(
        "text in some numbers",
        lambda b, s: _csv(
            _rows(b, {0: {"networth": "12k"}, 1: {"age": "abc"}, 2: {"sip_amount": "5 lakh"}}), s
        ),
        Ok(lambda n: n - 3, 3, {"not_a_number": 3}),
        Ok(lambda n: n - 3, 3, {"not_a_number": 3}),
    ),
    Case(
        "N/A means missing and is imputed",
        lambda b, s: _csv(_with(b, networth="N/A", age="NA", sip_amount="null"), s),
        Ok(_all),
        Error(r"'age'.*\bno value"),
    ),
    Case(
        "missing values in every feature column",
        _missing_everywhere,
        Ok(lambda n: n - 4, 4, {"missing_value": 4}),
        Ok(
            lambda n: n - 4,
            4,
            {"missing_value": 4},
            imputed={"age": 1, "networth": 1, "sip_amount": 1, "income_slab": 1},
        ),
    ),
    Case(
        "whole column empty where missing values are rejected",
        lambda b, s: _csv(_with(b, risk_id=""), s),
        NONE_VALID,
        Error(
            r"0 valid customer rows after cleaning \((\d+) rejected of \1\), expected at least 7", "risk_id"
        ),
    ),
    Case(
        "whole column empty where missing values are imputed",
        lambda b, s: _csv(_with(b, income_slab=""), s),
        Ok(_all),
        Error(r"'income_slab'.*\bno value"),
    ),
    Case(
        "absurd values",
        _absurd,
        Ok(lambda n: n - 5, 5, {"out_of_range": 4, "not_a_number": 1}),
        Ok(lambda n: n - 5, 5, {"out_of_range": 4, "not_a_number": 1}),
    ),
    Case(
        "absurd values in every row",
        lambda b, s: _csv(_with(b, age="250", networth="-1"), s),
        NONE_VALID,
        Error(
            r"0 valid customer rows after cleaning \((\d+) rejected of \1\), expected at least 7",
            r"rejected: out_of_range \d+; first rejected: row 1: age=250 outside \[18, 100\]",
        ),
    ),
    Case(
        "duplicate ids with different data",
        lambda b, s: _csv(pd.concat([b, _with(b, age="30")]), s),
        Ok(_all, _all, {"duplicate_id": _all}),
        Ok(_all, _all, {"duplicate_id": _all}),
    ),
    Case(
        "one row",
        lambda b, s: _csv(b.head(1), s),
        Ok(1),
        Error(r"1 valid customer rows after cleaning \(0 rejected of 1\), expected at least 7"),
    ),
    Case(
        "fewer valid rows than k_max + 1",
        _too_few,
        Ok(K_MAX, 4, {"out_of_range": 4}),
        Error(
            rf"{K_MAX} valid customer rows after cleaning \(4 rejected of {K_MAX + 4}\), expected at least 7"
        ),
    ),
    Case(
        "all rows identical",
        _identical,
        Ok(_all),
        Error(r"only 1 distinct customers \(by feature values\) among \d+ valid rows, expected at least 7"),
    ),
    Case("a constant feature", lambda b, s: _csv(_with(b, age="40"), s), Ok(_all), Ok(_all)),
    Case(
        "latin-1 encoding",
        lambda b, s: _csv(_with(b, customer_name="José Müller", address="Mañana"), s, encoding="latin-1"),
        Ok(_all),
        Ok(_all),
    ),
    Case(
        "utf-8 byte order mark",
        lambda b, s: _csv(b, s, encoding="utf-8-sig"),
        Ok(_all),
        Ok(_all),
    ),
    Case(
        "ordinal values in another case and spacing",
        lambda b, s: _csv(_with(b, income_slab=b["income_slab"].map(_respelled)), s),
        Ok(_all),
        Ok(_all),
    ),
    Case(
        "most rows outside an ordinal's order",
        lambda b, s: _csv(_with(b, income_slab=["Low"] * 10 + ["Huge"] * (len(b) - 10)), s),
        Ok(10, lambda n: n - 10, {"unexpected_category": lambda n: n - 10}),
        Ok(10, lambda n: n - 10, {"unexpected_category": lambda n: n - 10}),
    ),
    Case("semicolon delimited", lambda b, s: _csv(b, s, sep=";"), Ok(_all), Ok(_all)),
    Case("tab delimited", lambda b, s: _csv(b, s, sep="\t"), Ok(_all), Ok(_all)),
    Case("pipe delimited", lambda b, s: _csv(b, s, sep="|"), Ok(_all), Ok(_all)),
    Case(
        "unterminated quote",
        _unterminated_quote,
        Error("cannot be read as csv"),
        Error(r"cannot be read as csv \(.*EOF inside string starting at row \d+\)"),
    ),
    Case(
        "very long fields",
        lambda b, s: _csv(_rows(b, {0: {"address": "x" * 200_000}, 1: {"customer_name": "y" * 100_000}}), s),
        Ok(_all),
        Ok(_all),
    ),
    Case(
        "ids and names that look like formulas",
        _formulas,
        Ok(lambda n: n - 1, 1, {"not_a_number": 1}),
        Ok(lambda n: n - 1, 1, {"not_a_number": 1}),
        via="raw+new",
        until="assign",
    ),
    Case(
        "parquet with numbers stored as text and integers",
        _parquet_with_types,
        Ok(_all),
        Ok(_all),
    ),
    Case(
        "parquet with a yes/no column stored as booleans",
        _parquet_with_booleans,
        Ok(_all),
        Ok(_all),
    ),
    Case(
        "unsupported file type",
        lambda b, s: _csv(b, s).rename(s.with_suffix(".json")),
        Error("unsupported file type"),
        Error(r"unsupported file type '\.json', expected \.csv or \.parquet"),
    ),
    Case(
        "unseen ordinal category in new customers",
        lambda b, s: _csv(_with(b, income_slab="Platinum"), s),
        NONE_VALID,
        Ok(0, _all, {"unexpected_category": _all}),
        via="new",
        until="assign",
    ),
    Case(
        "rows with a missing and a surplus field",
        _short_and_long_rows,
        Ok(lambda n: n - 2, 2, {"malformed_row": 2}),
        Ok(lambda n: n - 2, 2, {"malformed_row": 2}),
    ),
    Case(
        "a repeated header name",
        lambda b, s: _csv(b.rename(columns={"address": "age"}), s),
        Error(r"the header names column 'age' twice \(columns \d+ and \d+\); expected each column once"),
        Error(r"the header names column 'age' twice \(columns \d+ and \d+\); expected each column once"),
    ),
    Case(
        "the header repeated in a later row",
        _repeated_header,
        Error(r"row \d+ repeats the header row \(were two files joined\?\)"),
        Error(r"row \d+ repeats the header row \(were two files joined\?\)"),
    ),
    Case(
        "no header row",
        _no_header,
        Error(r"the first row holds values, not column names; expected a header row naming the columns"),
        Error(r"the first row holds values, not column names; expected a header row naming the columns"),
    ),
    Case("utf-16 unicode text from excel", _utf16, Ok(_all), Ok(_all)),
    Case(
        "gzip-compressed csv",
        _gzip,
        Error(r"a gzip-compressed file; decompress it first"),
        Error(r"a gzip-compressed file; decompress it first"),
    ),
    Case(
        "excel workbook",
        _workbook,
        Error(r"Excel workbook; export the sheet as CSV"),
        Error(r"Excel workbook; export the sheet as CSV"),
    ),
    Case(
        "a binary file named csv",
        _binary,
        Error(r"not a text file \(it holds zero bytes\); expected a CSV file$"),
        Error(r"not a text file \(it holds zero bytes\); expected a CSV file$"),
    ),
    Case("decimal commas in a semicolon file", _european, Ok(_all), Ok(_all)),
    Case(
        "thousands or decimals in a semicolon file",
        _ambiguous_thousands,
        Error(r"could be written with a decimal comma or with digit grouping .*set prepare\.decimal_mark"),
        Error(r"could be written with a decimal comma or with digit grouping .*set prepare\.decimal_mark"),
    ),
    Case(
        "decimal point and decimal comma in one file",
        _mixed_marks,
        Error(
            r"numbers are written with a decimal point \(row 1, networth\) and with a decimal comma \(row 2"
        ),
        Error(
            r"numbers are written with a decimal point \(row 1, networth\) and with a decimal comma \(row 2"
        ),
    ),
    Case(
        "parquet whole-number ids with a gap",
        _parquet_ids_with_a_gap,
        Ok(lambda n: n - 1, 1, {"missing_id": 1}),
        Ok(lambda n: n - 1, 1, {"missing_id": 1}),
    ),
    Case(
        "unseen one-hot category in new customers",
        lambda b, s: _csv(_with(b, account_type="Joint"), s),
        Ok(_all),
        Ok(_all),
        via="new",
        until="assign",
    ),
]
