"""What an engine does for the heavy stages, and what it gives back.

A stage script reads params once, picks the engine with :func:`bankseg.engines.engine_for`,
calls these operations with the paths of its inputs, and writes every output itself: both
engines return the same scikit-learn objects and pandas frames, so what is written (names,
metrics, stale files removed) is decided in one place. Large tables that only the engine
can hold (Spark's scaled features and labelled customers) come back as a handle the same
engine writes with :meth:`Engine.write_parquet` or :meth:`Engine.write_csv`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from bankseg.engines.training import TrainedSegments
from bankseg.params import FeatureParams, FeaturizeParams, Params


class Featurized(NamedTuple):
    preprocessing: Pipeline  # fitted; the same object for both engines
    features: Any  # the scaled features of every customer: a handle for Engine.write_parquet


@dataclass
class DriftSample:
    """The customers the drift report compares (all of them, or seeded samples) and their segments."""

    training: pd.DataFrame
    new: pd.DataFrame
    training_segments: pd.Series
    new_segments: pd.Series
    counts: dict[str, int] = field(default_factory=dict)  # customers in all, stated beside the drift


@dataclass
class Assignment:
    customers: Any  # the labelled training customers: a handle for Engine.write_csv
    new: pd.DataFrame  # the labelled new customers
    drift: DriftSample


class Engine(ABC):
    """Featurize, the elbow sweep's sample, train and assign, on one machine or on Spark.

    Used as a context manager: the engine's resources (a Spark session) live inside ``with``.
    """

    name: str

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    @abstractmethod
    def featurize(
        self, *, customers: str | Path, features: FeatureParams, featurize: FeaturizeParams
    ) -> Featurized:
        """Fit the encoding and scaling on the prepared ``customers`` and scale every customer."""

    @abstractmethod
    def elbow_sample(self, *, features: str | Path, sample_size: int, random_state: int) -> np.ndarray:
        """The scaled features of the seeded sample of customers the elbow sweep runs on
        (:func:`bankseg.segmentation.sampling.seeded_sample`), in file order."""

    @abstractmethod
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
        """K-means on every customer's scaled ``features``; ids, names, stability and metrics
        as :func:`bankseg.engines.training.train_segments` gives them."""

    @abstractmethod
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
        """Label the training ``customers`` (whose scaled ``features`` featurize wrote) and the
        ``new`` ones with the fitted ``model``; ``random_state`` seeds any sample drawn for the drift."""

    @abstractmethod
    def write_parquet(self, table: Any, path: str | Path) -> None:
        """Write a table this engine returned as one Parquet file."""

    @abstractmethod
    def write_csv(self, table: Any, path: str | Path) -> None:
        """Write a table this engine returned as one CSV file (:func:`bankseg.io.atomic.write_csv`'s format)."""
