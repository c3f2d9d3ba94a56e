"""The default engine (``engine: sklearn``): pandas and scikit-learn on one machine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from bankseg.engines.base import Assignment, DriftSample, Engine, Featurized
from bankseg.engines.training import TrainedSegments, train_segments
from bankseg.errors import InputError
from bankseg.io.atomic import write_csv, write_parquet
from bankseg.params import FeatureParams, FeaturizeParams, Params
from bankseg.segmentation.assignment import label_customers
from bankseg.segmentation.encoding import fit_preprocessing
from bankseg.segmentation.sampling import seeded_sample


class SklearnEngine(Engine):
    """Every customer in memory; the tables it returns are pandas DataFrames."""

    name = "sklearn"

    def featurize(
        self, *, customers: str | Path, features: FeatureParams, featurize: FeaturizeParams
    ) -> Featurized:
        return Featurized(*fit_preprocessing(pd.read_parquet(customers), features, featurize))

    def elbow_sample(self, *, features: str | Path, sample_size: int, random_state: int) -> np.ndarray:
        X = pd.read_parquet(features).to_numpy()
        return X[seeded_sample(len(X), sample_size, random_state)]

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
        X = pd.read_parquet(features)
        return train_segments(
            X, pd.read_parquet(customers), preprocessing, reference, params, n_clusters=n_clusters
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
        training = pd.read_parquet(customers)
        batch = pd.read_parquet(new)
        # The training customers went through the model's preprocessing in featurize already.
        encoded = pd.read_parquet(features)
        if len(encoded) != len(training):
            raise InputError(
                f"{features}: {len(encoded)} rows of features for the {len(training)} customers of "
                f"{customers}, expected one per customer (run dvc repro)"
            )
        labelled = label_customers(model, names, training, params, encoded=encoded)
        labelled_new = label_customers(model, names, batch, params)
        drift = DriftSample(training, batch, labelled["segment"], labelled_new["segment"])
        return Assignment(labelled, labelled_new, drift)

    def write_parquet(self, table: pd.DataFrame, path: str | Path) -> None:
        write_parquet(table, path)

    def write_csv(self, table: pd.DataFrame, path: str | Path) -> None:
        write_csv(table, path)
