"""The four Spark stages run in pipeline order, for the Spark tests (in-process and on a cluster).

Each stage runs with the working directory in the folder of the model it loads, as DVC runs
stages in the project folder, and the models are recorded in that folder's dvc.lock.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lock_file import record_outputs


def spark_train(spark: Any, inputs: Path, features: Path, out: Path, params: Any) -> None:
    """The Spark train stage on ``features``, with the other inputs of ``inputs``; outputs to ``out``."""

    with contextlib.chdir(inputs):
        spark_train.run_train(
            spark,
            SimpleNamespace(
                customers=inputs / "customers.parquet",
                features=features,
                preprocessing=inputs / "preprocessing.skops",
                elbow=inputs / "elbow.json",
                reference=inputs / "reference.json",
                model=out / "model.skops",
                segments=out / "segments.json",
                metrics=out / "train.json",
                stability=out / "stability.json",
            ),
            params,
        )


def run_spark_stages(spark: Any, inputs: Path, out: Path, params: Any) -> None:
    """featurize, elbow, train and assign on ``inputs/{customers,new}.parquet`` (and
    ``inputs/reference.json``); every output goes to ``out``."""
    from bankseg import spark_assign, spark_elbow, spark_featurize

    spark_featurize.run_featurize(
        spark,
        SimpleNamespace(
            customers=inputs / "customers.parquet",
            preprocessing=out / "preprocessing.skops",
            features=out / "features.parquet",
        ),
        params,
    )
    record_outputs(out, out / "preprocessing.skops", stage="featurize")
    spark_elbow.run_elbow(
        spark,
        SimpleNamespace(
            features=out / "features.parquet",
            scores=out / "elbow_scores.json",
            figure=out / "elbow.png",
            metrics=out / "elbow.json",
        ),
        params,
    )
    (out / "customers.parquet").write_bytes((inputs / "customers.parquet").read_bytes())
    (out / "reference.json").write_bytes((inputs / "reference.json").read_bytes())
    spark_train(spark, out, out / "features.parquet", out, params)
    record_outputs(out, out / "model.skops", stage="train")
    with contextlib.chdir(out):
        spark_assign.run_assign(
            spark,
            SimpleNamespace(
                model=out / "model.skops",
                segments=out / "segments.json",
                customers=inputs / "customers.parquet",
                new=inputs / "new.parquet",
                out_customers=out / "assigned.csv",
                out_new=out / "assigned_new.csv",
                by_segment=out / "by_segment",
                drift=out / "drift.json",
            ),
            params,
        )
