"""The one rule for matching column names, and what counts as personal data.

Headers are compared by :func:`header_key`: the reader, the cleaning and the personal-data
guard all use it, so a column spelled ``Customer Name``, ``customer-name`` or
``CUSTOMER_NAME`` is the same column everywhere.

A column is personal when it matches a name in ``prepare.personal_columns``, when its name
says it holds a personal identifier (:func:`personal_name_kind`), or when its values look
like personal identifiers (:func:`personal_values_kind`). The last two are heuristics, so
``prepare.not_personal`` can overrule them; nothing overrules the list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

# What rare values and values never named (they look personal) are shown as, together.
OTHER_VALUES = "other values"


def normalise_header(name: object) -> str:
    """A header as written, without surrounding spaces or a byte order mark."""
    return str(name).strip().lstrip("\ufeff").strip()


def header_key(name: object) -> str:
    """A header compared without case, spaces, underscores, hyphens or dots ("Net Worth" = networth)."""
    return re.sub(r"[\s_.\-]+", "", normalise_header(name).lower())


def shown_name(name: object) -> str:
    """A column name or key as a one-line message shows it: as written, with line breaks and
    other control characters escaped as Python and YAML write them (``a\\nb``)."""
    return re.sub(
        r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", lambda m: m.group().encode("unicode_escape").decode(), str(name)
    )


def listed(name: object, names: Iterable[object]) -> str | None:
    """The entry of ``names`` that is the same column as ``name``, if any."""
    key = header_key(name)
    return next((str(n) for n in names if header_key(n) == key), None)


def _words(name: object) -> list[str]:
    """The words of a header: ``customerPANCardNo`` and ``customer_pan_card_no`` give the same."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", normalise_header(name))
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]


def protected_name(name: object, protected: Iterable[object]) -> str | None:
    """The entry of ``protected`` (gender, ethnicity, ...) that column ``name`` holds, if any.

    The whole name matches as :func:`listed` matches it, or one of its words does:
    ``CODE_GENDER`` and ``customerEthnicity`` hold gender and ethnicity; ``trace_id`` holds no race.
    """
    entry = listed(name, protected)
    if entry is not None:
        return entry
    words = set(_words(name))
    return next((str(p) for p in protected if header_key(p) in words), None)


_NUMBER_WORDS = {"no", "num", "nr", "number", "id"}
_PERSON_WORDS = {
    "customer", "client", "holder", "full", "first", "last", "middle", "given", "family",
    "father", "fathers", "mother", "mothers", "spouse", "nominee", "maiden", "person", "account",
}  # fmt: skip

# Each kind of personal identifier a header can name: a test of the header's words.
PERSONAL_NAMES: dict[str, object] = {
    "a person's name": lambda w: w in (["name"], ["fullname"], ["surname"], ["firstname"], ["lastname"])
    or ("name" in w and bool(_PERSON_WORDS & set(w))),
    "a PAN": lambda w: w == ["pan"] or ("pan" in w and bool({"card", *_NUMBER_WORDS} & set(w))),
    "an Aadhaar number": lambda w: bool({"aadhaar", "aadhar", "adhar", "adhaar"} & set(w)),
    "a phone number": lambda w: w in (["phone"], ["telephone"], ["mobile"])
    or (bool({"phone", "mobile", "telephone", "tel", "cell", "msisdn"} & set(w)) and bool(_NUMBER_WORDS & set(w))),
    "an e-mail address": lambda w: bool({"email", "emailid", "emailaddress", "mail"} & set(w))
    or ("e" in w and "mail" in "".join(w)),
    "a postal address": lambda w: bool({"address", "addr", "street"} & set(w)),
    "a date of birth": lambda w: bool({"dob", "birth", "birthdate", "birthday", "dateofbirth"} & set(w)),
    "a postal code": lambda w: bool({"zip", "zipcode", "pincode", "pin", "postcode", "postal"} & set(w)),
    "an identity document number": lambda w: bool({"passport", "ssn", "voter", "licence", "license"} & set(w))
    or (bool({"national", "kyc", "tax"} & set(w)) and bool(_NUMBER_WORDS & set(w))),
}  # fmt: skip


def personal_name_kind(name: object) -> str | None:
    """What kind of personal identifier a column's name says it holds, or None.

    ``customer_pan_card_no`` says a PAN, ``Mobile Number`` a phone number; ``account_type``,
    ``contact_method`` and ``personal_loan`` say nothing personal.
    """
    words = _words(name)
    return next((kind for kind, test in PERSONAL_NAMES.items() if test(words)), None)


