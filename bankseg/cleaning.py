"""Validate raw customer records: required columns, types, ranges, ids, missing values.

Personal identifiers are dropped first, so nothing after this point (kept rows, rejected
rows, metrics) can carry them. Only the id, the feature columns and the profile-only
columns travel on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bankseg.errors import InputError
from bankseg.params import Params

log = logging.getLogger(__name__)

YES_NO = ("No", "Yes")
# Other spellings of a yes/no answer (after capitalisation), e.g. booleans from a Parquet file.
YES_NO_SYNONYMS = {"True": "Yes", "False": "No", "Y": "Yes", "N": "No"}
# Values that mean "no value" in exports, compared in lower case.
MISSING_TOKENS = ("", "na", "n/a", "nan", "null", "none", "-")
# Currency marks and digit grouping removed before parsing a number: "₹ 1,20,000" -> 120000.
_CURRENCY_AND_GROUPING = r"^(?:₹|rs\.?|inr)\s*|,|_|\s"


def _plain_number(values: pd.Series) -> pd.Series:
    # Most values are plain digits already; the case-insensitive replacement is slow, so it
    # runs only on the others (for plain digits it would change nothing).
    odd = ~values.str.fullmatch(r"[0-9.]*").fillna(True)
    if not odd.any():
        return values
    out = values.copy()
    out[odd] = values[odd].str.replace(_CURRENCY_AND_GROUPING, "", regex=True, case=False)
    return out


# Digits with an optional decimal point, at most 15 characters: an integer below 2**53 over
# a power of ten, which every correctly rounding parser turns into the same float.
_PLAIN_DECIMAL = r"[0-9]+(?:\.[0-9]*)?"
_PLAIN_DECIMAL_MAX_CHARS = 15


def _to_number(values: pd.Series) -> pd.Series:
    """``pd.to_numeric(values, errors="coerce")`` as float64; plain decimals are parsed by Arrow.

    Nearly every value of a customer file is a plain decimal, which Arrow parses several
    times faster than pandas (to the same float); pandas parses the others.
    """
    number = pd.Series(np.nan, index=values.index, dtype="float64")
    plain = (
        values.str.fullmatch(_PLAIN_DECIMAL).fillna(False) & (values.str.len() <= _PLAIN_DECIMAL_MAX_CHARS)
    ).to_numpy(dtype=bool)
    if plain.any():
        number[plain] = pc.cast(pa.array(values[plain], type=pa.string()), pa.float64()).to_numpy()
    rest = values.notna().to_numpy(dtype=bool) & ~plain
    if rest.any():
        number[rest] = pd.to_numeric(values[rest], errors="coerce").astype("float64")
    return number


def needed_columns(params: Params) -> Callable[[str], bool]:
    """A test of a file's header: whether cleaning may use that column.

    Reading only these columns skips the personal data and the other columns of a wide
    export; headers are matched as :func:`match_columns` matches them.
    """
    profile_only = [c for c in params.prepare.profile_columns if c not in params.features.columns]
    keys = {_header_key(c) for c in [params.data.id_column, *params.features.columns, *profile_only]}
    return lambda name: _header_key(name) in keys


@dataclass(frozen=True)
class CleanResult:
    kept: pd.DataFrame
    rejected: pd.DataFrame
    quality: dict


def _normalise_header(name: object) -> str:
    return str(name).strip().lstrip("\ufeff").strip()


def _header_key(name: object) -> str:
    """A header compared without case, spaces, underscores, hyphens or dots ("Net Worth" = networth)."""
    return re.sub(r"[\s_.\-]+", "", _normalise_header(name).lower())


def match_columns(df: pd.DataFrame, required: list[str], *, source: str) -> pd.DataFrame:
    """Rename columns that match a required name up to case, spaces, underscores and hyphens.

    "Customer ID", " AGE " and "Net-Worth" match customer_id, age and networth. An exact
    match wins over a loose one. Raises an error naming the first required column that is absent.
    """
    by_key: dict[str, object] = {}
    for column in df.columns:
        by_key.setdefault(_header_key(column), column)
    exact = {_normalise_header(c): c for c in df.columns}
    renames = {}
    for name in required:
        original = exact.get(name, by_key.get(_header_key(name)))
        if original is None:
            every = df.attrs.get("all_columns", list(df.columns))  # also those not read
            found = ", ".join(_normalise_header(c) for c in every[:8]) or "no columns"
            raise InputError(f"{source}: required column '{name}' is missing (found: {found})")
        renames[original] = name
    return df.rename(columns=renames)


def _match_optional(df: pd.DataFrame, columns: list[str], *, source: str, warn: bool) -> pd.DataFrame:
    """Match profile-only columns like required ones; an absent one is added empty, with a warning."""
    present = {_header_key(c) for c in df.columns}
    found = [c for c in columns if _header_key(c) in present]
    df = match_columns(df, found, source=source)
    for column in columns:
        if column not in found:
            if warn:
                log.warning("%s: profile column '%s' not found; its profile will be empty", source, column)
            df[column] = None
    return df


def _first_reason(reasons: pd.Series, mask: pd.Series, text: str | tuple[str, pd.Series, str]) -> pd.Series:
    """Set ``text`` as the reason for rows in ``mask`` that have no reason yet.

    ``text`` is a string, or ``(before, values, after)`` for a text that shows each row's
    value (made only for the few rows that need one).
    """
    fill = mask & reasons.isna()
    if isinstance(text, str):
        reasons[fill] = text
    elif fill.any():
        before, values, after = text
        reasons[fill] = before + values[fill].fillna("") + after
    return reasons


def clean_customers(
    raw: pd.DataFrame, params: Params, *, source: str, row_offset: int = 0, known_ids: set[str] | None = None
) -> CleanResult:
    """Split raw records into valid rows (typed) and rejected rows (with a reason).

    The kept frame holds the id column as text, numeric features as float (missing values
    left for the fitted preprocessing to impute, unless the column's policy is ``drop``),
    and categorical features as text.

    For a file cleaned a block at a time: ``row_offset`` is the number of rows before this
    block (rejected rows keep their row number in the file; warnings about the file's
    columns come with the first block only) and ``known_ids`` the ids kept from those rows,
    which make a row with the same id a duplicate.
    """
    id_column = params.data.id_column
    numeric = [f.column for f in params.features.numeric]
    categorical = params.features.categorical
    profile_only = [c for c in params.prepare.profile_columns if c not in params.features.columns]
    if raw.empty and len(raw.attrs.get("all_columns", raw.columns)) == 0:
        raise InputError(f"{source}: no columns found, expected a header row")
    raw = match_columns(raw, [id_column, *params.features.columns], source=source)
    raw = _match_optional(raw, profile_only, source=source, warn=row_offset == 0)
    keep = [id_column, *params.features.columns, *profile_only]
    # Drop personal data before anything else looks at the rows.
    df = raw[keep].copy()
    df.index = pd.RangeIndex(row_offset, row_offset + len(df))

    reasons = pd.Series(np.nan, index=df.index, dtype=object)
    text = df.astype("string").apply(lambda s: s.str.strip())
    missing_counts = {
        c: int((text[c].isna() | text[c].str.lower().isin(MISSING_TOKENS)).sum())
        for c in params.features.columns
    }

    ids = text[id_column]
    _first_reason(reasons, ids.isna() | (ids == ""), f"{id_column}: missing id")
    out = pd.DataFrame({id_column: ids.astype(object)}, index=df.index)

    for column in numeric:
        values = text[column]
        blank = values.isna() | values.str.lower().isin(MISSING_TOKENS)
        number = _to_number(_plain_number(values.where(~blank)))
        bad = ~blank & number.isna()
        _first_reason(reasons, bad, (f"{column}: not a number ('", values, "')"))
        infinite = np.isinf(number)
        _first_reason(reasons, infinite, f"{column}: not a finite number")
        low, high = params.prepare.ranges.get(column, (None, None))
        outside = pd.Series(False, index=df.index)
        if low is not None:
            outside |= number < low
        if high is not None:
            outside |= number > high
        shown = f"[{'' if low is None else low}, {'' if high is None else high}]"
        _first_reason(reasons, outside, (f"{column}=", values, f" outside {shown}"))
        out[column] = number.where(~infinite)

    for feature in categorical:
        column = feature.column
        values = text[column].where(~text[column].str.lower().isin(MISSING_TOKENS))
        if feature.encoding == "yes_no":
            values = values.str.capitalize().replace(YES_NO_SYNONYMS)
            allowed: tuple[str, ...] | None = YES_NO
        elif feature.encoding == "ordinal":
            allowed = feature.order
        else:
            allowed = None
        if allowed is not None:
            bad = values.notna() & ~values.isin(allowed)
            expected = "/".join(allowed)
            _first_reason(
                reasons,
                bad,
                (f"{column}: unexpected value '", values, f"' (expected {expected})"),
            )
        out[column] = values.astype(object).where(values.notna(), None)

    for column in profile_only:
        out[column] = text[column].astype(object).where(text[column].notna(), None)

    for column, strategy in params.prepare.missing.items():
        if strategy == "drop":
            _first_reason(reasons, out[column].isna(), f"{column}: missing value")

    valid_id = reasons.isna()
    # Among rows that are otherwise valid, the first occurrence of an id is kept.
    duplicate = pd.Series(False, index=df.index)
    valid_ids = out.loc[valid_id, id_column]
    seen = valid_ids.duplicated(keep="first").to_numpy()
    if known_ids:
        seen = seen | np.array([i in known_ids for i in valid_ids.tolist()], dtype=bool)
    duplicate[valid_id] = seen
    _first_reason(
        reasons,
        duplicate,
        (f"{id_column} ", out[id_column], ": duplicate id"),
    )

    rejected_mask = reasons.notna()
    kept = out[~rejected_mask].reset_index(drop=True)
    rejected = df[rejected_mask].astype("string").astype(object)
    rejected.insert(0, "reason", reasons[rejected_mask])
    rejected.insert(0, "row", (rejected.index + 1).astype("int64"))
    rejected.insert(0, "file", source)
    rejected = rejected.reset_index(drop=True)

    kinds = reasons[rejected_mask].map(_reason_kind)
    quality = {
        "rows_read": len(df),
        "rows_kept": len(kept),
        "rows_rejected": int(rejected_mask.sum()),
        "rejected_by_reason": {k: int(v) for k, v in sorted(kinds.value_counts().items())},
        "missing_values": missing_counts,
        "imputed_values": {
            c: int(kept[c].isna().sum()) for c, s in params.prepare.missing.items() if s != "drop"
        },
    }
    return CleanResult(kept, rejected, quality)


def _reason_kind(reason: str) -> str:
    for marker, kind in (
        ("missing id", "missing_id"),
        ("duplicate id", "duplicate_id"),
        ("not a number", "not_a_number"),
        ("not a finite", "not_a_number"),
        (" outside ", "out_of_range"),
        ("unexpected value", "unexpected_category"),
        ("missing value", "missing_value"),
    ):
        if marker in reason:
            return kind
    return "other"


def merge_quality(parts: list[dict]) -> dict:
    """The quality metrics of a file from those of its blocks (every count adds up)."""

    def add(dicts: list[dict]) -> dict:
        total: dict[str, int] = {}
        for d in dicts:
            for key, value in d.items():
                total[key] = total.get(key, 0) + value
        return dict(sorted(total.items()))

    return {
        "rows_read": sum(q["rows_read"] for q in parts),
        "rows_kept": sum(q["rows_kept"] for q in parts),
        "rows_rejected": sum(q["rows_rejected"] for q in parts),
        "rejected_by_reason": add([q["rejected_by_reason"] for q in parts]),
        "missing_values": {c: sum(q["missing_values"][c] for q in parts) for c in parts[0]["missing_values"]},
        "imputed_values": {c: sum(q["imputed_values"][c] for q in parts) for c in parts[0]["imputed_values"]},
    }


class FileCleaner:
    """Clean one file a block at a time, as :func:`clean_customers` cleans it whole.

    Rows keep their number in the file, an id kept in an earlier block makes a later row a
    duplicate, and the file's totals are kept for :func:`require_rows`: the quality metrics,
    the first rejected row and up to ``distinct_up_to`` distinct customers.
    """

    def __init__(self, params: Params, *, source: str, distinct_up_to: int = 0) -> None:
        self.params, self.source = params, source
        self.rows_read = 0
        self.kept_ids: set[str] = set()
        self.qualities: list[dict] = []
        self.first_rejected: pd.Series | None = None
        self.distinct: pd.DataFrame | None = None
        self._distinct_up_to = distinct_up_to

    def clean(self, block: pd.DataFrame) -> CleanResult:
        result = clean_customers(
            block, self.params, source=self.source, row_offset=self.rows_read, known_ids=self.kept_ids
        )
        self.rows_read += len(block)
        self.kept_ids.update(result.kept[self.params.data.id_column].tolist())
        self.qualities.append(result.quality)
        if self.first_rejected is None and len(result.rejected):
            self.first_rejected = result.rejected.iloc[0]
        if self._distinct_up_to and (self.distinct is None or len(self.distinct) < self._distinct_up_to):
            features = result.kept[self.params.features.columns]
            self.distinct = pd.concat([self.distinct, features]).drop_duplicates()
        return result

    @property
    def quality(self) -> dict:
        return merge_quality(self.qualities)


def require_rows(cleaned: FileCleaner, params: Params, *, minimum: int, source: str) -> None:
    """Stop with one line when the cleaned training customers cannot form ``minimum`` segments.

    Too few valid rows (saying why rows were rejected), a feature with nothing to impute
    from, or too few distinct customers are each refused. ``cleaned`` has seen every block
    of the file and counted distinct customers up to at least ``minimum``.
    """
    quality = cleaned.quality
    kept = quality["rows_kept"]
    if kept < minimum:
        why = ""
        if cleaned.first_rejected is not None:
            kinds = ", ".join(f"{k} {v}" for k, v in quality["rejected_by_reason"].items())
            first = cleaned.first_rejected
            why = f"; rejected: {kinds}; first rejected: row {first['row']}: {first['reason']}"
        raise InputError(
            f"{source}: {kept} valid customer rows after cleaning "
            f"({quality['rows_rejected']} rejected of {quality['rows_read']}), expected at least {minimum}{why}"
        )
    for column, strategy in params.prepare.missing.items():
        if strategy not in ("drop", "zero") and quality["imputed_values"][column] == kept:
            raise InputError(
                f"{source}: column '{column}' has no value in any of the {kept} valid rows, expected "
                f"at least one to impute the missing ones from (prepare.missing.{column}: {strategy})"
            )
    distinct = 0 if cleaned.distinct is None else len(cleaned.distinct)
    if distinct < minimum:
        raise InputError(
            f"{source}: only {distinct} distinct customers (by feature values) among {kept} valid rows, "
            f"expected at least {minimum} to form segments"
        )
