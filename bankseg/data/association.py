"""How outcomes and protected attributes differ between segments.

A segmentation earns its keep when an outcome (churn, product uptake, balance) differs
between segments; it is a fairness risk when a protected attribute (gender, religion, caste)
follows the segments closely, even though it was never a feature. Both are measured on one
0-to-1 scale: Cramér's V for categories, the correlation ratio (eta) for numbers.

Segments and values are paired by position, so the two series need not share an index.
Missing values, and text that is empty after stripping, are left out of every figure.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from bankseg.personal import OTHER_VALUES, value_kind

log = logging.getLogger(__name__)

# Values that mark the event of an auto-detected binary outcome (compared without case).
POSITIVE_WORDS = frozenset({"yes", "y", "true", "1", "1.0"})
# Values of a categorical outcome, and of a protected attribute, shown one by one.
OUTCOME_VALUES = 5
PROTECTED_VALUES = 10


def cramers_v(a: pd.Series, b: pd.Series) -> float:
    """Cramér's V of two categorical series (0: independent, 1: each determines the other).

    Rows missing either value are left out; 0.0 when either has fewer than 2 values then.
    """
    _check_lengths(a, b)
    a_codes, _ = pd.factorize(a)
    b_codes, _ = pd.factorize(b)
    return _cramers_v(a_codes, b_codes)


def correlation_ratio(groups: pd.Series, values: pd.Series) -> float:
    """Eta: the square root of the between-group share of a number's sum of squares.

    Rows missing the group or a (finite) number are left out; 0.0 when the numbers are constant.
    """
    _check_lengths(groups, values)
    codes, _ = pd.factorize(groups)
    return _eta(codes, _numbers(values))


def positive_value(values: pd.Series, positive: str | None = None) -> str | None:
    """The value that counts as the event of a binary outcome, as stripped text, or None.

    ``positive`` when given, matched without case (and as a number: "1" matches 1.0); as
    written in the data when present. Otherwise the outcome is binary when it has exactly
    two distinct values, one of them yes, y, true or 1 (and the other not): that one. Two
    numbers count only as 0 and 1, so a count of 1 or 2 products stays a number.
    """
    if positive is None and _many_numbers(values):
        return None
    return _event(*_text_codes(values), positive)


def _event(codes: np.ndarray, texts: list[str], positive: str | None) -> str | None:
    """:func:`positive_value` of values already coded as text."""
    counts = np.bincount(codes[codes >= 0], minlength=len(texts))
    if positive is not None:
        wanted = str(positive).strip()
        found = [i for i, text in enumerate(texts) if _same_value(text, wanted)]
        if not found:
            log.warning("outcome: no value matches the positive value %r; its rate is 0", wanted)
            return wanted
        return texts[_most_frequent(found, counts, texts)]
    if pd.Series(texts, dtype=object).str.casefold().nunique() != 2:
        return None
    spellings: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        spellings.setdefault(text.casefold(), []).append(i)
    if len(spellings) != 2:
        return None
    events = [word for word in spellings if word in POSITIVE_WORDS]
    numbers = [_number(word) for word in spellings]
    if len(events) != 1 or (None not in numbers and sorted(numbers) != [0.0, 1.0]):
        return None
    return texts[_most_frequent(spellings[events[0]], counts, texts)]


def outcome_summary(
    segments: pd.Series,
    values: pd.Series,
    *,
    positive: str | None = None,
    names: dict[int, str] | None = None,
) -> dict:
    """The outcome per segment, with its association to the segments.

    A binary outcome (:func:`positive_value`) gives ``kind: "rate"``: the share of the event
    per segment, overall and as a lift (segment / overall); a numeric one ``kind: "mean"``;
    any other ``kind: "categories"``: per segment the shares of the
    :data:`OUTCOME_VALUES` most frequent values. ``best_segment`` and ``worst_segment``
    are the keys of ``segments`` with the highest and lowest rate or mean (None for
    categories). Segment keys are the ids as text; every number is a Python float or int,
    and None where there is nothing to compute (JSON-ready).
    """
    _check_lengths(segments, values)
    seg_codes, keys = _segment_codes(segments, names)
    if positive is None and _many_numbers(values):
        event, codes, texts = None, None, None  # a number outcome: no need to look at it as text
    else:
        codes, texts = _text_codes(values)
        event = _event(codes, texts, positive)
    if event is not None:
        is_event = np.array([_same_value(text, event) for text in texts] + [False])
        numbers = np.where(codes >= 0, is_event[codes].astype("float64"), np.nan)
        summary = {"kind": "rate", "positive": event, **_by_segment(seg_codes, keys, numbers, "rate")}
        summary["association"] = _cramers_v(seg_codes, np.where(codes >= 0, is_event[codes], -1))
    elif (numbers := _outcome_numbers(values, codes, texts)) is not None:
        summary = {"kind": "mean", **_by_segment(seg_codes, keys, numbers, "mean")}
        summary["association"] = _eta(seg_codes, numbers)
    else:
        summary = {"kind": "categories", **_value_shares(seg_codes, keys, codes, texts, OUTCOME_VALUES)}
        summary["association"] = _cramers_v(seg_codes, codes)
        summary["best_segment"] = summary["worst_segment"] = None
    if names:
        named = {_segment_key(k): name for k, name in names.items()}
        for key, segment in summary["segments"].items():
            segment["name"] = named.get(key)
    return summary


def protected_summary(segments: pd.Series, values: pd.Series, *, threshold: float) -> dict:
    """How a protected attribute is spread over the segments, flagged when Cramér's V with
    the segments is above ``threshold``.

    Per segment the shares of the :data:`PROTECTED_VALUES` most frequent values, the rest as
    :data:`bankseg.personal.OTHER_VALUES`. A value that looks like a personal identifier
    (:func:`bankseg.personal.value_kind`) is never named: it counts among the other values.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
        raise ValueError(f"threshold={threshold!r} should be a number from 0 to 1")
    _check_lengths(segments, values)
    seg_codes, keys = _segment_codes(segments, None)
    codes, texts = _text_codes(values)
    shares = _value_shares(seg_codes, keys, codes, texts, PROTECTED_VALUES)
    v = _cramers_v(seg_codes, codes)
    return {
        "association": v,
        "flagged": bool(v > threshold),
        "threshold": float(threshold),
        "n": shares["n"],
        "missing": shares["missing"],
        "values": shares["values"],
        "segments": {key: segment["shares"] for key, segment in shares["segments"].items()},
    }


