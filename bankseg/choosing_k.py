"""Score a range of cluster counts on several criteria and suggest one.

Criteria, each computed on one seeded subsample of customers (``elbow.sample_size``):

- ``knee``: the knee of the inertia curve, found by kneed. The curve is monotone by
  construction: besides ``n_init`` k-means++ starts, K is also fitted from the K-1 centres
  plus the customer farthest from them, which can only lower the inertia.
- ``silhouette`` (on a further sample, it is quadratic), ``calinski_harabasz`` and
  ``davies_bouldin``: the best value.
- ``gap``: the gap statistic of Tibshirani, Walther and Hastie (2001) against uniform
  reference data in the principal-component box of the customers, with the standard-error
  rule: the smallest K with ``gap(K) >= gap(K+1) - s(K+1)``. K=1 is included, so a gap
  choice of 1 says the data show no segment structure.
- ``stability``: the mean adjusted Rand index between the clustering of the subsample and
  clusterings of bootstrap resamples of it. Walking up from the smallest K, the choice is
  the largest K before stability first drops by more than 0.02 below the best so far
  (splitting a real segment in two is what makes it drop).
- ``consensus``: the K chosen by most of the criteria above; a tie goes to the K with the
  better silhouette.
"""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import numpy as np
import pandas as pd
from joblib import Parallel, cpu_count, delayed
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    pairwise_distances,
    silhouette_score,
)
from threadpoolctl import ThreadpoolController, threadpool_limits

from bankseg.params import ElbowParams

log = logging.getLogger(__name__)

# For each quality criterion: whether larger values are better.
CRITERIA = {"silhouette": True, "calinski_harabasz": True, "davies_bouldin": False}
# The criteria that vote in the consensus, in the order they are reported.
VOTERS = ("knee", "silhouette", "calinski_harabasz", "davies_bouldin", "gap", "stability")
STABILITY_TOLERANCE = 0.02

T = TypeVar("T")


def seeded_sample(n_rows: int, size: int, random_state: int) -> np.ndarray:
    """Sorted row positions of a seeded sample of ``size`` rows (all rows when fewer)."""
    if n_rows <= size:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(random_state).choice(n_rows, size=size, replace=False))


def quality_scores(X: np.ndarray, labels: np.ndarray, *, silhouette_sample: int, random_state: int) -> dict:
    """Silhouette on a seeded sample (it is quadratic), the others on every row."""
    X = np.asarray(X)
    n_labels = len(np.unique(labels))
    if n_labels < 2 or n_labels >= len(X):
        return {"silhouette": float("nan"), "calinski_harabasz": float("nan"), "davies_bouldin": float("nan")}
    sample = min(silhouette_sample, len(X))
    return {
        "silhouette": float(silhouette_score(X, labels, sample_size=sample, random_state=random_state)),
        "calinski_harabasz": float(calinski_harabasz_score(X, labels)),
        "davies_bouldin": float(davies_bouldin_score(X, labels)),
    }


def side_by_side(function: Callable[..., T], jobs: list[tuple]) -> list[T]:
    """``[function(*job) for job in jobs]``, each call on one thread, as many at once as cores.

    For many small K-means fits. Within one fit, K-means' OpenMP threads spend more time
    waiting for each other than computing, badly so on a shared machine (measured: a sweep
    took 185 s with two threads on a busy 2-core machine, 9.8 s with one); independent fits side by side keep
    every core busy. Each result depends only on its job, not on the number of cores.
    """
    controller = ThreadpoolController()

    def on_one_thread(*job):
        # OpenMP's limit is per thread; OpenBLAS's is global and set by the caller below.
        with controller.limit(limits=1, user_api="openmp"):
            return function(*job)

    with controller.limit(limits=1, user_api="blas"):
        workers = Parallel(n_jobs=max(1, min(cpu_count(), len(jobs))), backend="threading")
        return workers(delayed(on_one_thread)(*job) for job in jobs)


