"""bankseg.data.reading: customer files are recognised by content and read as text, exactly."""

from __future__ import annotations

import gzip
import os
import threading
import zipfile

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bankseg.data import reading
from bankseg.data.reading import MALFORMED, read_customers
from bankseg.errors import InputError
from bankseg.io.atomic import write_csv, write_parquet

SMALL = pd.DataFrame(
    {"customer_id": ["1", "2"], "address": ["12\nMG Road", "H.No. 5, Rao Chowk"], "age": [30, 40]}
)


def _read_error(path, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        read_customers(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_read_csv_with_quoted_multi_line_fields(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer_id,address,age,note\n"
        '1,"12\nMG Road",30,NA\n'
        '2,"H.No. 5, ""Rao"" Chowk",,null\n'
        '007,"line one\nline two\nline three",45,\n',
        encoding="utf-8",
    )
    df = read_customers(path)
    assert list(df.columns) == ["customer_id", "address", "age", "note"]
    assert len(df) == 3
    assert df["address"].tolist() == ["12\nMG Road", 'H.No. 5, "Rao" Chowk', "line one\nline two\nline three"]
    # Everything stays text: leading zeros survive, "NA" and "null" are values, only "" is missing.
    assert df["customer_id"].tolist() == ["1", "2", "007"]
    assert df["age"].iloc[0] == "30"
    assert pd.isna(df["age"].iloc[1])
    assert df["note"].iloc[:2].tolist() == ["NA", "null"]
    assert pd.isna(df["note"].iloc[2])


def test_read_csv_with_crlf_line_ends(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_bytes(b'customer_id,address\r\n1,"a\r\nb"\r\n2,c\r\n')
    df = read_customers(path)
    assert df["customer_id"].tolist() == ["1", "2"]
    assert df["address"].iloc[1] == "c"
    assert df["address"].iloc[0].splitlines() == ["a", "b"]


def test_read_csv_selected_columns_ignores_unknown(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text('customer_id,address,age\n1,"x\ny",30\n', encoding="utf-8")
    df = read_customers(path, columns=["age", "customer_id", "not_there"])
    assert sorted(df.columns) == ["age", "customer_id"]
    assert df["age"].tolist() == ["30"]
    assert df.attrs["all_columns"] == ["customer_id", "address", "age"]


def test_generated_csv_round_trip(tmp_path, customers):
    path = tmp_path / "customers.csv"
    customers.to_csv(path, index=False)
    back = read_customers(path)
    assert list(back.columns) == list(customers.columns)
    assert (back.fillna("").to_numpy() == customers.to_numpy()).all()


def test_write_csv_output_is_read_back_unchanged(tmp_path, customers):
    path = tmp_path / "customers.csv"
    write_csv(customers, path)
    back = read_customers(path)
    assert (back.fillna("").to_numpy() == customers.to_numpy()).all()


def test_read_parquet_gives_text_as_a_csv_export_would(tmp_path):
    path = tmp_path / "c.parquet"
    write_parquet(SMALL, path)
    df = read_customers(path)
    assert df["address"].tolist() == SMALL["address"].tolist()
    assert df["age"].tolist() == ["30", "40"]
    selected = read_customers(path, columns=["age", "not_there"])
    assert list(selected.columns) == ["age"]


def test_parquet_whole_number_ids_with_a_gap_are_read_exactly(tmp_path):
    """pandas turns an integer column with a missing value into floats (20000.0, 1e+18)."""
    ids = pa.array([20000, None, 10**18, 7], type=pa.int64())
    floats = pa.array([20000.0, 1e18, float("nan"), 2.5])
    path = tmp_path / "ids.parquet"
    pq.write_table(
        pa.table({"customer_id": ids, "as_floats": floats, "flag": [True, False, None, True]}), path
    )
    df = read_customers(path)
    assert df["customer_id"].tolist()[0] == "20000"
    assert pd.isna(df["customer_id"].iloc[1])
    assert df["customer_id"].tolist()[2:] == ["1000000000000000000", "7"]
    assert df["as_floats"].tolist()[:2] == ["20000", "1000000000000000000"]
    assert pd.isna(df["as_floats"].iloc[2]) and df["as_floats"].iloc[3] == "2.5"
    assert df["flag"].tolist()[:2] == ["true", "false"]


def test_parquet_with_nested_values_is_refused_naming_the_column(tmp_path):
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"customer_id": ["1"], "tags": [[1, 2]]}), path)
    assert (
        _read_error(path)
        == f"{path}: column 'tags' holds values of type list<element: int64>, expected numbers or text"
    )


@pytest.mark.parametrize("separator", ["\n", "\u2028", "\x85", "\x0b"], ids=repr)
def test_a_column_name_with_a_line_break_is_shown_on_one_line(tmp_path, separator):
    """A header such as "sip<line separator>status" (the same column as sip_status) made the
    error two lines."""
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"customer_id": ["1"], f"sip{separator}status": [[1]]}), path)
    escaped = separator.encode("unicode_escape").decode()
    assert _read_error(path, columns=lambda c: True).splitlines() == [
        f"{path}: column 'sip{escaped}status' holds values of type list<element: int64>, expected numbers or text"
    ]
    csv_path = tmp_path / "twice.csv"
    csv_path.write_text(f'customer_id,"a{separator}b","a{separator}b"\n1,2,3\n', encoding="utf-8")
    assert _read_error(csv_path).splitlines() == [
        f"{csv_path}: the header names column 'a{escaped}b' twice (columns 2 and 3); expected each column once"
    ]


