"""The elbow sweep's sample on Spark: Spark reads every customer and draws the seeded sample;
the sweep on that sample is the default engine's.

The sweep's work is bounded by ``elbow.sample_size`` whatever the number of customers, and a
sample of that size fits the driver: there the default engine's sweep gives a monotone
inertia curve (grown fits, see :func:`bankseg.segmentation.choosing_k.sweep`) and, on the
same rows, the same scores and the same suggested K as the default engine. What grows with
the customers (reading, counting, drawing the sample) runs on Spark; fitting pyspark.ml
K-means for every K on every customer instead made the sweep most of a run's time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bankseg.engines.spark.session import collect_rows, read_features
from bankseg.segmentation.sampling import seeded_sample


def elbow_sample(spark: Any, features: str | Path, *, sample_size: int, random_state: int) -> np.ndarray:
    """The scaled features of :func:`bankseg.segmentation.sampling.seeded_sample`'s rows, in file order."""
    frame = read_features(spark, features).frame
    n_rows = frame.count()
    return collect_rows(frame, seeded_sample(n_rows, sample_size, random_state), n_rows).to_numpy()
