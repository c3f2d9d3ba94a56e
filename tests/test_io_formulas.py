"""bankseg.io.formulas: text a spreadsheet would run as a formula is neutralised in CSV files."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from bankseg.io.atomic import write_csv
from bankseg.io.formulas import has_formulas, neutralise_formulas


def test_write_csv_neutralises_spreadsheet_formulas(tmp_path):
    frame = pd.DataFrame(
        {
            "name": ["=HYPERLINK(1)", "+91 98", "-cmd", "@SUM(A1)", "\tTab", "Asha", "-1", "-2.5e3"],
            "amount": [-1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
        }
    )
    path = tmp_path / "out.csv"
    write_csv(frame, path)
    back = pd.read_csv(path, dtype={"name": str})
    assert back["name"].tolist() == [
        "'=HYPERLINK(1)",
        "'+91 98",
        "'-cmd",
        "'@SUM(A1)",
        "'\tTab",
        "Asha",
        "-1",
        "-2.5e3",
    ]
    assert back["amount"].tolist() == frame["amount"].tolist()
    assert frame["name"].iloc[0] == "=HYPERLINK(1)"  # the caller's frame is not changed


@pytest.mark.parametrize(
    ("cells", "found", "changed"),
    [
        (["Asha", "-1", "+2.5", "-.5e3", None], False, False),
        (["Asha", "=1+1"], True, True),
        (["-cmd"], True, True),
        (["\tTab"], True, True),
        (["१२"], False, False),
        # Digits of another script: the Arrow check looks further, the neutralising keeps it.
        (["-١٢"], True, False),
    ],
)
def test_the_arrow_check_finds_every_cell_the_neutralising_changes(cells, found, changed):
    """has_formulas (on Arrow tables, for the block writers) is true whenever
    neutralise_formulas would change a cell, so no formula reaches a CSV unneutralised."""
    table = pa.table({"text": pa.array(cells, pa.string()), "number": pa.array(range(len(cells)))})
    assert has_formulas(table) is found
    frame = table.to_pandas()
    assert (not neutralise_formulas(frame).equals(frame)) is changed
