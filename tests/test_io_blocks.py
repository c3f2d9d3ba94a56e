"""bankseg.io.blocks: a file written a block at a time is the file of all blocks at once."""

from __future__ import annotations

import pandas as pd
import pytest

from bankseg.io.atomic import write_csv, write_parquet
from bankseg.io.blocks import csv_block_writer, parquet_block_writer


def test_block_writers_write_the_file_of_all_blocks_at_once(tmp_path):
    """Blocks go end to end; a column empty in the first block is text, as in later ones."""
    first = pd.DataFrame({"id": ["1", "2"], "note": [None, None], "x": [1.5, 2.0]})
    second = pd.DataFrame({"id": ["3"], "note": ["=SUM(A1)"], "x": [3.0]})
    with parquet_block_writer(tmp_path / "blocks.parquet") as write:
        write(first)
        write(second)
    whole = pd.concat([first, second], ignore_index=True)
    write_parquet(whole, tmp_path / "whole.parquet")
    blocks, at_once = (pd.read_parquet(tmp_path / f"{name}.parquet") for name in ("blocks", "whole"))
    pd.testing.assert_frame_equal(blocks, at_once)
    with csv_block_writer(tmp_path / "blocks.csv") as write:
        write(first)
        write(second)
    write_csv(whole, tmp_path / "whole.csv")
    assert (tmp_path / "blocks.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert b"'=SUM(A1)" in (tmp_path / "blocks.csv").read_bytes()


def test_block_writers_leave_no_file_when_writing_fails(tmp_path):
    (tmp_path / "out.csv").write_text("earlier\n")
    with pytest.raises(RuntimeError), csv_block_writer(tmp_path / "out.csv") as write:
        write(pd.DataFrame({"id": ["1"]}))
        raise RuntimeError("stopped half-way")
    assert (tmp_path / "out.csv").read_text() == "earlier\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