def _kmeans(X: np.ndarray, k: int, *, n_init: int, random_state: int, init="k-means++") -> KMeans:
    return KMeans(
        n_clusters=k, init=init, n_init=n_init if isinstance(init, str) else 1, random_state=random_state
    ).fit(X)


def _monotone_fits(X: np.ndarray, ks: list[int], *, n_init: int, random_state: int) -> dict[int, KMeans]:
    """K-means for each K, each with an inertia no larger than the previous K's."""
    fits: dict[int, KMeans] = {}
    previous: KMeans | None = None
    starts = side_by_side(partial(_kmeans, n_init=n_init, random_state=random_state), [(X, k) for k in ks])
    for k, best in zip(ks, starts, strict=True):
        if previous is not None and previous.n_clusters == k - 1:
            centres = previous.cluster_centers_
            farthest = X[np.argmax(previous.transform(X).min(axis=1))]
            grown = _kmeans(X, k, n_init=1, random_state=random_state, init=np.vstack([centres, farthest]))
            if grown.inertia_ < best.inertia_:
                best = grown
        fits[k] = previous = best
    return fits


def _reference_data(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Uniform data in the box spanned by the principal components of ``X`` (Tibshirani's (b))."""
    mean = X.mean(axis=0)
    _, _, vt = np.linalg.svd(X - mean, full_matrices=False)
    rotated = (X - mean) @ vt.T
    low, high = rotated.min(axis=0), rotated.max(axis=0)
    return rng.uniform(low, high, size=rotated.shape) @ vt + mean


def gap_statistic(
    X: np.ndarray, inertia: dict[int, float], *, n_references: int, random_state: int
) -> pd.DataFrame:
    """Gap and its standard error ``s`` for each K in ``inertia`` (which must include K=1).

    Reference data have no structure and no local minima worth several starts: one
    k-means++ start per reference fit.
    """
    rng = np.random.default_rng(random_state)
    references = [_reference_data(X, rng) for _ in range(n_references)]
    fits = side_by_side(
        partial(_kmeans, n_init=1, random_state=random_state), [(r, k) for r in references for k in inertia]
    )
    log_ref = np.log([fit.inertia_ for fit in fits]).reshape(n_references, len(inertia))
    gap = log_ref.mean(axis=0) - np.log(np.maximum(list(inertia.values()), 1e-300))
    s = log_ref.std(axis=0) * np.sqrt(1 + 1 / n_references)
    return pd.DataFrame({"k": list(inertia), "gap": gap, "gap_se": s})


def stability_by_k(
    X: np.ndarray, fits: dict[int, KMeans], *, n_bootstrap: int, n_init: int, random_state: int
) -> dict[int, float]:
    """Mean adjusted Rand index between each fit and refits on bootstrap resamples."""
    rng = np.random.default_rng(random_state)
    draws = [rng.integers(0, len(X), size=len(X)) for _ in range(n_bootstrap)]

    def agreement(k: int, rows: np.ndarray) -> float:
        refit = _kmeans(X[rows], k, n_init=n_init, random_state=random_state)
        return adjusted_rand_score(fits[k].labels_, refit.predict(X))

    scores = side_by_side(agreement, [(k, rows) for k in fits for rows in draws])
    return {k: float(np.mean(scores[i * n_bootstrap : (i + 1) * n_bootstrap])) for i, k in enumerate(fits)}


def sweep(
    X: np.ndarray,
    *,
    k_min: int,
    k_max: int,
    n_init: int,
    random_state: int,
    silhouette_sample: int,
    n_references: int = 5,
    n_bootstrap: int = 5,
) -> pd.DataFrame:
    """One row per K from ``k_min`` to ``k_max``: inertia, quality criteria, gap and stability.

    The many small K-means fits run side by side, one thread each (:func:`side_by_side`);
    the few that depend on the previous K's fit run one after the other, on one thread too.
    """
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="openmp"):
        # Bootstrap resamples of small data can hold fewer distinct customers than K. The
        # filter is set here, once, because the fits' threads share the warning filters.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _sweep(
            X,
            k_min=k_min,
            k_max=k_max,
            n_init=n_init,
            random_state=random_state,
            silhouette_sample=silhouette_sample,
            n_references=n_references,
            n_bootstrap=n_bootstrap,
        )


