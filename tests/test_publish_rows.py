"""bankseg.io.publication: the rows ``publish`` writes and the identity of a run, without a database;
and ``publish --help`` answering without loading a database library."""

from __future__ import annotations

import pandas as pd
import pytest
from test_help import HEAVY, _probe

from bankseg.errors import InputError
from bankseg.io.publication import PUBLISHED_COLUMNS, Run, published_rows, row_records, run_id, table_name


def _assigned(**columns) -> pd.DataFrame:
    base = {
        "customer_id": ["7", "8", "9"],
        "segment": [0, 1, 0],
        "segment_name": ["Savers", "Investors", "Savers"],
        "distance": [0.5, 1.25, 2.0],
    }
    return pd.DataFrame(base | columns)


def test_run_id_depends_on_both_files_and_nothing_else():
    assert run_id("a" * 32, "b" * 32) == run_id("a" * 32, "b" * 32)
    assert len({run_id("a" * 32, "b" * 32), run_id("a" * 32, "c" * 32), run_id("c" * 32, "b" * 32)}) == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [("segments", (None, "segments")), ("analytics.bank_segments_2", ("analytics", "bank_segments_2"))],
)
def test_table_names(text, expected):
    assert table_name(text) == expected


@pytest.mark.parametrize(
    "text", ["Segments", "seg-ments", "1segments", "a.b.c", "x" * 56, "", "s; DROP TABLE t"]
)
def test_table_names_that_would_need_quoting_are_refused(text):
    with pytest.raises(InputError, match="expected a table name of lower-case letters"):
        table_name(text)


def test_published_rows_keep_only_the_four_columns():
    rows = published_rows(_assigned(), id_column="customer_id")
    assert list(rows.columns) == ["customer_id", "segment", "segment_name", "distance"]
    assert rows["customer_id"].tolist() == ["7", "8", "9"]
    run = Run(run_id="r1", model_md5="m" * 32, assigned_md5="a" * 32, git_revision="abc", customers=3)
    records = row_records(rows, run, "2026-01-01")
    assert list(records[0]) != [] and set(records[0]) == set(PUBLISHED_COLUMNS)
    assert records[1] == {
        "run_id": "r1",
        "customer_id": "8",
        "segment": 1,
        "segment_name": "Investors",
        "distance": 1.25,
        "model_md5": "m" * 32,
        "git_revision": "abc",
        "run_time": "2026-01-01",
    }


def test_an_assigned_file_with_other_columns_is_refused():
    with pytest.raises(InputError, match="expected customer_id, segment, segment_name, distance"):
        published_rows(_assigned(customer_name=["A B", "C D", "E F"]), id_column="customer_id")


@pytest.mark.parametrize(
    ("id_column", "values", "personal", "message"),
    [
        ("customer_name", ["7", "8", "9"], ("customer_name",), "is personal data"),
        ("mobile_no", ["7", "8", "9"], (), "its name says a phone number"),
        ("client_ref", ["9876543210", "9123456789", "8899001122"], (), "look like personal identifiers"),
    ],
)
def test_a_personal_id_column_is_never_published(id_column, values, personal, message):
    assigned = _assigned().rename(columns={"customer_id": id_column}).assign(**{id_column: values})
    with pytest.raises(InputError, match=message):
        published_rows(assigned, id_column=id_column, personal_columns=personal)
    # prepare.not_personal clears the heuristics, never the list.
    if not personal:
        assert len(published_rows(assigned, id_column=id_column, not_personal=(id_column,))) == 3


def test_missing_and_repeated_ids_are_refused():
    with pytest.raises(InputError, match="1 rows without an id"):
        published_rows(_assigned(customer_id=["7", "", "9"]), id_column="customer_id")
    with pytest.raises(InputError, match="1 ids appear more than once"):
        published_rows(_assigned(customer_id=["7", "7", "9"]), id_column="customer_id")


@pytest.mark.slow
def test_publish_help_loads_no_heavy_or_database_library():
    output, code, packages = _probe("bankseg", "publish", "--help")
    assert code == 0 and output.startswith("usage: python -m bankseg publish")
    assert "--conn" in output and "--table" in output
    assert not {*HEAVY, "sqlalchemy", "psycopg"} & set(packages)
