"""Stage assign on Spark: every customer scored with the saved scikit-learn model."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sklearn.pipeline import Pipeline

from bankseg.engines.spark.session import (
    collect_rows,
    map_frames,
    read_parquet,
    run_stage,
    write_single_csv,
)
from bankseg.io.atomic import read_json, write_csv, write_json
from bankseg.io.models import load_model
from bankseg.params import Params
from bankseg.reporting.drift import drift_report
from bankseg.segmentation.assignment import label_customers, read_segment_names, split_by_segment
from bankseg.segmentation.choosing_k import seeded_sample

log = logging.getLogger(__name__)

# --- assign ------------------------------------------------------------------------------


def labelled(df: Any, model: Pipeline, names: dict[int, str], params: Params) -> Any:
    """:func:`bankseg.segmentation.assignment.label_customers` run on the executors for every customer."""
    from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

    schema = StructType(
        [
            StructField(params.data.id_column, StringType()),
            StructField("segment", LongType()),
            StructField("segment_name", StringType()),
            StructField("distance", DoubleType()),
        ]
    )
    return map_frames(df, lambda pdf: label_customers(model, names, pdf, params), schema)


def run_assign(spark: Any, args: Any, params: Params) -> None:
    # Stages run in the project folder, where dvc.lock records the model.
    model = load_model(args.model, root=Path.cwd(), stage="assign")
    names = read_segment_names(read_json(args.segments))
    training = read_parquet(spark, args.customers)
    batch = read_parquet(spark, args.new)
    write_single_csv(labelled(training, model, names, params), args.out_customers)
    new = labelled(batch, model, names, params).toPandas()
    write_csv(new, args.out_new)
    for segment, part in split_by_segment(new, names).items():
        write_csv(part, Path(args.by_segment) / f"segment_{segment}.csv")
    # Drift on seeded samples of both (every customer when they fit in spark.sample_size).
    n_training, n_new = training.count(), len(new)
    size, seed = params.spark.sample_size, params.elbow.random_state
    training_s = collect_rows(training, seeded_sample(n_training, size, seed), n_training)
    new_rows = seeded_sample(n_new, size, seed)
    batch_s = collect_rows(batch, new_rows, n_new)
    drift = drift_report(
        training_s,
        batch_s,
        label_customers(model, names, training_s, params)["segment"],
        new["segment"].iloc[new_rows].reset_index(drop=True),
        names,
        params.features,
        params.drift,
    )
    drift |= {"n_training": n_training, "n_new": n_new}
    for warning in drift["warnings"]:
        log.warning("drift in the new customers: %s", warning)
    write_json(drift, args.drift)


def run(args: Any, params: Params) -> None:
    run_stage(run_assign, args, params)