def _sweep(
    X: np.ndarray,
    *,
    k_min: int,
    k_max: int,
    n_init: int,
    random_state: int,
    silhouette_sample: int,
    n_references: int,
    n_bootstrap: int,
) -> pd.DataFrame:
    X = np.ascontiguousarray(X, dtype="float64")
    k_max = min(k_max, len(X) - 1)
    ks = list(range(1, k_max + 1))
    fits = _monotone_fits(X, ks, n_init=n_init, random_state=random_state)
    # One seeded sample and its distances serve the silhouette of every K: the same
    # customers are compared across K, and the quadratic work is done once.
    sample = seeded_sample(len(X), silhouette_sample, random_state)
    distances = pairwise_distances(X[sample])
    gaps = gap_statistic(
        X,
        {k: fit.inertia_ for k, fit in fits.items()},
        n_references=n_references,
        random_state=random_state,
    ).set_index("k")
    shown = {k: fit for k, fit in fits.items() if k >= max(k_min, 2)}
    stability = stability_by_k(X, shown, n_bootstrap=n_bootstrap, n_init=n_init, random_state=random_state)

    def criteria(k: int) -> dict:
        labels = fits[k].labels_
        row = {"k": k, "inertia": float(fits[k].inertia_), "silhouette": float("nan")}
        if len(np.unique(labels[sample])) > 1:
            row["silhouette"] = float(silhouette_score(distances, labels[sample], metric="precomputed"))
        many = len(np.unique(labels)) > 1
        row["calinski_harabasz"] = float(calinski_harabasz_score(X, labels)) if many else float("nan")
        row["davies_bouldin"] = float(davies_bouldin_score(X, labels)) if many else float("nan")
        return row

    rows = side_by_side(criteria, [(k,) for k in range(k_min, k_max + 1)])
    for row in rows:
        k = row["k"]
        row["gap"] = float(gaps.loc[k, "gap"])
        row["gap_se"] = float(gaps.loc[k, "gap_se"])
        row["stability"] = stability.get(k, float("nan"))
        log.info(
            "k=%d inertia=%.1f silhouette=%.3f gap=%.3f stability=%.3f",
            k,
            row["inertia"],
            row["silhouette"],
            row["gap"],
            row["stability"],
        )
    scores = pd.DataFrame(rows)
    # The gap rule looks at every K from 1, also those below k_min.
    scores.attrs["gap"] = [(int(k), float(r.gap), float(r.gap_se)) for k, r in gaps.iterrows()]
    if not scores["inertia"].is_monotonic_decreasing:  # cannot happen with the grown fits
        log.warning("inertia does not decrease with k; raise elbow.n_init for a reliable knee")
    return scores


def choose_k(X: np.ndarray, params: ElbowParams) -> tuple[pd.DataFrame, dict]:
    """The sweep of ``X`` (the seeded sample of customers) with ``params``, and its suggestion."""
    scores = sweep(
        X,
        k_min=params.k_min,
        k_max=params.k_max,
        n_init=params.n_init,
        random_state=params.random_state,
        silhouette_sample=params.silhouette_sample,
        n_references=params.n_references,
        n_bootstrap=params.n_bootstrap,
    )
    return scores, suggest_k(scores, params.method) | {"sample_size": len(X)}


def find_knee(scores: pd.DataFrame) -> int | None:
    """The knee of the inertia curve found by kneed, or None when the curve has none."""
    from kneed import KneeLocator  # imports matplotlib: only the stages that choose K pay for it

    locator = KneeLocator(
        scores["k"].tolist(), scores["inertia"].tolist(), curve="convex", direction="decreasing"
    )
    return None if locator.knee is None else int(locator.knee)


