"""Validate raw customer records: required columns, types, ranges, ids, missing values.

Personal identifiers are dropped first, so nothing after this point (kept rows, rejected
rows, metrics) can carry them. Only the id, the feature columns and the profile-only
columns travel on; a rejected row is reported by its file, record number, id and reason, and
a reason never shows a value that may be personal (see :func:`bankseg.personal.shown_value`).
"""

from __future__ import annotations

import difflib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bankseg.data.association import positive_value
from bankseg.data.reading import DELIMITER, MALFORMED, NO_HEADER, looks_like_data, warn_once
from bankseg.errors import InputError
from bankseg.params import YES_NO_VALUES, CategoricalFeature, Params, category_key, feature_key
from bankseg.personal import (
    header_key,
    listed,
    normalise_header,
    personal_name_kind,
    personal_values_kind,
    protected_name,
    shown_name,
    shown_value,
    value_kind,
)

log = logging.getLogger(__name__)


# The value a categorical gap becomes with ``missing: level``: a category of its own.
MISSING_LEVEL = "missing"
# Other spellings of a yes/no answer (after capitalisation), e.g. booleans from a Parquet file.
YES_NO_SYNONYMS = {"True": "Yes", "False": "No", "Y": "Yes", "N": "No"}
# Values that mean "no value" in exports, compared in lower case.
MISSING_TOKENS = ("", "na", "n/a", "nan", "null", "none", "-")
# Currency marks removed before parsing a number: "₹ 1,20,000" -> 1,20,000.
_CURRENCY = r"^(?:₹|rs\.?|inr|€|eur|\$|usd|£|gbp)\s*"


class RejectionKind(StrEnum):
    """Why a row is rejected, decided where the check is made; counted, in this order, in
    metrics/data_quality.json (``rejected_by_reason``)."""

    MALFORMED_ROW = "malformed_row"
    MISSING_ID = "missing_id"
    NOT_A_NUMBER = "not_a_number"
    OUT_OF_RANGE = "out_of_range"
    UNEXPECTED_CATEGORY = "unexpected_category"
    MISSING_VALUE = "missing_value"
    DUPLICATE_ID = "duplicate_id"


# How a number's decimal mark shows in one value (after currency marks and spaces are removed):
# evidence for a decimal point, for a decimal comma, or either (1,234 and 1.234).
_POINT = (
    r"[+-]?(?:\d{1,3}(?:,\d{2,3})+\.\d*|\d{1,3}(?:,\d{2,3}){2,}|\d*\.(?:\d{0,2}|\d{4,})|(?:\d{4,}|0)\.\d{3})"
)
_COMMA = r"[+-]?(?:\d{1,3}(?:\.\d{3})+,\d*|\d{1,3}(?:\.\d{3}){2,}|\d*,(?:\d{0,2}|\d{4,})|(?:\d{4,}|0),\d{3})"
_EITHER = r"[+-]?[1-9]\d{0,2}[.,]\d{3}"
DECIMAL_MARKS = {".": "a decimal point", ",": "a decimal comma"}


def _plain_number(values: pd.Series, decimal: str) -> pd.Series:
    """Numbers as Python would write them: without currency marks, spaces and digit grouping,
    with a decimal point (``decimal`` is the file's decimal mark)."""
    # Most values are plain digits already; the case-insensitive replacement is slow, so it
    # runs only on the others (for plain digits it would change nothing).
    odd = ~values.str.fullmatch(r"[0-9]*" if decimal == "," else r"[0-9.]*").fillna(True)
    if not odd.any():
        return values
    grouping = "," if decimal == "." else "."
    out = values.copy()
    plain = (
        values[odd].str.replace(_CURRENCY, "", regex=True, case=False).str.replace(r"[\s_]", "", regex=True)
    )
    plain = plain.str.replace(grouping, "", regex=False)
    out[odd] = plain.str.replace(",", ".", regex=False) if decimal == "," else plain
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


def _out_of_range(column: str, number: float, text: str, bounds: str) -> str:
    """The reason for a number outside its range: the number, whole numbers as integers and
    others in 6 digits, unless it looks like a personal identifier (a phone number in ``age``)."""
    if value_kind(text):
        return f"{column}: {shown_value(text)}, outside {bounds}"
    shown = str(int(number)) if abs(number) < 1e15 and number == int(number) else f"{number:.6g}"
    return f"{column}={shown} outside {bounds}"


