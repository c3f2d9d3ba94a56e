"""A small project folder for the dashboard tests, laid out like the repository after `dvc repro`.

params.yaml and models/model.skops (recorded in dvc.lock) from the `tiny_model_dir` fixture,
models/segments.json with automatic names, data/raw/new_customers.csv (its 200 new customers), reports/segments.json profiled
with bankseg.reporting.profiling on the tiny model's training customers, metrics/*.json (made-up figures, one
of each kind the status page shows: an unstable segment, a flagged protected column, an outcome,
and with ``with_drift`` a flagged feature drift), plots/elbow.json and plots/*.png.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from lock_file import record_outputs
from matplotlib.figure import Figure

from bankseg.data.cleaning import clean_customers
from bankseg.data.generate import generate_customers
from bankseg.io.atomic import save_figure, write_json
from bankseg.io.models import load_model
from bankseg.params import Params
from bankseg.reporting.formatting import Formatter, whole_columns
from bankseg.reporting.naming import name_segments
from bankseg.reporting.profiling import profile_segments, segment_effects
from bankseg.reporting.report import describe_segments
from bankseg.segmentation.kmeans import assign_segments

ASSIGNED_COLUMNS = ["customer_id", "segment", "segment_name", "distance"]


def build_project(folder: Path, tiny_model_dir: Path, params: Params, *, with_drift: bool = False) -> Path:
    """The project folder; ``with_drift`` adds metrics/drift.json (the assign stage's, absent
    otherwise, as before that stage ran)."""
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
        params.features,
        top_features=params.segments.top_features,
        min_effect=params.segments.min_effect,
        strong_effect=params.segments.strong_effect,
    ).names
    write_json(
        {"segments": {str(k): {"name": v} for k, v in names.items()}}, folder / "models" / "segments.json"
    )
    # The report's profile, as the analyze stage writes it: portraits and traits in plain words.
    profile = profile_segments(kept, segments, params.features, columns, names, effects)
    whole = whole_columns(kept, [f.column for f in params.features.numeric])
    formatter = Formatter(params.features, params.report, whole)
    profile = describe_segments(profile, params.features, formatter, strong=params.segments.strong_effect)
    write_json(profile | {"whole_numbers": whole}, folder / "reports" / "segments.json")
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
    shares = {str(k): round(int(v) / len(kept), 4) for k, v in sizes.items()}
    jaccard = {"0": 0.99, "1": 0.9, "2": 0.6}
    write_json(
        {
            "n_customers": len(kept),
            "n_segments": len(names),
            "segments": {
                str(k): {
                    "share": shares[str(k)],
                    "size": int(v),
                    "small": False,
                    "stability": jaccard[str(k)],
                }
                for k, v in sizes.items()
            },
        },
        folder / "metrics" / "segments.json",
    )
    write_json(
        {
            "mean_ari": 0.97,
            "threshold": 0.75,
            "segments": {k: {"jaccard": j, "stable": j >= 0.75} for k, j in jaccard.items()},
        },
        folder / "metrics" / "stability.json",
    )
    write_json(
        {"customers": {"rows_read": 1200, "rows_kept": len(kept), "rows_rejected": 1200 - len(kept)}},
        folder / "metrics" / "data_quality.json",
    )
    write_json(
        {
            "columns": {"nationality": {"association": 0.41, "flagged": True}},
            "threshold": 0.3,
            "used_as_features": [],
        },
        folder / "metrics" / "fairness.json",
    )
    write_json(
        {
            "max_association": 0.2,
            "outcomes": {
                "took_loan": {
                    "label": "took a loan",
                    "kind": "rate",
                    "association": 0.2,
                    "overall": 0.1,
                    "segments": {str(k): {"rate": 0.05 * (k + 1), "lift": 0.5 * (k + 1)} for k in names},
                }
            },
        },
        folder / "metrics" / "outcomes.json",
    )
    write_json(
        {
            "choices": {"silhouette": 3, "knee": 3, "gap": 4, "stable_silhouette": 3},
            "method": "stable_silhouette",
            "suggested_k": 3,
            "warnings": [],
        },
        folder / "metrics" / "elbow.json",
    )
    write_json(
        [
            {"k": k, "silhouette": s, "stability": t, "inertia": i}
            for k, s, t, i in [(2, 0.3, 0.99, 900.0), (3, 0.42, 0.97, 500.0), (4, 0.35, 0.8, 420.0)]
        ],
        folder / "plots" / "elbow.json",
    )
    if with_drift:
        write_json(
            {
                "psi": {"age": 0.31, "networth": 0.012, "sip_status": 0.15},
                "psi_threshold": 0.2,
                "new_share": {"0": 0.5, "1": 0.3, "2": 0.2},
                "share_change": {"0": 0.07, "1": -0.02, "2": -0.05},
                "share_threshold": 0.05,
            },
            folder / "metrics" / "drift.json",
        )
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