def best_by(scores: pd.DataFrame, criterion: str) -> int | None:
    valid = scores.dropna(subset=[criterion])
    if valid.empty:
        return None
    index = valid[criterion].idxmax() if CRITERIA[criterion] else valid[criterion].idxmin()
    return int(valid.loc[index, "k"])


def gap_choice(scores: pd.DataFrame) -> int | None:
    """Smallest K with gap(K) >= gap(K+1) - s(K+1), over K from 1 when the sweep recorded it."""
    if "gap" not in scores:
        return None
    table = scores.attrs.get("gap") or list(zip(scores["k"], scores["gap"], scores["gap_se"], strict=True))
    for (k, gap, _), (_, next_gap, next_se) in zip(table, table[1:], strict=False):
        if gap >= next_gap - next_se:
            return int(k)
    return int(table[-1][0]) if table else None


def stability_choice(scores: pd.DataFrame) -> int | None:
    """Walking up from the smallest K, the largest K before stability first drops.

    The walk stops at the first K whose stability is more than ``STABILITY_TOLERANCE`` below
    the best seen so far (a real segment was split); the choice is the largest K before it
    whose stability is within the tolerance of the best.
    """
    if "stability" not in scores:
        return None
    valid = scores.dropna(subset=["stability"])
    visited: list[tuple[int, float]] = []
    for k, value in zip(valid["k"], valid["stability"], strict=True):
        if visited and value < max(v for _, v in visited) - STABILITY_TOLERANCE:
            break
        visited.append((int(k), float(value)))
    if not visited:
        return None
    best = max(v for _, v in visited)
    return max(k for k, v in visited if v >= best - STABILITY_TOLERANCE)


def consensus(choices: dict[str, int | None], scores: pd.DataFrame) -> int | None:
    """The K most criteria choose (K below the sweep's range do not vote); ties: best silhouette."""
    votes = Counter(k for k in choices.values() if k is not None and k in set(scores["k"]))
    if not votes:
        return None
    top = max(votes.values())
    tied = [k for k, n in votes.items() if n == top]
    silhouette = scores.set_index("k")["silhouette"].fillna(-np.inf)
    return int(max(tied, key=lambda k: (silhouette[k], -k)))


def criterion_choices(scores: pd.DataFrame) -> dict[str, int | None]:
    choices = {"knee": find_knee(scores), **{c: best_by(scores, c) for c in CRITERIA}}
    choices["gap"] = gap_choice(scores)
    choices["stability"] = stability_choice(scores)
    return choices


def suggest_k(scores: pd.DataFrame, method: str) -> dict:
    """Every criterion's choice and the suggested K with the reason.

    When the chosen rule gives no answer (no knee, say), the suggestion falls back to the
    best silhouette and says so. ``structure`` is False when the gap statistic prefers a
    single group: the data then show no clear segments, whatever K is used.
    """
    choices = criterion_choices(scores)
    choices["consensus"] = consensus({c: choices[c] for c in VOTERS}, scores)
    k = choices[method]
    valid_ks = set(scores["k"])
    if k is not None and k in valid_ks:
        reason = f"chosen by elbow.method={method}"
        if method == "consensus":
            agree = sorted(c for c in VOTERS if choices[c] == k)
            reason += f" ({len(agree)} of {len(VOTERS)} criteria: {', '.join(agree)})"
    else:
        k = choices["silhouette"] if choices["silhouette"] is not None else int(scores["k"].iloc[0])
        reason = f"no answer from {method}; fell back to the best silhouette"
    suggestion = {"suggested_k": int(k), "method": method, "reason": reason, "choices": choices}
    if choices["gap"] is not None:
        suggestion["structure"] = choices["gap"] > 1
    if "stability" in scores and not scores["stability"].isna().all():
        suggestion["stability_at_k"] = float(scores.set_index("k").loc[k, "stability"])
    return suggestion