def _first_match(values: pa.Array, pattern: str) -> int | None:
    """Position of the first value that is all ``pattern`` (RE2, run by Arrow), or None."""
    hits = pc.match_substring_regex(values, f"^(?:{pattern})$")
    found = pc.index(pc.fill_null(hits, False), True).as_py()
    return None if found < 0 else found


def decimal_mark(
    raw: pd.DataFrame, params: Params, *, source: str, row_offset: int = 0, known: str | None = None
) -> str | None:
    """The decimal mark of the numeric features in ``raw``: ``.``, ``,`` or None (no sign of either).

    ``prepare.decimal_mark`` when set; else found from the values: ``1,234.5``, ``1,20,000``
    and ``12.5`` show a decimal point, ``1.234,5``, ``1.234.567`` and ``12,5`` a decimal
    comma. Values that show both in one file, a mark other than ``known`` (that of earlier
    blocks), and, in a file not separated by commas, values such as ``1,234`` with no sign
    of either, are refused in one line: a number is read exactly or not at all.
    """
    if params.prepare.decimal_mark != "auto":
        return params.prepare.decimal_mark
    numeric = {header_key(f.column): f.column for f in params.features.numeric}
    first: dict[str, tuple[int, str, str]] = {}  # mark -> (row, column, value)
    # Once earlier blocks show the mark, only values with the other mark need a look: a value
    # that shows it contradicts them (1.234.567 in a file with decimal points does not parse
    # and is rejected as not a number, never read as another number).
    other = {".": (",", _COMMA), ",": (".", _POINT)}
    patterns = [other[known]] if known else [(".", _POINT), (",", _COMMA), ("either", _EITHER)]
    for name in raw.columns:
        column = numeric.get(header_key(name))
        if column is None:
            continue
        # Only values with a point or a comma can show a mark; all work is Arrow's (RE2).
        column_values = raw[name] if pd.api.types.is_string_dtype(raw[name]) else raw[name].astype("string")
        values = pa.array(column_values, type=pa.string(), from_pandas=True)
        has = (
            pc.match_substring(values, other[known][0]) if known else pc.match_substring_regex(values, "[.,]")
        )
        marked = pc.indices_nonzero(pc.fill_null(has, False))
        if not len(marked):
            continue
        plain = values.take(marked)
        if pc.any(pc.match_substring_regex(plain, r"[^0-9.,+\-]")).as_py():  # currency, spaces
            plain = pc.replace_substring_regex(plain, f"(?i){_CURRENCY}", "")
            plain = pc.replace_substring_regex(plain, r"[\s_]", "")
        for mark, pattern in patterns:
            at = _first_match(plain, pattern)
            row = None if at is None else row_offset + marked[at].as_py() + 1
            if row is not None and (mark not in first or row < first[mark][0]):
                first[mark] = (row, column, plain[at].as_py())
    marks = [m for m in DECIMAL_MARKS if m in first]
    if len(marks) == 2:
        (r1, c1, _), (r2, c2, _) = first["."], first[","]
        raise InputError(
            f"{source}: numbers are written with a decimal point (row {r1}, {c1}) and with a decimal "
            f"comma (row {r2}, {c2}); expected one of them: set prepare.decimal_mark to '.' or ','"
        )
    mark = marks[0] if marks else None
    if known and mark and mark != known:
        row, column, _ = first[mark]
        raise InputError(
            f"{source}: row {row}, {column} is written with {DECIMAL_MARKS[mark]}, but earlier rows use "
            f"{DECIMAL_MARKS[known]}; expected one of them: set prepare.decimal_mark to '.' or ','"
        )
    mark = mark or known
    delimiter = raw.attrs.get(DELIMITER)
    if mark is None and "either" in first and delimiter not in (None, ","):
        row, column, value = first["either"]
        raise InputError(
            f"{source}: row {row}, {column} {shown_value(value)} could be written with a decimal comma or "
            f"with digit grouping (the file is separated by {delimiter!r}); set prepare.decimal_mark to ',' or '.'"
        )
    return mark


def needed_columns(params: Params) -> Callable[[str], bool]:
    """A test of a file's header: whether cleaning may use that column.

    Reading only these columns skips the personal data and the other columns of a wide
    export; headers are matched as :func:`match_columns` matches them.
    """
    keys = {header_key(c) for c in [*_id_columns(params), *params.features.columns, *_profile_only(params)]}
    return lambda name: header_key(name) in keys or _is_protected(name, params)


