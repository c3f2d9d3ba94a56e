"""Resampling shared by the search for K, the stability of segments and the Spark engine:
seeded samples of rows, and many small K-means refits run side by side."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
from joblib import Parallel, cpu_count, delayed
from threadpoolctl import ThreadpoolController

T = TypeVar("T")


def seeded_sample(n_rows: int, size: int, random_state: int) -> np.ndarray:
    """Sorted row positions of a seeded sample of ``size`` rows (all rows when fewer)."""
    if n_rows <= size:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(random_state).choice(n_rows, size=size, replace=False))


def side_by_side(function: Callable[..., T], jobs: list[tuple]) -> list[T]:
    """``[function(*job) for job in jobs]``, each call on one thread, as many at once as cores.

    For many small K-means fits. Within one fit, K-means' OpenMP threads spend more time
    waiting for each other than computing, badly so on a shared machine; independent fits
    side by side keep every core busy. Each result depends only on its job, not on the number
    of cores.
    """
    controller = ThreadpoolController()

    def on_one_thread(*job):
        # OpenMP's limit is per thread; OpenBLAS's is global and set by the caller below.
        with controller.limit(limits=1, user_api="openmp"):
            return function(*job)

    with controller.limit(limits=1, user_api="blas"):
        workers = Parallel(n_jobs=max(1, min(cpu_count(), len(jobs))), backend="threading")
        return workers(delayed(on_one_thread)(*job) for job in jobs)
