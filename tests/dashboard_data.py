"""A small project folder for the dashboard tests, laid out like the repository after `dvc repro`.

params.yaml and models/model.skops (recorded in dvc.lock) from the `tiny_model_dir` fixture,
models/segments.json with automatic names, data/raw/new_customers.csv (its 200 new customers), reports/segments.json profiled
with bankseg.profiling on the tiny model's training customers, metrics/*.json and plots/*.png.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from lock_file import record_outputs
from matplotlib.figure import Figure

from bankseg.cleaning import clean_customers
from bankseg.generate import generate_customers
from bankseg.io import load_model, save_figure, write_json
from bankseg.model import assign_segments
from bankseg.params import Params
from bankseg.profiling import name_segments, profile_segments, segment_effects

ASSIGNED_COLUMNS = ["customer_id", "segment", "segment_name", "distance"]


def build_project(folder: Path, tiny_model_dir: Path, params: Params) -> Path:
    (folder / "models").mkdir(parents=True)
    for name in ("model.skops", "segments.json"):
        shutil.copy(tiny_model_dir / name, folder / "models" / name)
    record_outputs(folder, folder / "models" / "model.skops")
    shutil.copy(tiny_model_dir / "params.yaml", folder / "params.yaml")
    (folder / "data" / "raw").mkdir(parents=True)
    shutil.copy(tiny_model_dir / "new.csv", folder / "data" / "raw" / "new_customers.csv")

    # The tiny model's training customers (see tiny_model_dir), profiled like the analyze stage.
    raw, _ = generate_customers(600, seed=3)
    kept = clean_customers(raw, params, source="train.csv").kept
    model = load_model(folder / "models" / "model.skops", root=folder)
    segments = assign_segments(model, kept, params.features)["segment"]
    columns = list(params.prepare.profile_columns)
    effects = segment_effects(kept, segments, params.features, columns)
    # Automatic names, as the train stage gives them (the fixture's own are placeholders).
    names = name_segments(
        effects,
        top_features=params.segments.top_features,
        overrides={},
        min_effect=params.segments.min_effect,
    )
    write_json(
        {"segments": {str(k): {"name": v} for k, v in names.items()}}, folder / "models" / "segments.json"
    )
    write_json(
        profile_segments(kept, segments, params.features, columns, names, effects),
        folder / "reports" / "segments.json",
    )
    sizes = segments.value_counts().sort_index()
    write_json(
        {
            "n_clusters": len(names),
            "n_customers": len(kept),
            "silhouette": 0.42,
            "segment_sizes": {str(k): int(v) for k, v in sizes.items()},
        },
        folder / "metrics" / "train.json",
    )
    write_json({"mean_ari": 0.97, "segments": {}}, folder / "metrics" / "stability.json")
    for name in ("elbow", "segment_profile"):
        fig = Figure(figsize=(2, 1))
        fig.subplots().plot([1, 2, 3], [3, 1, 2])
        save_figure(fig, folder / "plots" / f"{name}.png")
    return folder


def upload_customers(n: int = 60, *, seed: int = 21) -> pd.DataFrame:
    """Raw customers in the export format, with ids a spreadsheet would run as formulas."""
    raw, _ = generate_customers(n, seed=seed, first_id=70000)
    raw["customer_id"] = raw["customer_id"].astype(str)
    raw.loc[0, "customer_id"] = "=1+1"
    raw.loc[1, "customer_id"] = "-2+3"
    raw.loc[2, "customer_id"] = "@SUM(A1:A9)"
    return raw