def _id_columns(params: Params) -> list[str]:
    """The id column read from the file: none when ids are record numbers (data.id_column: null)."""
    return [] if params.data.id_generated else [params.data.id_column]


def _profile_only(params: Params) -> list[str]:
    """Columns carried beside the features, never used for clustering: profile and outcome columns."""
    carried = [*params.prepare.profile_columns, *(o.column for o in params.outcomes)]
    return [c for c in dict.fromkeys(carried) if not listed(c, params.features.columns)]


def _is_protected(name: object, params: Params) -> bool:
    return protected_name(name, params.fairness.protected) is not None and not listed(
        name, params.features.columns
    )


def protected_columns(columns: list[str], params: Params) -> list[str]:
    """The protected columns (gender, ethnicity, ...) among ``columns`` that are not features:
    carried to be profiled, never clustered on."""
    return [c for c in columns if _is_protected(c, params) and not listed(c, _profile_only(params))]


@dataclass(frozen=True)
class CleanResult:
    kept: pd.DataFrame
    rejected: pd.DataFrame
    quality: dict
    # The carried columns (profile, outcome, protected) of rejected rows that were read whole:
    # for comparing rejected with kept customers. Never written to a file.
    rejected_values: pd.DataFrame = field(default_factory=pd.DataFrame)


def match_columns(
    df: pd.DataFrame, required: list[str], *, source: str, params: Params | None = None
) -> pd.DataFrame:
    """Rename columns that match a required name up to case, spaces, underscores and hyphens.

    "Customer ID", " AGE " and "Net-Worth" match customer_id, age and networth. An exact
    match wins over a loose one; two loose matches are an error. Raises an error naming the
    first required column that is absent, and the file's closest columns; when the first row
    holds values (a file without a header row), it says so and shows none of them.
    """
    by_key: dict[str, list[object]] = {}
    for column in df.columns:
        by_key.setdefault(header_key(column), []).append(column)
    exact = {normalise_header(c): c for c in df.columns}
    renames = {}
    for name in required:
        original = exact.get(name)
        if original is None:
            loose = by_key.get(header_key(name), [])
            if len(loose) > 1:
                both = " and ".join(f"'{shown_name(normalise_header(c))}'" for c in loose[:2])
                raise InputError(
                    f"{source}: columns {both} both match '{name}'; expected one column of that name"
                )
            original = loose[0] if loose else None
        if original is None:
            raise InputError(
                _missing_column(df.attrs.get("all_columns", list(df.columns)), name, required, source, params)
            )
        renames[original] = name
    return df.rename(columns=renames)


# Columns a missing-column error lists, the file's non-personal columns first.
SHOWN_COLUMNS = 8


def _missing_column(
    found: list[object], name: str, required: list[str], source: str, params: Params | None = None
) -> str:
    """Which column is missing, the file's closest names, its columns (never the personal
    ones first: a renamed feature must show), and the params key that names the column."""
    headers = [normalise_header(c) for c in found]
    if any(looks_like_data(h) for h in headers):
        expected = ", ".join(required[:6]) + (", ..." if len(required) > 6 else "")
        return f"{source}: required column '{name}' is missing: {NO_HEADER} ({expected})"
    personal = params.prepare.personal_columns if params else ()
    plain = [h for h in headers if listed(h, personal) is None and personal_name_kind(h) is None]
    keys = {header_key(h): h for h in plain}
    wanted = header_key(name)
    close = [k for k in keys if wanted in k or (k and k in wanted)]  # age_years, net_worth_inr
    close += [k for k in difflib.get_close_matches(wanted, list(keys), n=3, cutoff=0.6) if k not in close]
    hint = f"closest: {', '.join(repr(keys[k]) for k in close[:3])}" if close else "none is close"
    shown = ", ".join(shown_name(h) for h in plain[:SHOWN_COLUMNS]) + (
        ", ..." if len(plain) > SHOWN_COLUMNS else ""
    )
    where = ""
    if params is not None:
        key = "data.id_column" if name == params.data.id_column else feature_key(params.features, name)
        where = f"; if the file names it otherwise, rename {key} in params.yaml"
    return (
        f"{source}: required column '{name}' is missing ({len(headers)} columns in the file; {hint}; "
        f"columns found: {shown or 'only personal ones'}{where})"
    )


