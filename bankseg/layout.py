"""Where the pipeline keeps its files, relative to the project folder.

These are the paths ``dvc.yaml`` gives its stages (``tests/test_layout.py`` checks that each
stage declares exactly the outputs listed in :data:`OUTPUTS`), named once for the code that
reads them afterwards: the command line, the quality gate and the dashboard. The stage scripts
take every path as an argument from ``dvc.yaml``.

This module imports nothing, so the command line can show its help without loading pandas.
"""

from __future__ import annotations

PARAMS = "params.yaml"
METRICS_FOLDER = "metrics"

# generate
GENERATED_CUSTOMERS = "data/raw/customers.csv"
GENERATED_NEW = "data/raw/new_customers.csv"
GENERATED_PERSONAS = "data/raw/customers_personas.csv"

# prepare
PREPARED_CUSTOMERS = "data/prepared/customers.parquet"
PREPARED_NEW = "data/prepared/new_customers.parquet"
REJECTED = "data/prepared/rejected.csv"
DATA_QUALITY = "metrics/data_quality.json"

# featurize
PREPROCESSING = "models/preprocessing.skops"
FEATURES = "data/features/customers.parquet"

# elbow
ELBOW_SCORES = "plots/elbow.json"
ELBOW_PLOT = "plots/elbow.png"
ELBOW_METRICS = "metrics/elbow.json"

# train
MODEL = "models/model.skops"
SEGMENTS = "models/segments.json"
TRAIN_METRICS = "metrics/train.json"
STABILITY = "metrics/stability.json"

# assign
ASSIGNED_CUSTOMERS = "data/assigned/customers.csv"
ASSIGNED_NEW = "data/assigned/new_customers.csv"
ASSIGNED_NEW_BY_SEGMENT = "data/assigned/new_by_segment"
DRIFT = "metrics/drift.json"

# analyze
REPORT = "reports/segments.md"
REPORT_HTML = "reports/segments.html"
PROFILES = "reports/segments.json"
PROFILE_PLOT = "plots/segment_profile.png"
DISTRIBUTIONS_PLOT = "plots/distributions.png"
PROJECTION_PLOT = "plots/projection.png"
SEGMENT_METRICS = "metrics/segments.json"
FAIRNESS = "metrics/fairness.json"
OUTCOMES = "metrics/outcomes.json"

# python -m bankseg migration: a command, not a stage (dvc.yaml declares none of these).
MIGRATION_FOLDER = "reports/migration"
MIGRATION_METRICS = "metrics/migration.json"
# The files of the migration folder; one CSV per flow of customers: flow_<from>_to_<to>.csv.
MIGRATION_FILES: dict[str, str] = {
    "transitions": "transitions.csv",
    "matrix": "transition_matrix.csv",
    "heatmap": "transitions.png",
    "summary": "summary.md",
    "flow_prefix": "flow_",
}

# What the commands write by default, beside the stages' outputs.
COMMAND_OUTPUTS: dict[str, tuple[str, ...]] = {"migration": (MIGRATION_FOLDER, MIGRATION_METRICS)}

# What each stage of dvc.yaml writes (its outs and metrics).
OUTPUTS: dict[str, tuple[str, ...]] = {
    "generate": (GENERATED_CUSTOMERS, GENERATED_NEW, GENERATED_PERSONAS),
    "prepare": (PREPARED_CUSTOMERS, PREPARED_NEW, REJECTED, DATA_QUALITY),
    "featurize": (PREPROCESSING, FEATURES),
    "elbow": (ELBOW_SCORES, ELBOW_PLOT, ELBOW_METRICS),
    "train": (MODEL, SEGMENTS, TRAIN_METRICS, STABILITY),
    "assign": (ASSIGNED_CUSTOMERS, ASSIGNED_NEW, ASSIGNED_NEW_BY_SEGMENT, DRIFT),
    "analyze": (
        REPORT,
        REPORT_HTML,
        PROFILES,
        PROFILE_PLOT,
        DISTRIBUTIONS_PLOT,
        PROJECTION_PLOT,
        SEGMENT_METRICS,
        FAIRNESS,
        OUTCOMES,
    ),
}