def test_read_parquet_uppercase_suffix(tmp_path):
    path = tmp_path / "C.PARQUET"
    write_parquet(SMALL, path)
    assert len(read_customers(path)) == 2


def test_missing_file_is_an_input_error_naming_it(tmp_path):
    path = tmp_path / "absent.csv"
    assert _read_error(path) == f"{path}: file not found"


@pytest.mark.parametrize("content", [b"", b"\n\n"], ids=["zero bytes", "blank lines"])
def test_empty_csv_is_an_input_error_naming_it(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    message = _read_error(path)
    assert message.startswith(f"{path}: ")
    assert "empty" in message


@pytest.mark.parametrize("content", [b"", b"this is not parquet"], ids=["zero bytes", "garbage"])
def test_unreadable_parquet_is_an_input_error_naming_it(tmp_path, content):
    path = tmp_path / "customers.parquet"
    path.write_bytes(content)
    message = _read_error(path)
    assert message.startswith(f"{path}: ")
    assert "parquet" in message.lower()


def test_a_latin_1_file_is_read_with_a_warning(tmp_path, caplog):
    path = tmp_path / "latin1.csv"
    path.write_bytes("customer_id,city\n1,Jos\xe9\n".encode("latin-1"))
    assert read_customers(path)["city"].tolist() == ["José"]
    assert "not UTF-8; read as Latin-1" in caplog.text


@pytest.mark.parametrize("name", ["customers.json", "customers"])
def test_unsupported_file_type_is_an_input_error_naming_it(tmp_path, name):
    path = tmp_path / name
    path.write_text("customer_id\n1\n", encoding="utf-8")
    message = _read_error(path)
    assert message.startswith(f"{path}: unsupported file type")
    assert ".csv or .parquet" in message


# --- files that are not plain UTF-8 CSV ----------------------------------------------------

TEXT = "customer_id\tage\tcity\n1\t30\tMünchen\n2\t41\tPune\n"


@pytest.mark.parametrize(
    "encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "utf-32"], ids=lambda e: e
)
def test_unicode_text_files_are_read(tmp_path, encoding):
    """Excel's "Unicode text" is UTF-16 with a byte order mark, tab-separated."""
    path = tmp_path / "export.txt"
    path.write_bytes(TEXT.encode(encoding))
    df = read_customers(path)
    assert list(df.columns) == ["customer_id", "age", "city"]
    assert df["city"].tolist() == ["München", "Pune"]


@pytest.mark.parametrize(
    ("content", "encoding", "byte"),
    [
        (b"\xff\xfe\x00\x00" + "id,age\n".encode("utf-32-le") + b"\x00\x00\x11\x00", "utf-32", 32),
        (
            b"\xff\xfe" + "id,age\n".encode("utf-16-le") + b"\x00\xd8" + "1,30\n".encode("utf-16-le"),
            "utf-16",
            16,
        ),
        (b"\xff\xfe" + "id,age\n1,30\n".encode("utf-16-le") + b"x", "utf-16", 26),
        (b"\xef\xbb\xbfid,age\n1,\xff30\n", "utf-8-sig", 12),
    ],
    ids=[
        "utf-32 code point out of range",
        "utf-16 lone surrogate",
        "utf-16 odd length",
        "utf-8 invalid byte",
    ],
)
def test_a_byte_order_mark_then_other_bytes_is_refused_in_one_line(tmp_path, content, encoding, byte):
    """The file was decoded strictly by its byte order mark, and the decoding error escaped
    as a traceback."""
    path = tmp_path / "customers.csv"
    path.write_bytes(content)
    assert _read_error(path) == (
        f"{path}: cannot be read as csv (not {encoding} text: byte {byte} cannot be decoded); save it as UTF-8"
    )


def test_gzip_is_refused_in_one_line(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_bytes(gzip.compress(b"customer_id,age\n1,30\n"))
    assert _read_error(path) == (
        f"{path}: a gzip-compressed file; decompress it first (gunzip), then read the .csv inside"
    )


def _workbook(path):
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("[Content_Types].xml", "<Types/>")
        book.writestr("xl/workbook.xml", "<workbook/>")
    return path


@pytest.mark.parametrize("name", ["customers.xlsx", "customers.csv"])
def test_an_excel_workbook_is_refused_saying_to_export_it_as_csv(tmp_path, name):
    message = _read_error(_workbook(tmp_path / name))
    assert "export" in message and "CSV" in message
    assert "PK" not in message


@pytest.mark.parametrize(
    "content",
    [bytes(range(256)) * 4, b"\x89PNG\r\n\x1a\n" + bytes(200), b"customer_id,age\n1,30\x00\x01\x02\n"],
    ids=["random bytes", "an image", "text with zero bytes"],
)
def test_other_binary_files_are_refused_as_not_text_without_their_bytes(tmp_path, content):
    path = tmp_path / "customers.csv"
    path.write_bytes(content)
    message = _read_error(path)
    assert "not a text file" in message
    assert "\\x" not in message and "PNG" not in message


def test_a_fifo_is_refused_instead_of_hanging(tmp_path):
    fifo = tmp_path / "customers.csv"
    os.mkfifo(fifo)
    errors = []
    worker = threading.Thread(target=lambda: errors.append(_read_error(fifo)), daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "reading a FIFO hangs"
    assert errors == [f"{fifo}: is a FIFO, not a regular file; expected a CSV or Parquet file"]


def test_a_folder_is_refused(tmp_path):
    folder = tmp_path / "customers.csv"
    folder.mkdir()
    assert "is a folder, not a regular file" in _read_error(folder)


# --- headers ----------------------------------------------------------------------------


def test_a_repeated_header_name_is_one_line(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("customer_id,age,Age,age\n1,2,3,4\n", encoding="utf-8")
    assert _read_error(path) == (
        f"{path}: the header names column 'age' twice (columns 2 and 4); expected each column once"
    )


def test_a_repeated_value_in_a_first_row_of_data_is_not_shown(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("1,Asha Rao,12 MG Road,12 MG Road,30\n2,Ravi,x,y,40\n", encoding="utf-8")
    message = _read_error(path)
    assert message == f"{path}: {reading.NO_HEADER}"
    assert "Asha" not in message and "MG Road" not in message


def test_a_header_over_the_column_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "MAX_COLUMNS", 5)
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(6)) + "\n" + ",".join("1" * 6) + "\n")
    assert _read_error(path) == f"{path}: 6 columns, expected at most 5; export only the columns needed"


def test_empty_header_names_get_a_placeholder(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("customer_id,age,,\n1,30,,\n", encoding="utf-8")
    assert read_customers(path).attrs["all_columns"] == ["customer_id", "age", "(column 3)", "(column 4)"]


# --- rows with the wrong number of fields ----------------------------------------------


def test_rows_with_more_or_fewer_fields_are_kept_apart_never_shifted(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        "customer_id,customer_name,age,city\n"
        "1,Asha,30,Pune\n"
        "2,Ravi Kumar,Mumbai\n"  # a field is missing: Mumbai must not become the age
        "3,Meera,41,Delhi,extra\n"  # one too many
        "4,12 MG Road, Pune,52,\n"  # an unquoted comma in the name and an empty last field
        "5,Joe,52,Goa\n",
        encoding="utf-8",
    )
    df = read_customers(path, columns=["customer_id", "age", "city"])
    assert df.attrs[MALFORMED] == {1: 3, 2: 5, 3: 5}  # the empty field counts: never a shift
    assert df["customer_id"].tolist()[0::4] == ["1", "5"]
    assert df.iloc[1:4].isna().all().all()
    assert df["age"].tolist()[4] == "52"


def test_malformed_rows_keep_their_record_numbers_across_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "BLOCK_ROWS", 3)
    path = tmp_path / "c.csv"
    rows = [f"{i},{i}" if i != 5 else "5" for i in range(1, 9)]
    path.write_text("customer_id,age\n" + "\n".join(rows) + "\n", encoding="utf-8")
    blocks = list(reading.python_csv_blocks(path, reading.sniff(path), lambda c: True))
    assert [len(b) for b in blocks] == [3, 3, 2]
    assert [b.attrs[MALFORMED] for b in blocks] == [{}, {1: 1}, {}]
    whole = read_customers(path)
    assert whole.attrs[MALFORMED] == {4: 1}


def test_the_broken_records_are_shared_by_every_frame_made_from_the_file(tmp_path):
    """pandas deep-copies ``attrs`` into the result of every operation: the broken records of
    a dirty file are one read-only mapping shared by them all, not copied at each step."""
    path = tmp_path / "c.csv"
    rows = [f"{i},{i}" if i % 3 else str(i) for i in range(1, 301)]
    path.write_text("customer_id,age\n" + "\n".join(rows) + "\n", encoding="utf-8")
    df = read_customers(path)
    broken = df.attrs[MALFORMED]
    assert len(broken) == 100 and broken[2] == 1
    derived = df.astype("string").apply(lambda s: s.str.strip())["age"].isna()
    assert derived.attrs[MALFORMED] is broken
    with pytest.raises(TypeError):
        broken[0] = 2  # read-only: sharing it is safe


def test_an_unterminated_quote_names_the_record(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text('customer_id,age\n1,30\n2,"40\n3,50\n', encoding="utf-8")
    assert _read_error(path) == (
        f"{path}: cannot be read as csv (unterminated quote: EOF inside string starting at row 2)"
    )


def test_blocks_end_to_end_are_the_whole_file(tmp_path, customers, monkeypatch):
    path = tmp_path / "customers.csv"
    customers.head(50).to_csv(path, index=False)
    whole = read_customers(path)
    monkeypatch.setattr(reading, "BLOCK_ROWS", 7)
    monkeypatch.setattr(reading, "READ_BYTES", 1000)
    for read in (reading.arrow_csv_blocks, reading.python_csv_blocks):
        blocks = list(read(path, reading.sniff(path), lambda c: True))
        assert [len(b) for b in blocks] == [7] * 7 + [1]
        pd.testing.assert_frame_equal(pd.concat(blocks, ignore_index=True), whole, check_index_type=False)


@pytest.mark.slow
def test_the_two_csv_readers_agree_on_the_bad_input_corpus(tiny_model_dir, tmp_path):
    """pyarrow's reader and Python's give the same frame for every file both can read."""
    import corpus

    new = pd.read_csv(tiny_model_dir / "new.csv", dtype=str, keep_default_na=False)
    base = corpus.valid_base(new, 40)
    compared = []
    for case in corpus.CASES:
        path = case.build(base, tmp_path / case.slug)
        try:
            fmt = reading.sniff(path)
        except InputError:
            continue
        if fmt is None:
            continue
        try:
            fast = pd.concat(reading.arrow_csv_blocks(path, fmt, lambda c: True), ignore_index=True)
        except reading.NotReadableInBlocks:
            continue
        slow = pd.concat(reading.python_csv_blocks(path, fmt, lambda c: True), ignore_index=True)
        pd.testing.assert_frame_equal(fast, slow, obj=path.name)
        compared.append(case.slug)
    assert {"semicolon_delimited", "tab_delimited", "latin_1_encoding", "utf_8_byte_order_mark"} <= set(
        compared
    ), compared


def test_looks_like_data():
    assert all(reading.looks_like_data(v) for v in ["30", "1,20,000", "₹5,000", "1979-12-03", "ABCPK1234F"])
    assert not any(reading.looks_like_data(v) for v in ["customer_id", "Net Worth", "age", "risk_2"])


def test_a_first_line_longer_than_a_megabyte_is_refused(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b"x" * (2 << 20) + b"\n1\n")
    assert _read_error(path) == f"{path}: the first line is longer than 1 MB; expected a header row"