def _match_optional(df: pd.DataFrame, columns: list[str], *, source: str, warn: bool) -> pd.DataFrame:
    """Match profile-only columns like required ones; an absent one is added empty, with a warning."""
    present = {header_key(c) for c in df.columns}
    found = [c for c in columns if header_key(c) in present]
    df = match_columns(df, found, source=source)
    for column in columns:
        if column not in found:
            if warn:
                warn_once(log, "%s: profile column '%s' not found; its profile will be empty", source, column)
            df[column] = None
    return df


@dataclass
class _Reasons:
    """The first reason each row is rejected for: its kind, the column it is about (none for
    a malformed record) and its text."""

    index: pd.Index
    kinds: pd.Series = field(init=False)
    columns: pd.Series = field(init=False)
    texts: pd.Series = field(init=False)

    def __post_init__(self) -> None:
        self.kinds = pd.Series(None, index=self.index, dtype=object)
        self.columns = pd.Series(None, index=self.index, dtype=object)
        self.texts = pd.Series(None, index=self.index, dtype=object)

    def add(
        self,
        mask: pd.Series,
        kind: RejectionKind,
        text: str | Callable[[pd.Index], pd.Series],
        *,
        column: str | None,
    ) -> None:
        """``text``: the reason, or a function giving each row's reason (made only for the few
        rows that need one)."""
        fill = mask & self.kinds.isna()
        if not fill.any():
            return
        self.kinds[fill] = kind
        self.columns[fill] = column
        self.texts[fill] = text if isinstance(text, str) else text(fill[fill].index)

    @property
    def rejected(self) -> pd.Series:
        return self.kinds.notna()

    def counts(self) -> dict[str, int]:
        """Rejected rows by kind, in the order of :class:`RejectionKind`."""
        counts = self.kinds[self.rejected].value_counts()
        return {kind.value: int(counts[kind]) for kind in RejectionKind if kind in counts}

    def counts_by_column(self) -> dict[str, int]:
        """Rejected rows by the column that rejected them, by column name (malformed records,
        about no column, are left out)."""
        counts = self.columns[self.rejected].dropna().value_counts()
        return {str(c): int(n) for c, n in sorted(counts.items())}


def _shown(values: pd.Series, rows: pd.Index) -> pd.Series:
    return values[rows].map(shown_value)


def clean_customers(
    raw: pd.DataFrame,
    params: Params,
    *,
    source: str,
    row_offset: int = 0,
    known_ids: set[str] | None = None,
    decimal: str | None = None,
) -> CleanResult:
    """Split raw records into valid rows (typed) and rejected rows (with a reason).

    The kept frame holds the id column as text, numeric features as float (missing values
    left for the fitted preprocessing to impute, unless the column's policy is ``drop``),
    and categorical features as text. ``decimal`` is the file's decimal mark (by default
    :func:`decimal_mark` of ``raw``; :class:`FileCleaner` finds it over all blocks).

    For a file cleaned a block at a time: ``row_offset`` is the number of rows before this
    block (rejected rows keep their row number in the file; warnings and checks of the file's
    columns come with the first block only) and ``known_ids`` the ids kept from those rows,
    which make a row with the same id a duplicate.
    """
    id_column = params.data.id_column
    if raw.empty and len(raw.attrs.get("all_columns", raw.columns)) == 0:
        raise InputError(f"{source}: no columns found, expected a header row")
    decimal = decimal or decimal_mark(raw, params, source=source, row_offset=row_offset) or "."
    text, carried = _customer_text(raw, params, source=source, row_offset=row_offset)
    reasons = _Reasons(text.index)
    broken = _reject_malformed(raw.attrs, reasons, row_offset=row_offset)
    tokens = [*MISSING_TOKENS, *(t.strip().lower() for t in params.prepare.missing_values)]
    missing_counts = {
        c: int(((text[c].isna() | text[c].str.lower().isin(tokens)) & ~broken).sum())
        for c in params.features.columns
    }

    ids = text[id_column]
    reasons.add(
        ids.isna() | (ids == ""), RejectionKind.MISSING_ID, f"{id_column}: missing id", column=id_column
    )
    out = pd.DataFrame({id_column: ids.astype(object).where(~broken, None)}, index=text.index)
    for feature in params.features.numeric:
        out[feature.column] = _numbers(text[feature.column], params, reasons, tokens=tokens, decimal=decimal)
    for feature in params.features.categorical:
        out[feature.column] = _categories(text[feature.column], feature, reasons, tokens=tokens)
    for column in carried:
        out[column] = text[column].astype(object).where(text[column].notna(), None)
    for column, strategy in params.features.missing.items():
        if strategy == "drop":
            reasons.add(
                out[column].isna(), RejectionKind.MISSING_VALUE, f"{column}: missing value", column=column
            )
    _reject_duplicates(out[id_column], reasons, known_ids=known_ids)
    return _split(
        out, reasons, params, source=source, missing_counts=missing_counts, carried=carried, whole=~broken
    )


