"""Assign on Spark: every customer scored with the saved scikit-learn model on the executors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sklearn.pipeline import Pipeline

from bankseg.engines.base import Assignment, DriftSample
from bankseg.engines.spark.session import collect_rows, map_frames, read_parquet
from bankseg.params import Params
from bankseg.segmentation.assignment import label_customers
from bankseg.segmentation.sampling import seeded_sample


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


def assign(
    spark: Any,
    *,
    customers: str | Path,
    new: str | Path,
    model: Pipeline,
    names: dict[int, str],
    params: Params,
    sample_size: int,
    random_state: int,
) -> Assignment:
    """The training ``customers`` labelled in Spark (written by Spark), the ``new`` ones as
    pandas, and seeded samples of ``sample_size`` of both for the drift report (every
    customer when they fit). The training customers are encoded again on the executors
    rather than matched row by row with featurize's output."""
    training = read_parquet(spark, customers)
    batch = read_parquet(spark, new)
    labelled_new = labelled(batch, model, names, params).toPandas()
    n_training, n_new = training.count(), len(labelled_new)
    training_s = collect_rows(training, seeded_sample(n_training, sample_size, random_state), n_training)
    new_rows = seeded_sample(n_new, sample_size, random_state)
    drift = DriftSample(
        training=training_s,
        new=collect_rows(batch, new_rows, n_new),
        training_segments=label_customers(model, names, training_s, params)["segment"],
        new_segments=labelled_new["segment"].iloc[new_rows].reset_index(drop=True),
        counts={"n_training": n_training, "n_new": n_new},
    )
    return Assignment(labelled(training, model, names, params), labelled_new, drift)
