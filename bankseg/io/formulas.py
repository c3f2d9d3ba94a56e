"""Text a spreadsheet would run as a formula, neutralised before it is written to CSV.

A cell starting with ``= + - @``, tab or carriage return is run by Excel, LibreOffice and
Google Sheets when the file is opened; such cells get a leading apostrophe. Plain numbers
such as ``-1`` are left as they are.
"""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
_ASCII_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with an apostrophe.

    Cells starting with ``= + - @``, tab or carriage return are neutralised; plain numbers
    such as ``-1`` are left as they are.
    """
    out = df.copy()
    for column in out.columns:
        if out[column].dtype.kind not in "OSU" and not pd.api.types.is_string_dtype(out[column]):
            continue
        text = out[column].astype("string")
        starts = text.str.startswith(FORMULA_START).fillna(False)
        if not starts.any():  # the usual case: skip the slower number test
            continue
        risky = starts & ~text.str.match(_PLAIN_NUMBER).fillna(False)
        if risky.any():
            out[column] = out[column].astype(object).where(~risky, "'" + text[risky].astype(object))
    return out


def has_formulas(table: pa.Table) -> bool:
    """Whether any text cell starts like a spreadsheet formula (checked in Arrow, without Python strings)."""
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            starts = pc.is_in(pc.utf8_slice_codeunits(column, 0, 1), value_set=pa.array(FORMULA_START))
            if pc.any(starts).as_py():
                # Few cells start so; plain ASCII numbers such as -1 are left alone anyway.
                candidates = pc.filter(column, pc.fill_null(starts, False)).to_pylist()
                if not all(_ASCII_NUMBER.fullmatch(v) for v in candidates):
                    return True
    return False
