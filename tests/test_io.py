"""bankseg.io: customer files are read as text, outputs are written atomically."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lock_file import record_outputs
from matplotlib.figure import Figure

from bankseg.errors import InputError
from bankseg.io import (
    atomic_path,
    csv_block_writer,
    load_model,
    parquet_block_writer,
    read_json,
    save_figure,
    save_model,
    write_csv,
    write_json,
    write_parquet,
    write_text,
)
from bankseg.segmentation.encoding import feature_frame

ROOT = Path(__file__).resolve().parent.parent

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


def test_model_round_trip(tmp_path):
    save_model({"weights": np.arange(3)}, tmp_path / "m.skops")
    record_outputs(tmp_path, tmp_path / "m.skops")
    loaded = load_model(tmp_path / "m.skops", root=tmp_path)
    assert loaded["weights"].tolist() == [0, 1, 2]


def test_load_missing_model_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"m\.skops: model not found; run the pipeline first \(dvc repro\)"):
        load_model(tmp_path / "m.skops", root=tmp_path)


# The tiny_model_dir fixture's model, trained and saved in a process of its own.
SAVE_TINY_MODEL = """
import sys
from dataclasses import replace

from bankseg.data.cleaning import clean_customers
from bankseg.segmentation.encoding import fit_preprocessing
from bankseg.data.generate import generate_customers
from bankseg.io import save_model
from bankseg.segmentation.kmeans import build_model, fit_kmeans
from bankseg.params import load_params

params = load_params(sys.argv[1])
raw, _ = generate_customers(600, seed=3)
kept = clean_customers(raw, params, source="train.csv").kept
preprocessing, X = fit_preprocessing(kept, params.features, params.featurize)
kmeans = fit_kmeans(X, n_clusters=3, params=replace(params.train, n_init=2))
save_model(build_model(preprocessing, kmeans), sys.argv[2])
"""


def test_saved_model_is_byte_identical_across_processes(tmp_path, tiny_model_dir):
    """skops numbers objects and names array files by id(obj) and dates entries; the saved
    archive is renumbered and dated 1980, so two processes (with different string hashing)
    save the same bytes, and the same as the fixture's."""
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", SAVE_TINY_MODEL, str(ROOT / "params.yaml"), str(tmp_path / f"{i}.skops")],
            env=env | {"PYTHONHASHSEED": str(seed)},
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, seed in enumerate((1, 2))
    ]
    for process in runs:
        assert process.wait(timeout=300) == 0, process.stderr.read()
    first, second = (tmp_path / "0.skops").read_bytes(), (tmp_path / "1.skops").read_bytes()
    assert first == second
    assert first == (tiny_model_dir / "model.skops").read_bytes()

    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        entries = archive.infolist()
        schema = archive.read("schema.json").decode()
    assert {(e.date_time, e.compress_type) for e in entries} == {((1980, 1, 1, 0, 0, 0), zipfile.ZIP_STORED)}
    assert entries[-1].filename == "schema.json"
    arrays = [int(e.filename.removesuffix(".npy")) for e in entries[:-1]]
    assert arrays == sorted(arrays)
    # Ids and array files numbered 1, 2, ... in order of first appearance (an array's file
    # carries its node's id).
    numbers = [int(n) for n in dict.fromkeys(re.findall(r'"(?:__id__":|file":")(\d+)', schema))]
    assert numbers == list(range(1, len(numbers) + 1))
    assert set(arrays) <= set(numbers)


def test_loaded_model_predicts_exactly_as_the_saved_one(tmp_path, trained, cleaned, params):
    model, _ = trained
    save_model(model, tmp_path / "model.skops")
    record_outputs(tmp_path, tmp_path / "model.skops")
    loaded = load_model(tmp_path / "model.skops", root=tmp_path)
    assert loaded is not model
    X = feature_frame(cleaned.kept, params.features)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
    pd.testing.assert_frame_equal(loaded[:-1].transform(X), model[:-1].transform(X))
    # Saving the loaded model again gives the same file.
    save_model(loaded, tmp_path / "again.skops")
    assert (tmp_path / "again.skops").read_bytes() == (tmp_path / "model.skops").read_bytes()


def test_save_figure_writes_png(tmp_path):
    save_figure(_figure(), tmp_path / "f.png")
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_save_figure_is_byte_identical_for_the_same_figure(tmp_path):
    save_figure(_figure(), tmp_path / "1.png")
    save_figure(_figure(), tmp_path / "2.png")
    assert (tmp_path / "1.png").read_bytes() == (tmp_path / "2.png").read_bytes()


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