def _check_lengths(a: pd.Series, b: pd.Series) -> None:
    if len(a) != len(b):
        raise ValueError(f"the two series should have one value per customer each, not {len(a)} and {len(b)}")


def _cramers_v(a_codes: np.ndarray, b_codes: np.ndarray) -> float:
    """Cramér's V of two code arrays (-1: missing)."""
    # Imported here: scipy.stats takes over a second to import, and the prepare stage, which
    # uses this module's positive_value only, has no other reason to load it.
    from scipy.stats.contingency import association

    keep = (a_codes >= 0) & (b_codes >= 0)
    a_kept, a_index = np.unique(a_codes[keep], return_inverse=True)
    b_kept, b_index = np.unique(b_codes[keep], return_inverse=True)
    if len(a_kept) < 2 or len(b_kept) < 2:
        return 0.0
    table = np.bincount(a_index * len(b_kept) + b_index, minlength=len(a_kept) * len(b_kept))
    v = float(association(table.reshape(len(a_kept), len(b_kept)).astype("int64"), method="cramer"))
    return min(max(v, 0.0), 1.0) if math.isfinite(v) else 0.0


def _eta(codes: np.ndarray, numbers: np.ndarray) -> float:
    """The correlation ratio of numbers (NaN: missing) over groups (codes, -1: missing)."""
    keep = (codes >= 0) & ~np.isnan(numbers)
    groups, index = np.unique(codes[keep], return_inverse=True)
    x = numbers[keep]
    if len(x) == 0 or np.ptp(x) == 0:
        return 0.0
    counts = np.bincount(index, minlength=len(groups))
    means = np.bincount(index, weights=x, minlength=len(groups)) / counts
    mean = x.mean()
    total = float(np.sum((x - mean) ** 2))
    between = float(np.sum(counts * (means - mean) ** 2))
    return math.sqrt(min(between / total, 1.0)) if total > 0 else 0.0


def _numbers(values: pd.Series) -> np.ndarray:
    """Finite numbers as float64; anything else NaN."""
    x = pd.to_numeric(pd.Series(values).reset_index(drop=True), errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )
    return np.where(np.isfinite(x), x, np.nan)


def _many_numbers(values: pd.Series) -> bool:
    """A numeric column with more than two distinct values: no need to look at it as text."""
    dtype = pd.Series(values).dtype
    return (
        pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
        and pd.Series(values).nunique() > 2
    )


def _outcome_numbers(
    values: pd.Series, codes: np.ndarray | None, texts: list[str] | None
) -> np.ndarray | None:
    """The outcome as numbers when every value it has is one (numbers written as text too);
    ``codes`` and ``texts`` from :func:`_text_codes`, needed for text columns only."""
    dtype = pd.Series(values).dtype
    if pd.api.types.is_bool_dtype(dtype):
        return None
    if pd.api.types.is_numeric_dtype(dtype):
        return _numbers(values)
    parsed = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").to_numpy(dtype="float64")
    if not texts or not np.isfinite(parsed).all():
        return None
    return np.append(parsed, np.nan)[codes]


