"""bankseg.io.models: a model is saved as the same bytes every time and loaded back unchanged."""

from __future__ import annotations

import ast
import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lock_file import record_outputs

from bankseg.errors import InputError
from bankseg.io.models import load_model, save_model
from bankseg.segmentation.encoding import feature_frame

ROOT = Path(__file__).resolve().parent.parent


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
from bankseg.io.models import save_model
from bankseg.segmentation.kmeans import build_model, fit_kmeans
from bankseg.params import load_params

params = load_params(sys.argv[1])
raw, _ = generate_customers(600, seed=3)
kept = clean_customers(raw, params, source="train.csv").kept
preprocessing, X = fit_preprocessing(kept, params.features, params.featurize)
kmeans = fit_kmeans(X, n_clusters=3, params=replace(params.train, n_init=2))
save_model(build_model(preprocessing, kmeans), sys.argv[2])
"""


@pytest.mark.slow
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


def _imports_in_order(function: ast.FunctionDef) -> list[str]:
    names: list[tuple[int, str]] = []  # (line, module)
    for node in ast.walk(function):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append((node.lineno, node.module))
    return [name for _, name in sorted(names)]


def test_entry_points_that_load_or_save_models_import_scipy_special_first():
    """The stages and commands that load or save models import scipy.special before any other
    library: skops.io's import searches the modules loaded before it (see bankseg/io/models.py)."""
    checked = []
    for path in [*sorted((ROOT / "stages").glob("*.py")), ROOT / "bankseg" / "cli.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            imports = _imports_in_order(node)
            if "bankseg.io.models" not in imports or node.name == "publish_command":
                continue  # publish reads one model per run, after pandas
            third_party = [name for name in imports if name.split(".")[0] not in sys.stdlib_module_names]
            assert third_party[0] == "scipy.special", (
                f"{path.name}:{node.name} imports {third_party[0]} first"
            )
            checked.append(f"{path.stem}.{node.name}")
    assert sorted(checked) == ["assign.main", "cli.assign_command", "featurize.main", "train.main"]
