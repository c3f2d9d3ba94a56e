"""bankseg.data.cleaning: required columns, personal data dropped, invalid rows rejected with a reason."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from bankseg.data.cleaning import (
    FileCleaner,
    RejectionKind,
    _to_number,
    clean_customers,
    match_columns,
    rejection_warnings,
    require_rows,
)
from bankseg.errors import InputError

PERSONAL = [
    "customer_name",
    "customer_pan_card_no",
    "customer_adhar_card_no",
    "date_of_birth",
    "address",
    "zip_code",
    "mobile_no",
    "kyc_number",
    "crn_unique_id",
    "demat_account_no",
]
KEPT_COLUMNS = [
    "customer_id",
    "age",
    "networth",
    "sip_amount",
    "income_slab",
    "risk_id",
    "sip_status",
    "has_demat_account",
    "account_type",
    "kyc_status",
]


def _clean(df, params, source="in.csv"):
    return clean_customers(df, params, source=source)


def test_valid_rows_are_kept_and_typed(make_raw, params):
    raw = make_raw({"age": "30", "networth": "1500.5"}, {"age": "64", "sip_status": "Yes", "risk_id": "4"})
    result = _clean(raw, params)
    kept = result.kept
    assert list(kept.columns) == KEPT_COLUMNS
    assert kept["customer_id"].tolist() == ["1", "2"]
    assert kept["age"].dtype == np.float64
    assert kept["age"].tolist() == [30.0, 64.0]
    assert kept["networth"].tolist() == [1500.5, 100000.0]
    assert kept["risk_id"].tolist() == ["1", "4"]
    assert kept["sip_status"].tolist() == ["No", "Yes"]
    assert result.rejected.empty
    assert result.quality["rows_read"] == 2
    assert result.quality["rows_kept"] == 2
    assert result.quality["rows_rejected"] == 0
    assert result.quality["rejected_by_reason"] == {}


@pytest.mark.parametrize("column", ["customer_id", "networth", "account_type"])
def test_missing_required_column_names_it(make_raw, params, column):
    raw = make_raw({}).drop(columns=[column])
    with pytest.raises(InputError) as info:
        _clean(raw, params, source="batch.csv")
    message = str(info.value)
    assert message.startswith("batch.csv: ")
    assert f"required column '{column}' is missing" in message


def test_frame_without_columns_is_an_input_error(params):
    with pytest.raises(InputError, match="no columns"):
        _clean(pd.DataFrame(), params)


def test_header_case_and_spaces_are_accepted_for_features(make_raw, params):
    raw = make_raw({"age": "41"}, {"income_slab": "High"})
    renamed = raw.rename(columns=lambda c: f"  {c.upper()} ")
    result = _clean(renamed, params)
    expected = _clean(raw, params).kept
    features = ["customer_id", *params.features.columns]
    pd.testing.assert_frame_equal(result.kept[features], expected[features])


def test_header_with_byte_order_mark_is_accepted(make_raw, params):
    raw = make_raw({}).rename(columns={"customer_id": "\ufeffcustomer_id"})
    assert _clean(raw, params).kept["customer_id"].tolist() == ["1"]


def test_header_case_and_spaces_are_accepted_for_profile_columns(make_raw, params):
    """A profile column (kyc_status) is matched like the feature columns, not silently dropped."""
    raw = make_raw({"kyc_status": "Pending"}, {"kyc_status": "Verified"})
    renamed = raw.rename(columns={"kyc_status": " KYC_Status "})
    kept = _clean(renamed, params).kept
    assert "kyc_status" in kept.columns
    assert kept["kyc_status"].tolist() == ["Pending", "Verified"]


def test_match_columns_renames_only_matching_columns():
    df = pd.DataFrame(columns=[" Customer_ID", "AGE  ", "Other Column"])
    matched = match_columns(df, ["customer_id", "age"], source="x.csv")
    assert list(matched.columns) == ["customer_id", "age", "Other Column"]


def test_match_columns_accepts_headers_written_as_words():
    df = pd.DataFrame(columns=["Customer ID", "Net Worth", "SIP-Amount", "Has Demat Account"])
    matched = match_columns(
        df, ["customer_id", "networth", "sip_amount", "has_demat_account"], source="x.csv"
    )
    assert list(matched.columns) == ["customer_id", "networth", "sip_amount", "has_demat_account"]


def test_two_columns_matching_one_name_are_shown_on_one_line():
    df = pd.DataFrame({"Net\u2028Worth": ["1"], "NET WORTH": ["2"]})
    with pytest.raises(InputError) as info:
        match_columns(df, ["networth"], source="x.csv")
    assert str(info.value).splitlines() == [
        "x.csv: columns 'Net\\u2028Worth' and 'NET WORTH' both match 'networth'; expected one column of that name"
    ]


def test_match_columns_prefers_the_exact_name_over_a_loose_one():
    df = pd.DataFrame({"Net Worth": ["1"], "networth": ["2"]})
    assert match_columns(df, ["networth"], source="x.csv")["networth"].tolist() == ["2"]


def test_personal_columns_are_absent_from_kept_and_rejected(customers, params):
    result = _clean(customers, params, source="customers.csv")
    assert len(result.rejected) > 0  # the generated base plants invalid rows
    for frame in (result.kept, result.rejected):
        assert not set(PERSONAL) & set(frame.columns)
    # No personal value hides in another column either.
    pan_numbers = set(customers["customer_pan_card_no"])
    names = set(customers["customer_name"])
    for frame in (result.kept, result.rejected):
        cells = set(frame.astype(str).to_numpy().ravel())
        assert not cells & pan_numbers
        assert not cells & names


# (overrides of one row, the expected reason, the kind counted in quality)
INVALID_ROWS = {
    # Words are described, not shown: a name or an address in the wrong column stays out of reasons.
    "age not a number": ({"age": "abc"}, "age: not a number (a text of 3 characters)", "not_a_number"),
    "networth thousands suffix": ({"networth": "12k"}, "networth: not a number ('12k')", "not_a_number"),
    "age infinite": ({"age": "inf"}, "age: not a finite number", "not_a_number"),
    "age above range": ({"age": "250"}, "age=250 outside [18, 100]", "out_of_range"),
    "age below range": ({"age": "17"}, "age=17 outside [18, 100]", "out_of_range"),
    "negative net worth": ({"networth": "-5"}, "networth=-5 outside [0, ]", "out_of_range"),
    "negative sip": ({"sip_amount": "-0.01"}, "sip_amount=-0.01 outside [0, ]", "out_of_range"),
    "unknown income": (
        {"income_slab": "Huge"},
        "income_slab: unexpected value (a text of 4 characters); expected Low/Medium/High",
        "unexpected_category",
    ),
    "unknown risk": (
        {"risk_id": "5"},
        "risk_id: unexpected value ('5'); expected 1/2/3/4",
        "unexpected_category",
    ),
    "not yes or no": (
        {"sip_status": "maybe"},
        "sip_status: unexpected value (a text of 5 characters); expected No/Yes",
        "unexpected_category",
    ),
    "missing with drop policy": ({"risk_id": ""}, "risk_id: missing value", "missing_value"),
    "missing id": ({"customer_id": ""}, "customer_id: missing id", "missing_id"),
    "blank id": ({"customer_id": "   "}, "customer_id: missing id", "missing_id"),
}


@pytest.mark.parametrize(("overrides", "reason", "kind"), INVALID_ROWS.values(), ids=INVALID_ROWS.keys())
def test_invalid_row_is_rejected_with_reason_and_counted(make_raw, params, overrides, reason, kind):
    raw = make_raw({}, {"customer_id": "2", **overrides}, {})
    result = _clean(raw, params, source="batch.csv")
    assert result.kept["customer_id"].tolist() == ["1", "3"]
    assert len(result.rejected) == 1
    rejected = result.rejected.iloc[0]
    assert rejected["file"] == "batch.csv"
    assert rejected["row"] == 2
    assert rejected["reason"].startswith(reason)
    assert result.quality["rejected_by_reason"] == {kind: 1}
    assert result.quality["rows_rejected"] == 1
    assert result.quality["rows_kept"] == 2


def test_rejections_are_counted_by_kind_in_the_kinds_order(make_raw, params):
    """Each row counts under the kind of the first check it fails (a row without an id and
    without a number is a missing id); the counts follow RejectionKind and are plain text."""
    raw = make_raw(
        {"customer_id": "1"},
        {"customer_id": "1"},  # duplicate
        {"customer_id": "3", "risk_id": ""},  # missing value
        {"customer_id": "4", "sip_status": "maybe"},  # unexpected category
        {"customer_id": "5", "age": "250"},  # out of range
        {"customer_id": "6", "age": "abc"},  # not a number
        {"customer_id": "", "age": "abc"},  # missing id, not a number too
    )
    quality = _clean(raw, params).quality
    counts = quality["rejected_by_reason"]
    assert list(counts) == [kind.value for kind in RejectionKind if kind != RejectionKind.MALFORMED_ROW]
    assert set(counts.values()) == {1}
    assert {type(kind) for kind in counts} == {str}
    # By the column whose check rejected the row: the id's for a duplicate or a missing id.
    assert quality["rejected_by_column"] == {"age": 2, "customer_id": 2, "risk_id": 1, "sip_status": 1}


def test_rejected_rows_hold_the_file_row_id_and_reason_only(make_raw, params):
    raw = make_raw({}, {"age": " 12abc ", "networth": "1e3", "customer_name": "Asha Rao"})
    rejected = _clean(raw, params).rejected
    assert rejected.to_dict("records") == [
        {
            "file": "in.csv",
            "row": 2,
            "customer_id": "2",
            "reason": "age: not a number (a text of 5 characters)",
        }
    ]


PERSONAL_LOOKING = {
    "e-mail": "asha.rao@example.com",
    "PAN": "ABCPK1234F",
    "phone": "+91 98765 43210",
    "Aadhaar": "2345 6789 0123",
    "card": "4111 1111 1111 1111",
}


@pytest.mark.parametrize("value", PERSONAL_LOOKING.values(), ids=PERSONAL_LOOKING.keys())
def test_a_reason_never_shows_a_value_that_looks_personal(make_raw, params, value):
    raw = make_raw(*[{"age": str(20 + i)} for i in range(10)], {"age": value})
    reason = _clean(raw, params).rejected["reason"].iloc[0]
    assert value not in reason and value.replace(" ", "") not in reason.replace(" ", "")
    assert "looks like" in reason


@pytest.mark.parametrize("value", PERSONAL_LOOKING.values(), ids=PERSONAL_LOOKING.keys())
@pytest.mark.parametrize("column", ["age", "account_type", "kyc_status", "customer_id"])
def test_a_column_whose_values_look_personal_is_refused_without_showing_them(make_raw, params, value, column):
    raw = make_raw(*[{column: value} for _ in range(12)])
    with pytest.raises(InputError) as info:
        _clean(raw, params)
    message = str(info.value)
    assert message.startswith(f"in.csv: column '{column}' looks like personal data (")
    assert message.endswith("If it is not personal, list it in prepare.not_personal")
    assert value not in message


def test_not_personal_lets_a_column_through(make_raw, params):
    raw = make_raw(*[{"kyc_status": f"ABCPK{1000 + i}F"} for i in range(12)])
    with pytest.raises(InputError, match="'kyc_status' looks like personal data"):
        _clean(raw, params)
    allowed = replace(params, prepare=replace(params.prepare, not_personal=("KYC Status",)))
    assert len(_clean(raw, allowed).kept) == 12


def test_a_text_column_with_a_value_per_customer_is_refused(make_raw, params):
    raw = make_raw(*[{"kyc_status": f"Customer number {i}"} for i in range(60)])
    with pytest.raises(
        InputError, match=r"'kyc_status' looks like personal data \(100% of its values are different"
    ):
        _clean(raw, params)


def test_a_reason_shows_numbers_and_codes_but_describes_words(make_raw, params):
    """A name in a category column (columns swapped in an export) never reaches a reason; the
    record number finds the value in the file."""
    raw = make_raw({"networth": "12k"}, {"income_slab": "Asha Rao"}, {"age": "1e300"}, {"risk_id": "5"})
    assert _clean(raw, params).rejected["reason"].tolist() == [
        "networth: not a number ('12k')",
        "income_slab: unexpected value (a text of 8 characters); expected Low/Medium/High",
        "age=1e+300 outside [18, 100]",
        "risk_id: unexpected value ('5'); expected 1/2/3/4",
    ]


def test_first_problem_is_the_reason(make_raw, params):
    raw = make_raw({"age": "abc", "income_slab": "Huge", "risk_id": ""})
    assert _clean(raw, params).rejected["reason"].tolist() == ["age: not a number (a text of 3 characters)"]


def test_range_bounds_are_inclusive(make_raw, params):
    raw = make_raw({"age": "18"}, {"age": "100", "networth": "0", "sip_amount": "0"})
    result = _clean(raw, params)
    assert result.kept["age"].tolist() == [18.0, 100.0]
    assert result.rejected.empty


def test_duplicate_id_keeps_the_first_occurrence(make_raw, params):
    raw = make_raw({"customer_id": "7", "age": "30"}, {"customer_id": "8"}, {"customer_id": "7", "age": "40"})
    result = _clean(raw, params)
    assert result.kept["customer_id"].tolist() == ["7", "8"]
    assert result.kept["age"].tolist() == [30.0, 30.0]
    assert result.rejected["row"].tolist() == [3]
    assert result.rejected["reason"].tolist() == ["customer_id: duplicate id (the first row with it is kept)"]
    assert result.quality["rejected_by_reason"] == {"duplicate_id": 1}


def test_ids_are_compared_after_stripping_spaces(make_raw, params):
    raw = make_raw({"customer_id": "7"}, {"customer_id": " 7 "})
    result = _clean(raw, params)
    assert result.kept["customer_id"].tolist() == ["7"]
    assert result.rejected["reason"].tolist() == ["customer_id: duplicate id (the first row with it is kept)"]


def test_values_are_stripped_and_yes_no_is_case_insensitive(make_raw, params):
    raw = make_raw(
        {"age": " 45 ", "sip_status": "yes", "has_demat_account": " NO ", "account_type": " Current "}
    )
    kept = _clean(raw, params).kept
    assert kept["age"].tolist() == [45.0]
    assert kept["sip_status"].tolist() == ["Yes"]
    assert kept["has_demat_account"].tolist() == ["No"]
    assert kept["account_type"].tolist() == ["Current"]


def test_unseen_onehot_category_is_kept(make_raw, params):
    kept = _clean(make_raw({"account_type": "Premium"}), params).kept
    assert kept["account_type"].tolist() == ["Premium"]


def test_missing_values_are_kept_for_imputation_and_counted(make_raw, params):
    raw = make_raw(
        {"age": ""},
        {"sip_amount": "", "income_slab": ""},
        {"networth": "   "},
        {"risk_id": ""},  # drop policy: rejected
        {},
    )
    result = _clean(raw, params)
    kept = result.kept
    assert kept["customer_id"].tolist() == ["1", "2", "3", "5"]
    assert np.isnan(kept["age"].iloc[0])
    assert np.isnan(kept["sip_amount"].iloc[1])
    assert kept["income_slab"].iloc[1] is None
    assert np.isnan(kept["networth"].iloc[2])
    assert result.quality["imputed_values"] == {"age": 1, "networth": 1, "sip_amount": 1, "income_slab": 1}
    assert result.quality["missing_values"] == {
        "age": 1,
        "networth": 1,
        "sip_amount": 1,
        "income_slab": 1,
        "risk_id": 1,
        "sip_status": 0,
        "has_demat_account": 0,
        "account_type": 0,
    }
    assert result.quality["rejected_by_reason"] == {"missing_value": 1}


def test_drop_policy_rejects_a_missing_numeric_value(make_raw, params):
    strict = replace(params, features=params.features.with_feature("age", missing="drop"))
    result = _clean(make_raw({"age": ""}, {}), strict)
    assert result.kept["customer_id"].tolist() == ["2"]
    assert result.rejected["reason"].tolist() == ["age: missing value"]
    assert "age" not in result.quality["imputed_values"]


def test_typed_input_as_from_parquet_is_accepted(params):
    raw = pd.DataFrame(
        {
            "customer_id": [101, 102],
            "age": [30, 61.0],
            "networth": [1e5, 2.5e6],
            "sip_amount": [0.0, 1200.0],
            "income_slab": ["Low", "High"],
            "risk_id": [1, 4],
            "sip_status": ["No", "Yes"],
            "has_demat_account": ["No", "Yes"],
            "account_type": ["Savings", "Current"],
        }
    )
    result = _clean(raw, params, source="x.parquet")
    assert result.rejected.empty
    assert result.kept["customer_id"].tolist() == ["101", "102"]
    assert result.kept["risk_id"].tolist() == ["1", "4"]
    assert result.kept["age"].tolist() == [30.0, 61.0]


def test_generated_base_is_cleaned_consistently(customers, params):
    result = _clean(customers, params)
    quality = result.quality
    assert quality["rows_read"] == 1500
    assert quality["rows_kept"] + quality["rows_rejected"] == 1500
    assert len(result.kept) == quality["rows_kept"]
    assert sum(quality["rejected_by_reason"].values()) == quality["rows_rejected"]
    assert quality["rejected_by_reason"]["duplicate_id"] == 2
    assert set(quality["rejected_by_reason"]) <= {"duplicate_id", "out_of_range"}
    assert not result.kept["customer_id"].duplicated().any()
    assert result.kept["age"].dropna().between(18, 100).all()
    assert (result.kept["networth"].dropna() >= 0).all()


def _whole_file(raw: pd.DataFrame, params, minimum: int, blocks: int = 1) -> FileCleaner:
    """The file ``raw`` cleaned in ``blocks`` blocks, counting distinct customers up to ``minimum``."""
    cleaner = FileCleaner(params, source="in.csv", distinct_up_to=minimum)
    for block in np.array_split(np.arange(len(raw)), blocks):
        cleaner.clean(raw.iloc[block])
    return cleaner


def test_require_rows_says_why_rows_were_rejected(make_raw, params):
    raw = make_raw({}, {"age": "31"}, {"age": "abc"})
    require_rows(_whole_file(raw, params, 2), params, minimum=2, source="in.csv")
    with pytest.raises(InputError) as info:
        require_rows(_whole_file(raw, params, 5, blocks=2), params, minimum=5, source="in.csv")
    assert str(info.value) == (
        "in.csv: 2 valid customer rows after cleaning (1 rejected of 3), expected at least 5; "
        "rejected: not_a_number 1; first rejected: row 3: age: not a number (a text of 3 characters)"
    )


@pytest.mark.parametrize("blocks", [1, 2])
def test_require_rows_refuses_a_feature_with_nothing_to_impute_from(make_raw, params, blocks):
    cleaner = _whole_file(make_raw({"income_slab": ""}, {"income_slab": "", "age": "31"}), params, 2, blocks)
    with pytest.raises(
        InputError, match=r"in.csv: column 'income_slab' has no value in any of the 2 valid rows"
    ):
        require_rows(cleaner, params, minimum=2, source="in.csv")


@pytest.mark.parametrize("blocks", [1, 3])
def test_require_rows_refuses_too_few_distinct_customers(make_raw, params, blocks):
    cleaner = _whole_file(make_raw({}, {}, {}), params, 2, blocks)
    with pytest.raises(
        InputError, match=r"only 1 distinct customers \(by feature values\) among 3 valid rows"
    ):
        require_rows(cleaner, params, minimum=2, source="in.csv")


def test_a_file_cleaned_in_blocks_is_the_file_cleaned_whole(make_raw, params):
    """Row numbers, duplicates across blocks and every quality count are those of one block."""
    rows = [{}, {"age": "250"}, {"customer_id": "C1"}, {"income_slab": "Huge"}, {"customer_id": "C1"}]
    raw = make_raw(*(rows * 3))
    whole = _clean(raw, params)
    cleaner = FileCleaner(params, source="in.csv")
    parts = [cleaner.clean(raw.iloc[block]) for block in np.array_split(np.arange(len(raw)), 4)]
    pd.testing.assert_frame_equal(pd.concat([p.kept for p in parts], ignore_index=True), whole.kept)
    pd.testing.assert_frame_equal(pd.concat([p.rejected for p in parts], ignore_index=True), whole.rejected)
    quality = cleaner.quality
    comparison = quality.pop("rejected_vs_kept")  # kept and rejected rows, over all blocks
    assert quality == whole.quality
    assert whole.quality["rejected_by_reason"]["duplicate_id"] >= 2
    assert whole.quality["rejected_by_column"] == {"age": 3, "customer_id": 5, "income_slab": 3}
    assert set(comparison["columns"]) == {"kyc_status"}


def test_ordinal_values_in_another_case_or_spacing_are_spelled_as_the_order(make_raw, params):
    """An export's ``low``, ``HIGH`` or ``medium`` is the order's Low, High or Medium; a value
    that is none of them, whatever its case, is still rejected."""
    raw = make_raw(
        {"income_slab": "low"},
        {"income_slab": "HIGH"},
        {"income_slab": "mEdium"},
        {"income_slab": "Low"},
        {"income_slab": "lowest"},
    )
    result = _clean(raw, params)
    assert result.kept["income_slab"].tolist() == ["Low", "High", "Medium", "Low"]
    assert result.rejected["reason"].tolist() == [
        "income_slab: unexpected value (a text of 6 characters); expected Low/Medium/High"
    ]


def test_values_of_an_order_in_words_match_whatever_their_spacing(make_raw, params):
    order = ("Very low", "Low", "High")
    features = replace(
        params.features,
        categorical=tuple(
            replace(f, order=order, words=()) if f.column == "income_slab" else f
            for f in params.features.categorical
        ),
    )
    raw = make_raw({"income_slab": "very  LOW"}, {"income_slab": "Very\tlow"}, {"income_slab": "verylow"})
    result = _clean(raw, replace(params, features=features))
    assert result.kept["income_slab"].tolist() == ["Very low", "Very low"]
    assert result.quality["rejected_by_column"] == {"income_slab": 1}


def test_too_many_rejected_rows_are_a_warning_naming_the_reasons_and_columns(make_raw, params):
    raw = make_raw({}, {"age": "250"}, {"income_slab": "Huge"}, {"income_slab": "Huge"}, {})
    quality = _clean(raw, params).quality
    assert rejection_warnings(quality, limit=0.6) == []
    [warning] = rejection_warnings(quality, limit=0.05)
    assert warning.startswith(
        "3 of 5 rows (60.0%) were rejected by the cleaning, more than gate.max_rejected_share (5.0%): "
        "out_of_range 1, unexpected_category 2; by column: income_slab 2, age 1. "
    )
    assert rejection_warnings({"rows_read": 0, "rows_rejected": 0}, limit=0.05) == []


@pytest.mark.parametrize(("value", "expected"), [("True", "Yes"), ("false", "No"), ("Y", "Yes"), ("n", "No")])
def test_yes_no_columns_accept_booleans_and_single_letters(make_raw, params, value, expected):
    result = _clean(make_raw({"sip_status": value}), params)
    assert result.kept["sip_status"].tolist() == [expected]


def test_numbers_parse_as_pandas_parses_them():
    rng = np.random.default_rng(7)
    digits = rng.integers(0, 10**15, 20_000).astype(str)
    points = rng.integers(0, 15, len(digits))
    plain = [
        d if p == 0 or p >= len(d) else f"{d[:-p]}.{d[-p:]}" for d, p in zip(digits, points, strict=True)
    ]
    odd = ["5.", "007", "0.10", ".5", "-3", "+4", "1e5", "1E-3", "inf", "-inf", "nan", "abc", "1.2.3", "",
           "12345678901234567890", "1234567890.123456789", "0x10", "٣"]  # fmt: skip
    values = pd.Series([*plain, *odd, None], dtype="string")
    expected = pd.to_numeric(values, errors="coerce").astype("float64")
    got = _to_number(values)
    assert got.index.equals(values.index)
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())  # NaN where pandas gives NaN
    assert got[: len(plain)].tolist() == [float(v) for v in plain]


def test_a_later_block_that_contradicts_the_decimal_mark_is_refused_or_rejected(make_raw, params):
    """The first block shows decimal points; a later one may not read 12,5 as 125 (refused), and
    a value with two points does not parse (rejected), never becoming another number."""
    cleaner = FileCleaner(params, source="in.csv")
    cleaner.clean(make_raw({"networth": "1500.50"}, {"networth": "200"}))
    later = cleaner.clean(make_raw({"customer_id": "3", "networth": "1.234.567"}))
    assert later.rejected["reason"].tolist() == ["networth: not a number ('1.234.567')"]
    with pytest.raises(
        InputError,
        match=r"in\.csv: row 4, networth is written with a decimal comma, but earlier rows use a decimal point",
    ):
        cleaner.clean(make_raw({"customer_id": "4", "networth": "12,5"}))
    comma = FileCleaner(params, source="in.csv")
    comma.clean(make_raw({"networth": "1500,50"}))
    with pytest.raises(
        InputError,
        match=r"row 2, networth is written with a decimal point, but earlier rows use a decimal comma",
    ):
        comma.clean(make_raw({"customer_id": "2", "networth": "12.5"}))


def test_a_missing_column_error_shows_the_other_columns_and_the_key_to_rename(params):
    """A renamed feature column: the error lists the file's non-personal columns (never the
    personal ones first), the closest names and the params key to edit, on one line."""
    raw = pd.DataFrame(
        {
            "customer_name": ["x"],
            "mobile_no": ["9"],
            "address": ["a"],
            "customer_pan_card_no": ["p"],
            "customer_adhar_card_no": ["q"],
            "date_of_birth": ["d"],
            "zip_code": ["z"],
            "kyc_number": ["k"],
            "customer_id": ["1"],
            "age_years": ["30"],
            "networth": ["1"],
        }
    )
    with pytest.raises(InputError) as info:
        clean_customers(raw, params, source="in.csv")
    message = str(info.value)
    assert message.startswith(
        "in.csv: required column 'age' is missing (11 columns in the file; closest: 'age_years'"
    )
    assert "columns found: customer_id, age_years, networth" in message
    assert "rename features.numeric.age in params.yaml" in message
    for personal in ("customer_name", "mobile_no", "address"):
        assert personal not in message
    assert "\n" not in message