def _luhn(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


# Each kind of personal identifier a value can look like: a full-match pattern, and for
# card numbers a checksum. Values are compared after strip(), patterns ignore case.
PERSONAL_VALUES: dict[str, tuple[str, object]] = {
    "e-mail addresses": (r"[^@\s]+@[^@\s]+\.[a-z]{2,}", None),
    "PANs": (r"[a-z]{3}[abcfghljptk][a-z][0-9]{4}[a-z]", None),
    "phone numbers": (r"(?:\+|00)?(?:91|0)?[\s\-]?[6-9][0-9]{2}[\s\-]?[0-9]{3}[\s\-]?[0-9]{4}|(?:\+|00)[1-9][0-9\s().\-]{7,18}", None),
    "card numbers": (r"[2-6][0-9]{3}(?:[\s\-]?[0-9]{4}){2}[\s\-]?[0-9]{1,7}", lambda v: _luhn(re.sub(r"\D", "", v))),
    "Aadhaar numbers": (r"[2-9][0-9]{3}[\s\-]?[0-9]{4}[\s\-]?[0-9]{4}", None),
}  # fmt: skip

# A column is personal when this share of its distinct values (of a sample) look personal.
PERSONAL_SHARE = 0.2
# A text column with a different value for nearly every customer identifies them (names,
# addresses, account numbers): this share of distinct values, among at least this many.
IDENTIFIER_SHARE = 0.9
IDENTIFIER_MIN_VALUES = 50
SAMPLE_VALUES = 10_000


def value_kind(value: str) -> str | None:
    """What kind of personal identifier one value looks like, or None."""
    text = value.strip()
    for kind, (pattern, check) in PERSONAL_VALUES.items():
        if re.fullmatch(pattern, text, flags=re.IGNORECASE) and (check is None or check(text)):
            return kind
    return None


def personal_values_kind(values: pd.Series, *, text_column: bool) -> str | None:
    """Why a column's values look like personal identifiers, or None.

    ``values`` are the column's values as text (missing ones ignored). A column is personal
    when at least :data:`PERSONAL_SHARE` of the distinct values of a sample look like one
    kind of :data:`PERSONAL_VALUES`; a text column (``text_column``) also when nearly every
    row has its own value, as names, addresses and account numbers do.
    """
    present = values.iloc[: SAMPLE_VALUES * 4].dropna().astype(str).str.strip()
    sample = present[present != ""]
    if sample.empty:
        return None
    distinct = pd.Series(sample.unique()[:SAMPLE_VALUES], dtype="string")
    shares = {}
    personal = np.zeros(len(distinct), dtype=bool)
    for kind, (pattern, check) in PERSONAL_VALUES.items():
        matches = distinct.str.fullmatch(pattern, case=False).fillna(False).to_numpy(dtype=bool)
        if check is not None and matches.any():
            matches[matches] = [bool(check(v)) for v in distinct[matches]]
        shares[kind] = matches.mean()
        personal |= matches
    if personal.mean() >= PERSONAL_SHARE:
        kind = max(shares, key=lambda k: shares[k])  # the first of equal shares
        return (
            f"{personal.mean():.0%} of its distinct values look like personal identifiers, most like {kind}"
        )
    if text_column and len(sample) >= IDENTIFIER_MIN_VALUES:
        unique_share = sample.nunique() / len(sample)
        if unique_share >= IDENTIFIER_SHARE:
            return (
                f"{unique_share:.0%} of its values are different from each other, as a name, "
                "an address or an account number would be"
            )
    return None


def shown_value(value: object, *, limit: int = 40) -> str:
    """A value as an error message or a rejected row's reason may show it.

    A value that looks like a personal identifier is described, not shown; so is one with
    words in it: a name or an address in the wrong column would otherwise be shown, and the
    record number finds the value in the file. Others (``'12k'``, ``'5'``) are quoted,
    without control characters, cut to ``limit`` characters.
    """
    text = str(value).strip()
    kind = value_kind(text)
    if kind:
        return f"a value that looks like one of the {kind}"
    if re.search(r"[^\W\d_]{2,}", text):
        return f"a text of {len(text)} characters"
    text = re.sub(r"[\x00-\x1f\x7f]", " ", text)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