def _customer_text(
    raw: pd.DataFrame, params: Params, *, source: str, row_offset: int
) -> tuple[pd.DataFrame, list[str]]:
    """The id, feature and carried columns of ``raw`` as stripped text, indexed by row in the
    file, and the carried (profile, outcome and protected) columns' names.

    Columns are matched to their names in params.yaml, and personal data is dropped before
    anything looks at the values; a repeated header row, and (in the first block) personal
    values in a used column, are refused."""
    headers = list(raw.columns)  # as written in the file, before matching renames them
    profile_only = _profile_only(params)
    raw = match_columns(raw, [*_id_columns(params), *params.features.columns], source=source, params=params)
    raw = _match_optional(raw, profile_only, source=source, warn=row_offset == 0)
    protected = protected_columns([normalise_header(c) for c in raw.columns], params)
    raw = raw.rename(
        columns={c: normalise_header(c) for c in raw.columns if normalise_header(c) in protected}
    )
    id_column = params.data.id_column
    if params.data.id_generated:  # the record number in the file
        raw = raw.assign(**{id_column: np.arange(row_offset + 1, row_offset + len(raw) + 1).astype(str)})
    keep = [id_column, *params.features.columns, *profile_only, *protected]
    # Drop personal data before anything else looks at the rows.
    df = raw[keep].copy()
    df.index = pd.RangeIndex(row_offset, row_offset + len(df))

    text = df.astype("string").apply(lambda s: s.str.strip())
    _refuse_repeated_header(text, raw, headers, keep, source)
    if row_offset == 0:
        _refuse_personal_values(text, params, source)
    return text, [*profile_only, *protected]


def _reject_malformed(attrs: dict, reasons: _Reasons, *, row_offset: int) -> pd.Series:
    """Reject the records with a wrong number of fields (the reader left their values
    missing); which rows they are."""
    malformed = attrs.get(MALFORMED, {})
    broken = pd.Series(False, index=reasons.index)
    broken.iloc[list(malformed)] = True
    reasons.add(
        broken,
        RejectionKind.MALFORMED_ROW,
        lambda rows: pd.Series(
            [
                f"record has {malformed[r - row_offset]} fields, expected {len(attrs['all_columns'])}"
                for r in rows
            ],
            index=rows,
        ),
        column=None,
    )
    return broken


def _numbers(
    values: pd.Series, params: Params, reasons: _Reasons, *, tokens: list[str], decimal: str
) -> pd.Series:
    """A numeric feature's text as float, missing where blank or infinite; rows that hold no
    number, an infinite one or one outside the feature's range are rejected."""
    column = values.name
    blank = values.isna() | values.str.lower().isin(tokens)
    number = _to_number(_plain_number(values.where(~blank), decimal))
    bad = ~blank & number.isna()
    reasons.add(
        bad,
        RejectionKind.NOT_A_NUMBER,
        lambda rows: f"{column}: not a number (" + _shown(values, rows) + ")",
        column=column,
    )
    infinite = np.isinf(number)
    reasons.add(infinite, RejectionKind.NOT_A_NUMBER, f"{column}: not a finite number", column=column)
    low, high = params.features.ranges.get(column, (None, None))
    outside = pd.Series(False, index=values.index)
    if low is not None:
        outside |= number < low
    if high is not None:
        outside |= number > high
    bounds = f"[{'' if low is None else low}, {'' if high is None else high}]"
    reasons.add(
        outside & ~infinite,
        RejectionKind.OUT_OF_RANGE,
        lambda rows: pd.Series(
            [_out_of_range(column, number[r], values[r], bounds) for r in rows], index=rows, dtype=object
        ),
        column=column,
    )
    return number.where(~infinite)