def _number(text: str) -> float | None:
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _same_value(text: str, wanted: str) -> bool:
    """The same value without regard to case, or the same number ("1" and "1.0")."""
    if text.casefold() == wanted.casefold():
        return True
    a, b = _number(text), _number(wanted)
    return a is not None and a == b


def _most_frequent(candidates: list[int], counts: np.ndarray, texts: list[str]) -> int:
    """The most frequent of some spellings of one value (ties: the first in sorted order)."""
    return min(candidates, key=lambda i: (-counts[i], texts[i]))


def _text_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Positional codes of the values as stripped text (-1: missing or empty), and the texts.

    Distinct values are converted once, not per row; " Yes" and "Yes" become one value.
    """
    codes, uniques = pd.factorize(pd.Series(values).reset_index(drop=True))
    texts = pd.Series(np.asarray(uniques, dtype=object), dtype=object).map(str).str.strip()
    texts = texts.where(texts != "")  # empty text is a missing value
    mapping, distinct = pd.factorize(texts)
    return np.append(mapping, -1).astype("int64")[codes], distinct.to_numpy(dtype=object).tolist()


def _segment_key(segment: object) -> str:
    if isinstance(segment, int | np.integer) or (
        isinstance(segment, float | np.floating) and float(segment).is_integer()
    ):
        return str(int(segment))
    return str(segment)


def _key_order(key: str) -> tuple:
    return (0, int(key), "") if key.lstrip("-").isdigit() else (1, 0, key)


def _segment_codes(segments: pd.Series, names: dict[int, str] | None) -> tuple[np.ndarray, list[str]]:
    """Positional codes into the sorted segment keys (-1: missing); the keys include every id
    of ``names``, so a segment without customers here still shows, with n 0."""
    codes, uniques = pd.factorize(pd.Series(segments).reset_index(drop=True))
    found = [_segment_key(u) for u in uniques]
    keys = sorted(set(found) | {_segment_key(k) for k in names or {}}, key=_key_order)
    position = {key: i for i, key in enumerate(keys)}
    return np.array([position[k] for k in found] + [-1], dtype="int64")[codes], keys


def _optional(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _by_segment(seg_codes: np.ndarray, keys: list[str], numbers: np.ndarray, measure: str) -> dict:
    """Overall and per-segment mean of ``numbers`` (NaN: missing), with lifts and extremes."""
    present = ~np.isnan(numbers)
    keep = (seg_codes >= 0) & present
    counts = np.bincount(seg_codes[keep], minlength=len(keys))
    sums = np.bincount(seg_codes[keep], weights=numbers[keep], minlength=len(keys))
    overall = _optional(numbers[keep].mean()) if keep.any() else None
    segments = {}
    for key, n, total in zip(keys, counts, sums, strict=True):
        value = float(total / n) if n else None
        lift = value / overall if value is not None and overall else None
        segments[key] = {measure: value, "lift": lift, "n": int(n)}
    rated = [(s[measure], i, key) for i, (key, s) in enumerate(segments.items()) if s["n"]]
    return {
        "overall": overall,
        "n": int(keep.sum()),
        "missing": int((~present).sum()),
        "segments": segments,
        # Ties go to the lower segment id.
        "best_segment": min(rated, key=lambda r: (-r[0], r[1]))[2] if rated else None,
        "worst_segment": min(rated, key=lambda r: (r[0], r[1]))[2] if rated else None,
    }


def _value_shares(
    seg_codes: np.ndarray, keys: list[str], codes: np.ndarray, texts: list[str], top: int
) -> dict:
    """Per segment the shares of the ``top`` most frequent values that do not look personal."""
    keep = (seg_codes >= 0) & (codes >= 0)
    cells = seg_codes[keep] * len(texts) + codes[keep]
    table = np.bincount(cells, minlength=len(keys) * len(texts)).reshape(len(keys), len(texts))
    counts = table.sum(axis=0)
    shown = [i for i in np.flatnonzero(counts) if not value_kind(texts[i])]
    named = sorted(shown, key=lambda i: (-counts[i], texts[i]))[:top]
    others = counts.sum() > counts[named].sum()

    def shares(row: np.ndarray) -> dict[str, float]:
        n = row.sum()
        if n == 0:
            return {}
        result = {texts[i]: float(row[i] / n) for i in named}
        if others:
            result[OTHER_VALUES] = float((n - row[named].sum()) / n)
        return result

    return {
        "values": [texts[i] for i in named],
        "overall": shares(counts),
        "n": int(keep.sum()),
        "missing": int((codes < 0).sum()),
        "segments": {
            key: {"shares": shares(row), "n": int(row.sum())} for key, row in zip(keys, table, strict=True)
        },
    }
