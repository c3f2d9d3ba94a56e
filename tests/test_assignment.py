"""bankseg.segmentation.assignment: labelled customers and one frame per segment."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lock_file import record_outputs

from bankseg.data.cleaning import clean_customers
from bankseg.data.reading import read_customers
from bankseg.io.atomic import write_parquet
from bankseg.io.models import load_model
from bankseg.segmentation.assignment import label_customers, read_segment_names, split_by_segment
from bankseg.segmentation.encoding import feature_frame
from bankseg.segmentation.kmeans import assign_segments

NAMES = {0: "Young savers", 1: "Retirees", 2: "Affluent", 3: "Traders", 4: "Mid-career"}


@pytest.fixture(scope="module")
def labelled(cleaned, trained, params):
    model, _ = trained
    return label_customers(model, NAMES, cleaned.kept, params)


def test_label_customers_columns_and_values(cleaned, trained, params, labelled):
    model, _ = trained
    assert list(labelled.columns) == ["customer_id", "segment", "segment_name", "distance"]
    assert len(labelled) == len(cleaned.kept)
    assert labelled["customer_id"].tolist() == cleaned.kept["customer_id"].tolist()
    scored = assign_segments(model, cleaned.kept, params.features)
    assert labelled["segment"].tolist() == scored["segment"].tolist()
    assert labelled["segment_name"].tolist() == [NAMES[s] for s in scored["segment"]]
    assert np.allclose(labelled["distance"], scored["distance"], atol=5e-7)
    assert (labelled["distance"] == labelled["distance"].round(6)).all()
    assert labelled.index.equals(pd.RangeIndex(len(cleaned.kept)))


def test_only_the_id_column_identifies_customers(labelled):
    # No feature or profile column reaches the labelled output.
    assert not {"age", "networth", "kyc_status"} & set(labelled.columns)


def test_label_does_not_depend_on_the_batch(cleaned, trained, params, labelled):
    model, _ = trained
    picked = cleaned.kept.iloc[[10, 500, 1200]]
    alone = label_customers(model, NAMES, picked.iloc[::-1], params)
    expected = labelled.iloc[[1200, 500, 10]].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone, expected)


def test_label_no_customers(cleaned, trained, params):
    model, _ = trained
    empty = label_customers(model, NAMES, cleaned.kept.iloc[:0], params)
    assert list(empty.columns) == ["customer_id", "segment", "segment_name", "distance"]
    assert empty.empty


def test_split_by_segment_includes_empty_segments():
    labelled = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "segment": [1, 0, 1, 1],
            "segment_name": ["Retirees", "Young savers", "Retirees", "Retirees"],
            "distance": [0.5, 0.1, 0.2, 0.3],
        }
    )
    parts = split_by_segment(labelled, NAMES)
    assert list(parts) == [0, 1, 2, 3, 4]
    assert parts[0]["customer_id"].tolist() == ["b"]
    assert parts[1]["customer_id"].tolist() == ["a", "c", "d"]
    assert parts[1].index.tolist() == [0, 1, 2]
    for seg in (2, 3, 4):
        assert parts[seg].empty
        assert list(parts[seg].columns) == list(labelled.columns)


def test_split_by_segment_covers_every_customer_once(labelled):
    parts = split_by_segment(labelled, NAMES)
    assert sum(len(p) for p in parts.values()) == len(labelled)
    for seg, part in parts.items():
        assert (part["segment"] == seg).all()


def test_label_customers_with_their_features_already_encoded(cleaned, trained, params, labelled):
    """The assign stage passes the featurize stage's output: the labels are those of encoding again."""
    model, _ = trained
    encoded = model[:-1].transform(feature_frame(cleaned.kept, params.features))
    again = label_customers(model, NAMES, cleaned.kept, params, encoded=encoded)
    pd.testing.assert_frame_equal(again, labelled)


def test_read_segment_names_has_integer_keys():
    data = {"segments": {"1": {"name": "Retirees"}, "0": {"name": "Young savers", "size": 3}}}
    assert read_segment_names(data) == {1: "Retirees", 0: "Young savers"}


@pytest.mark.slow
def test_assign_stage_removes_segment_files_of_an_earlier_run(tmp_path, tiny_model_dir, params):
    """Run by hand (DVC empties the folder itself), the stage leaves no file of a vanished segment."""
    root = Path(__file__).resolve().parent.parent
    for name in ("model.skops", "segments.json", "params.yaml"):
        shutil.copy(tiny_model_dir / name, tmp_path / name)
    record_outputs(tmp_path, tmp_path / "model.skops")
    kept = clean_customers(read_customers(tiny_model_dir / "new.csv"), params, source="new.csv").kept
    write_parquet(kept, tmp_path / "new.parquet")
    model = load_model(tmp_path / "model.skops", root=tmp_path)
    write_parquet(model[:-1].transform(feature_frame(kept, params.features)), tmp_path / "features.parquet")
    folder = tmp_path / "by_segment"
    folder.mkdir()
    (folder / "segment_7.csv").write_text("left over\n")
    (folder / "notes.txt").write_text("not ours\n")
    args = ["--model", "model.skops", "--segments", "segments.json", "--customers", "new.parquet"]
    args += ["--features", "features.parquet"]
    args += ["--new", "new.parquet", "--out-customers", "a.csv", "--out-new", "b.csv"]
    args += ["--by-segment", "by_segment", "--drift", "drift.json"]
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "stages.assign", *args], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in folder.iterdir()) == [
        "notes.txt",
        "segment_0.csv",
        "segment_1.csv",
        "segment_2.csv",
    ]
    # Features out of step with the customers (files from different runs) are refused.
    write_parquet(pd.read_parquet(tmp_path / "features.parquet").iloc[1:], tmp_path / "features.parquet")
    before = (tmp_path / "a.csv").read_bytes()
    result = subprocess.run(
        [sys.executable, "-m", "stages.assign", *args], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: features.parquet: {len(kept) - 1} rows of features for the {len(kept)} customers of "
        "new.parquet, expected one per customer (run dvc repro)"
    ]
    assert (tmp_path / "a.csv").read_bytes() == before