def _categories(
    values: pd.Series, feature: CategoricalFeature, reasons: _Reasons, *, tokens: list[str]
) -> pd.Series:
    """A categorical feature's text, yes/no answers and ordinal values spelled one way (an
    ordinal value as its ``order`` spells it, whatever its case and spacing) and gaps as None
    (or the missing level); rows with a value outside a yes/no or ordinal feature's values are
    rejected."""
    column = feature.column
    values = values.where(~values.str.lower().isin(tokens))
    if feature.encoding == "yes_no":
        values = values.str.capitalize().replace(YES_NO_SYNONYMS)
        allowed: tuple[str, ...] | None = YES_NO_VALUES
    elif feature.encoding == "ordinal":
        values = _spelled_as(values, feature.order)
        allowed = feature.order
    else:
        allowed = None
    if allowed is not None:
        expected = "/".join(allowed)
        reasons.add(
            values.notna() & ~values.isin(allowed),
            RejectionKind.UNEXPECTED_CATEGORY,
            lambda rows: f"{column}: unexpected value (" + _shown(values, rows) + f"); expected {expected}",
            column=column,
        )
    if feature.missing == "level":
        values = values.fillna(MISSING_LEVEL)
    return values.astype(object).where(values.notna(), None)


def _spelled_as(values: pd.Series, spellings: tuple[str, ...]) -> pd.Series:
    """``values`` with each one that is one of ``spellings`` as :func:`category_key` compares
    them spelled as there (``HIGH`` -> ``High``); others unchanged."""
    by_key = {category_key(s): s for s in spellings}
    respelled = {}
    for value in values.dropna().unique():
        spelling = by_key.get(category_key(value))
        if spelling is not None and spelling != value:
            respelled[value] = spelling
    return values.replace(respelled) if respelled else values


def _reject_duplicates(ids: pd.Series, reasons: _Reasons, *, known_ids: set[str] | None) -> None:
    """Among rows that are otherwise valid, the first occurrence of an id (not among
    ``known_ids``, those kept from earlier blocks) is kept; later ones are rejected."""
    valid = ~reasons.rejected
    duplicate = pd.Series(False, index=ids.index)
    valid_ids = ids[valid]
    seen = valid_ids.duplicated(keep="first").to_numpy()
    if known_ids:
        seen = seen | np.array([i in known_ids for i in valid_ids.tolist()], dtype=bool)
    duplicate[valid] = seen
    reasons.add(
        duplicate,
        RejectionKind.DUPLICATE_ID,
        f"{ids.name}: duplicate id (the first row with it is kept)",
        column=str(ids.name),
    )


def _split(
    out: pd.DataFrame,
    reasons: _Reasons,
    params: Params,
    *,
    source: str,
    missing_counts: dict[str, int],
    carried: list[str],
    whole: pd.Series,
) -> CleanResult:
    """The kept rows, the rejected ones (file, row, id and reason), the quality metrics, and
    the ``carried`` values of the rejected rows that were read whole (``whole``)."""
    id_column = params.data.id_column
    rejected_mask = reasons.rejected
    kept = out[~rejected_mask].reset_index(drop=True)
    rejected = pd.DataFrame(
        {
            "file": source,
            "row": (out.index[rejected_mask] + 1).astype("int64"),
            id_column: out.loc[rejected_mask, id_column].astype(object).to_numpy(),
            "reason": reasons.texts[rejected_mask].to_numpy(),
        }
    )
    quality = {
        "rows_read": len(out),
        "rows_kept": len(kept),
        "rows_rejected": int(rejected_mask.sum()),
        "rejected_by_reason": reasons.counts(),
        "rejected_by_column": reasons.counts_by_column(),
        "missing_values": missing_counts,
        "imputed_values": {
            c: int(kept[c].isna().sum()) for c, s in params.features.missing.items() if s != "drop"
        },
    }
    rejected_values = out.loc[rejected_mask & whole, carried].reset_index(drop=True)
    return CleanResult(kept, rejected, quality, rejected_values)


def _refuse_repeated_header(
    text: pd.DataFrame, raw: pd.DataFrame, headers: list, keep: list[str], source: str
) -> None:
    """A row that repeats the header (two exports joined together) is an error, not a customer.

    Its values are the header's names as written (compared exactly: one vectorised pass)."""
    if text.empty:
        return
    originals = dict(zip(raw.columns, headers, strict=False))  # matched name -> as written
    same = pd.Series(True, index=text.index)
    for column in keep:
        same &= (text[column] == normalise_header(originals.get(column, column))).fillna(False)
    if same.any():
        row = int(same.idxmax()) + 1
        raise InputError(
            f"{source}: row {row} repeats the header row (were two files joined?); expected one header row"
        )


