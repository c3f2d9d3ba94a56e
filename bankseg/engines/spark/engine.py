"""The Apache Spark engine (``engine: spark``): :class:`bankseg.engines.base.Engine` on pyspark."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import numpy as np
from sklearn.pipeline import Pipeline

from bankseg.engines.base import Assignment, Engine, Featurized
from bankseg.engines.spark.assign import assign as assign_on_spark
from bankseg.engines.spark.elbow import elbow_sample as elbow_sample_on_spark
from bankseg.engines.spark.featurize import fit_preprocessing as fit_preprocessing_on_spark
from bankseg.engines.spark.session import (
    SparkFeatures,
    read_parquet,
    spark_session,
    write_single_csv,
    write_single_parquet,
)
from bankseg.engines.spark.train import train as train_on_spark
from bankseg.engines.training import TrainedSegments
from bankseg.params import FeatureParams, FeaturizeParams, Params, SparkParams

log = logging.getLogger(__name__)


class SparkEngine(Engine):
    """Every operation in one Spark session for ``settings`` (``spark`` in params), opened by
    ``with``; the tables it returns are Spark DataFrames, written by Spark in one file."""

    name = "spark"

    def __init__(self, settings: SparkParams):
        self.settings = settings
        self.spark = None
        self._session = contextlib.ExitStack()

    def __enter__(self) -> SparkEngine:
        self.spark = self._session.enter_context(spark_session(self.settings))
        log.info("on Spark at %s", self.spark.sparkContext.master)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.spark = None
        self._session.close()

    def featurize(
        self, *, customers: str | Path, features: FeatureParams, featurize: FeaturizeParams
    ) -> Featurized:
        return Featurized(
            *fit_preprocessing_on_spark(
                read_parquet(self.spark, customers), features=features, featurize=featurize
            )
        )

    def elbow_sample(self, *, features: str | Path, sample_size: int, random_state: int) -> np.ndarray:
        return elbow_sample_on_spark(self.spark, features, sample_size=sample_size, random_state=random_state)

    def train(
        self,
        *,
        features: str | Path,
        customers: str | Path,
        preprocessing: Pipeline,
        reference: dict,
        params: Params,
        n_clusters: int,
    ) -> TrainedSegments:
        return train_on_spark(
            self.spark,
            features=features,
            customers=customers,
            preprocessing=preprocessing,
            reference=reference,
            params=params,
            n_clusters=n_clusters,
            sample_size=self.settings.sample_size,
        )

    def assign(
        self,
        *,
        customers: str | Path,
        new: str | Path,
        features: str | Path,
        model: Pipeline,
        names: dict[int, str],
        params: Params,
        random_state: int,
    ) -> Assignment:
        return assign_on_spark(
            self.spark,
            customers=customers,
            new=new,
            model=model,
            names=names,
            params=params,
            sample_size=self.settings.sample_size,
            random_state=random_state,
        )

    def write_parquet(self, table: SparkFeatures, path: str | Path) -> None:
        write_single_parquet(table.frame, path, table.names)

    def write_csv(self, table, path: str | Path) -> None:
        write_single_csv(table, path)
