"""bankseg.io.atomic: every output is written atomically; the pipeline's JSON is read back."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from bankseg.errors import InputError
from bankseg.io.atomic import (
    atomic_path,
    read_json,
    save_figure,
    write_csv,
    write_json,
    write_parquet,
    write_text,
)
from bankseg.io.models import save_model

SMALL = pd.DataFrame(
    {"customer_id": ["1", "2"], "address": ["12\nMG Road", "H.No. 5, Rao Chowk"], "age": [30, 40]}
)


def _figure():
    fig = Figure(figsize=(2, 2))
    fig.subplots().plot([0, 1, 2], [2, 0, 1])
    return fig


WRITERS = {
    "json": (lambda p: write_json({"a": 1}, p), "out.json"),
    "text": (lambda p: write_text("hello\n", p), "out.txt"),
    "csv": (lambda p: write_csv(SMALL, p), "out.csv"),
    "parquet": (lambda p: write_parquet(SMALL, p), "out.parquet"),
    "model": (lambda p: save_model({"weights": [1, 2]}, p), "out.skops"),
    "figure": (lambda p: save_figure(_figure(), p), "out.png"),
}


@pytest.mark.parametrize(("write", "name"), WRITERS.values(), ids=WRITERS.keys())
def test_writers_leave_only_the_target_file(tmp_path, write, name):
    target = tmp_path / "nested" / "folder" / name
    write(target)
    assert sorted(os.listdir(target.parent)) == [name]
    assert target.stat().st_size > 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_atomic_path_failure_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "result.txt"
    target.write_text("old", encoding="utf-8")
    seen = []
    with pytest.raises(RuntimeError, match="killed"), atomic_path(target) as tmp:
        seen.append(tmp)
        assert tmp.parent == tmp_path
        assert tmp != target
        tmp.write_text("half written", encoding="utf-8")
        raise RuntimeError("killed")
    assert target.read_text(encoding="utf-8") == "old"
    assert not seen[0].exists()
    assert os.listdir(tmp_path) == ["result.txt"]


def test_atomic_path_removes_temporaries_left_by_a_killed_run(tmp_path):
    target = tmp_path / "out.csv"
    stale = tmp_path / ".out.csv.abc123.tmp"
    stale.write_text("half")
    other = tmp_path / ".other.csv.abc123.tmp"
    other.write_text("another file's temporary")
    with atomic_path(target) as tmp:
        tmp.write_text("done")
    assert target.read_text() == "done"
    assert not stale.exists()
    assert other.exists()


def test_atomic_path_replaces_an_existing_file(tmp_path):
    target = tmp_path / "result.txt"
    target.write_text("old", encoding="utf-8")
    write_text("new", target)
    assert target.read_text(encoding="utf-8") == "new"
    assert os.listdir(tmp_path) == ["result.txt"]


def test_write_json_is_sorted_rounded_and_nan_is_null(tmp_path):
    path = tmp_path / "m.json"
    data = {
        "b": 1.234567,
        "a": [np.float64("nan"), float("inf"), -np.inf, np.int64(3), np.float32(0.5)],
        "c": {2: np.float64(1 / 3), 1: True},
        "d": (1.00001, "text"),
    }
    write_json(data, path)
    text = path.read_text(encoding="utf-8")
    assert text == (
        "{\n"
        '  "a": [\n    null,\n    null,\n    null,\n    3,\n    0.5\n  ],\n'
        '  "b": 1.2346,\n'
        '  "c": {\n    "1": true,\n    "2": 0.3333\n  },\n'
        '  "d": [\n    1.0,\n    "text"\n  ]\n'
        "}\n"
    )
    assert "NaN" not in text
    assert "Infinity" not in text


def test_write_json_digits(tmp_path):
    path = tmp_path / "m.json"
    write_json({"x": 2.71828, "nested": [{"y": 0.123456}]}, path, digits=2)
    assert json.loads(path.read_text(encoding="utf-8")) == {"x": 2.72, "nested": [{"y": 0.12}]}


def test_write_json_is_byte_identical_for_the_same_data_in_another_order(tmp_path):
    write_json({"b": 1, "a": {"y": 2.0, "x": 1.0}}, tmp_path / "1.json")
    write_json({"a": {"x": 1.0, "y": 2.0}, "b": 1}, tmp_path / "2.json")
    assert (tmp_path / "1.json").read_bytes() == (tmp_path / "2.json").read_bytes()


def test_read_json_round_trip(tmp_path):
    write_json({"segments": {"0": {"name": "Young, no SIP"}}}, tmp_path / "s.json")
    assert read_json(tmp_path / "s.json") == {"segments": {"0": {"name": "Young, no SIP"}}}


def test_read_json_missing_file_names_it(tmp_path):
    with pytest.raises(InputError, match="s.json: file not found"):
        read_json(tmp_path / "s.json")


def test_read_json_invalid_names_the_file_and_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "a": 1,\n  oops\n}\n', encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_json(path)
    assert str(info.value).startswith(f"{path}: not valid JSON")
    assert "line 3" in str(info.value)


def test_save_figure_writes_png(tmp_path):
    save_figure(_figure(), tmp_path / "f.png")
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_save_figure_is_byte_identical_for_the_same_figure(tmp_path):
    save_figure(_figure(), tmp_path / "1.png")
    save_figure(_figure(), tmp_path / "2.png")
    assert (tmp_path / "1.png").read_bytes() == (tmp_path / "2.png").read_bytes()