def _refuse_personal_values(text: pd.DataFrame, params: Params, source: str) -> None:
    """Columns whose values look like personal identifiers may not be id, feature or profile
    columns, unless ``prepare.not_personal`` says they are not personal."""
    numeric = {f.column for f in params.features.numeric}
    roles = {c: "the id column" for c in _id_columns(params)}
    roles |= {c: "a feature" for c in params.features.columns}
    roles |= {c: "a profile column" for c in _profile_only(params)}
    for column, role in roles.items():
        if listed(column, params.prepare.not_personal):
            continue
        reason = personal_values_kind(
            text[column], text_column=column not in numeric and column != params.data.id_column
        )
        if reason:
            raise InputError(
                f"{source}: column '{column}' looks like personal data ({reason}); it may not be "
                f"used as {role}. If it is not personal, list it in prepare.not_personal"
            )


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
        "rejected_by_column": add([q["rejected_by_column"] for q in parts]),
        "missing_values": {c: sum(q["missing_values"][c] for q in parts) for c in parts[0]["missing_values"]},
        "imputed_values": {c: sum(q["imputed_values"][c] for q in parts) for c in parts[0]["imputed_values"]},
    }


class FileCleaner:
    """Clean one file a block at a time, as :func:`clean_customers` cleans it whole.

    Rows keep their number in the file, an id kept in an earlier block makes a later row a
    duplicate, every block has the decimal mark of the first that shows one, and the file's totals are kept for :func:`require_rows`: the quality metrics,
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
        self.decimal: str | None = None  # the file's decimal mark, once a block shows it
        # Values of the carried columns among kept and rejected rows: {column: {value: count}}.
        self.counts: dict[str, dict[str, Counter]] = {"kept": {}, "rejected": {}}

    def clean(self, block: pd.DataFrame) -> CleanResult:
        self.decimal = decimal_mark(
            block, self.params, source=self.source, row_offset=self.rows_read, known=self.decimal
        )
        result = clean_customers(
            block,
            self.params,
            source=self.source,
            row_offset=self.rows_read,
            known_ids=self.kept_ids,
            decimal=self.decimal or ".",
        )
        self.rows_read += len(block)
        self.kept_ids.update(result.kept[self.params.data.id_column].tolist())
        self.qualities.append(result.quality)
        if self.first_rejected is None and len(result.rejected):
            self.first_rejected = result.rejected.iloc[0]
        carried = list(result.rejected_values.columns)
        for group, frame in (("kept", result.kept[carried]), ("rejected", result.rejected_values)):
            for column in carried:
                found = frame[column].fillna(MISSING_LEVEL).astype(str).value_counts()
                self.counts[group].setdefault(column, Counter()).update(found.to_dict())
        if self._distinct_up_to and (self.distinct is None or len(self.distinct) < self._distinct_up_to):
            features = result.kept[self.params.features.columns]
            self.distinct = pd.concat([self.distinct, features]).drop_duplicates()
        return result

    @property
    def quality(self) -> dict:
        quality = merge_quality(self.qualities)
        if quality["rows_rejected"] and self.counts["rejected"]:
            quality["rejected_vs_kept"] = rejection_comparison(
                self.counts["kept"], self.counts["rejected"], self.params
            )
        return quality


def _rate(counts: Counter, positive: str) -> float | None:
    known = sum(n for value, n in counts.items() if value != MISSING_LEVEL)
    return counts.get(positive, 0) / known if known else None


def _mean(counts: Counter) -> float | None:
    numbers = pd.to_numeric(pd.Series(list(counts)), errors="coerce").to_numpy()
    weights = np.array(list(counts.values()), dtype="float64")
    ok = np.isfinite(numbers)
    return float(np.average(numbers[ok], weights=weights[ok])) if ok.any() else None


def _distance(kept: Counter, rejected: Counter) -> float:
    """Total variation distance between two distributions of values (0 same, 1 disjoint)."""
    n_kept, n_rejected = sum(kept.values()), sum(rejected.values())
    if not n_kept or not n_rejected:
        return 0.0
    return 0.5 * sum(
        abs(kept.get(v, 0) / n_kept - rejected.get(v, 0) / n_rejected) for v in set(kept) | set(rejected)
    )


def rejection_comparison(kept: dict[str, Counter], rejected: dict[str, Counter], params: Params) -> dict:
    """Rejected rows compared with kept rows on the outcome, profile and protected columns.

    An outcome's rate (or mean) among rejected rows that differs from the kept rows' by more
    than ``prepare.max_rejected_gap`` (for a mean: that share of the kept mean) makes the
    rejection selective: the segments then describe a biased part of the customers. The other
    columns are compared by total variation distance (the share of customers whose value
    would have to change to make the two groups alike), flagged above the same threshold.
    """
    gap_limit = params.prepare.max_rejected_gap
    outcomes = {}
    for outcome in params.outcomes:
        column = listed(outcome.column, kept) or outcome.column
        if column not in kept or column not in rejected:
            continue
        k, r = kept[column], rejected[column]
        values = pd.Series([v for v in (set(k) | set(r)) if v != MISSING_LEVEL])
        positive = positive_value(values, outcome.positive)
        if positive is not None:
            entry = {"kept_rate": _rate(k, positive), "rejected_rate": _rate(r, positive)}
            a, b = entry["kept_rate"], entry["rejected_rate"]
            gap = None if a is None or b is None else abs(b - a)
        else:
            entry = {"kept_mean": _mean(k), "rejected_mean": _mean(r)}
            a, b = entry["kept_mean"], entry["rejected_mean"]
            gap = None if a is None or b is None or a == 0 else abs(b - a) / abs(a)
        entry["rejected_rows"] = int(sum(r.values()))
        entry["selective"] = bool(gap is not None and gap > gap_limit)
        outcomes[column] = entry
    columns = {
        column: {"distance": round(_distance(kept[column], rejected.get(column, Counter())), 6)}
        for column in kept
        if column not in outcomes
    }
    for entry in columns.values():
        entry["selective"] = entry["distance"] > gap_limit
    selective = [c for c, e in {**outcomes, **columns}.items() if e["selective"]]
    return {"outcomes": outcomes, "columns": columns, "selective": selective}


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
    for column, strategy in params.features.missing.items():
        if strategy not in ("drop", "zero", "level") and quality["imputed_values"][column] == kept:
            raise InputError(
                f"{source}: column '{column}' has no value in any of the {kept} valid rows, expected "
                f"at least one to impute the missing ones from ({feature_key(params.features, column)}.missing: {strategy})"
            )
    distinct = 0 if cleaned.distinct is None else len(cleaned.distinct)
    if distinct < minimum:
        raise InputError(
            f"{source}: only {distinct} distinct customers (by feature values) among {kept} valid rows, "
            f"expected at least {minimum} to form segments"
        )


def selective_warnings(comparison: dict | None) -> list[str]:
    """Rejected rows that differ from the kept ones: the segments describe a biased part of the customers."""
    warnings = []
    for column in (comparison or {}).get("selective", []):
        entry = comparison["outcomes"].get(column)
        if entry and "kept_rate" in entry:
            detail = f"{entry['rejected_rate']:.0%} among rejected rows against {entry['kept_rate']:.0%} among kept ones"
        elif entry:
            detail = f"mean {entry['rejected_mean']:.3g} among rejected rows against {entry['kept_mean']:.3g} among kept ones"
        else:
            detail = f"their mix of values differs by {comparison['columns'][column]['distance']:.0%}"
        warnings.append(
            f"the rows rejected by the cleaning differ from the kept ones in {column} ({detail}): the "
            "segments describe a biased part of the customers; impute the gaps instead of dropping "
            "rows (missing under the feature in params.yaml)"
        )
    return warnings


def rejection_warnings(quality: dict, *, limit: float) -> list[str]:
    """More of a file's rows rejected than ``limit`` (``gate.max_rejected_share``): the
    segments leave those customers out, often because a setting does not fit the file."""
    read, rejected = quality.get("rows_read", 0), quality.get("rows_rejected", 0)
    if not read or rejected / read <= limit:
        return []
    reasons = ", ".join(f"{kind} {n:,}" for kind, n in quality["rejected_by_reason"].items())
    by_column = sorted(quality.get("rejected_by_column", {}).items(), key=lambda item: -item[1])
    columns = f"; by column: {', '.join(f'{c} {n:,}' for c, n in by_column)}" if by_column else ""
    return [
        f"{rejected:,} of {read:,} rows ({rejected / read:.1%}) were rejected by the cleaning, more "
        f"than gate.max_rejected_share ({limit:.1%}): {reasons}{columns}. The segments leave these "
        "customers out: compare the settings of those columns in params.yaml (range, order, "
        "missing) with the reasons in the rejected rows file"
    ]
