"""Score a range of cluster counts on several criteria and suggest one, saying when unsure.

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
- ``stability``: how well K-means at K reproduces on other customers: the mean adjusted Rand
  index between every pair of refits on bootstrap resamples, each refit labelling every
  customer of the subsample. Walking up from the smallest K, the choice is the largest K
  before stability first drops by more than 0.02 below the best so far (splitting a real
  segment in two is what makes it drop).
- ``consensus``: the K chosen by most of the criteria above; a tie goes to the K with the
  better silhouette.
- ``stable_silhouette`` (the default): among the K whose stability is at least ``STABLE``
  (0.85), the best silhouette times stability. Silhouette and Calinski-Harabasz alone keep
  rising with K on real customer files, where clusters can copy combinations of category
  values; such splits do not reproduce on resamples, so stability screens them out and
  weighs what is left.

The suggestion says when it is unsure: ``at_edge`` and ``edge`` when the suggested K is the
smallest or the largest K scored (or the rule chose outside the range), and ``warnings``,
plain sentences that are also logged.
"""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from functools import partial
from itertools import combinations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import (
    calinski_harabasz_score,
    davies_bouldin_score,
    pairwise_distances,
    silhouette_score,
)
from threadpoolctl import threadpool_limits

from bankseg.params import ElbowParams
from bankseg.segmentation.sampling import seeded_sample, side_by_side

log = logging.getLogger(__name__)

# For each quality criterion: whether larger values are better.
CRITERIA = {"silhouette": True, "calinski_harabasz": True, "davies_bouldin": False}
# The criteria that vote in the consensus, in the order they are reported.
VOTERS = ("knee", "silhouette", "calinski_harabasz", "davies_bouldin", "gap", "stability")
STABILITY_TOLERANCE = 0.02
# A K is stable when refits on resamples agree at least this much (mean adjusted Rand index).
STABLE = 0.85
# Starts per stability refit, at least. A refit stuck in a poorer local optimum than its
# peers disagrees with them as much as a split that does not reproduce: on a real bank file,
# 5 starts missed the best optimum often enough to swing stability by 0.2 between seeds.
REFIT_N_INIT = 10
# Below this silhouette the segments overlap more than they separate (Kaufman and Rousseeuw's
# "no substantial structure").
WEAK_SILHOUETTE = 0.25


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


def adjusted_rand_index(a: np.ndarray, b: np.ndarray) -> float:
    """The adjusted Rand index of two labelings with labels 0..n-1 (scikit-learn's value).

    From one ``bincount`` of the label pairs: the stability criterion compares many pairs of
    labelings of the whole sample, where scikit-learn's general contingency table costs most.
    """
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    n_b = int(b.max()) + 1
    table = np.bincount(a * n_b + b, minlength=(int(a.max()) + 1) * n_b).reshape(-1, n_b)
    table = table.astype("float64")

    def pairs(counts: np.ndarray) -> float:
        return float((counts * (counts - 1)).sum() / 2)

    together, rows, columns = pairs(table), pairs(table.sum(axis=1)), pairs(table.sum(axis=0))
    expected = rows * columns / (len(a) * (len(a) - 1) / 2)
    largest = (rows + columns) / 2
    if largest == expected:  # both put everyone together, or everyone apart: identical
        return 1.0
    return (together - expected) / (largest - expected)


def stability_by_k(
    X: np.ndarray, ks: list[int], *, n_bootstrap: int, n_init: int, random_state: int
) -> dict[int, float]:
    """Mean adjusted Rand index between every pair of refits on bootstrap resamples.

    Pairs of refits rather than refits against the sweep's own fit: when that one fit
    happened to land in a different local optimum, every comparison with it disagreed, and
    stability swung with the seed. At least two resamples are drawn (agreement needs a pair),
    each refit with at least ``REFIT_N_INIT`` starts.
    """
    rng = np.random.default_rng(random_state)
    draws = [rng.integers(0, len(X), size=len(X)) for _ in range(max(n_bootstrap, 2))]
    starts = max(n_init, REFIT_N_INIT)

    def refit(k: int, rows: np.ndarray) -> np.ndarray:
        return _kmeans(X[rows], k, n_init=starts, random_state=random_state).predict(X)

    labels = side_by_side(refit, [(k, rows) for k in ks for rows in draws])
    stability = {}
    for i, k in enumerate(ks):
        refits = labels[i * len(draws) : (i + 1) * len(draws)]
        stability[k] = float(np.mean([adjusted_rand_index(a, b) for a, b in combinations(refits, 2)]))
    return stability


def sweep(
    X: np.ndarray,
    *,
    k_min: int,
    k_max: int,
    n_init: int,
    random_state: int,
    silhouette_sample: int,
    n_references: int = 5,
    n_bootstrap: int = 10,
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
    shown = [k for k in fits if k >= max(k_min, 2)]
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


def stable_silhouette_choice(scores: pd.DataFrame) -> int | None:
    """Among the K whose stability is at least ``STABLE``, the best silhouette times stability;
    None when no K is that stable.

    Stability screens out the splits that copy chance combinations of values (they do not
    reproduce on resamples); among the splits that do, the best separated wins, discounted by
    the share of customers that resamples place differently. The discount settles near-ties in
    silhouette for the K that reproduces best, which is the one a rerun will find again.
    """
    if "stability" not in scores:
        return None
    stable = scores[scores["stability"] >= STABLE].dropna(subset=["silhouette"])
    if stable.empty:
        return None
    return int(stable.loc[(stable["silhouette"] * stable["stability"]).idxmax(), "k"])


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
    choices["consensus"] = consensus({c: choices[c] for c in VOTERS}, scores)
    choices["stable_silhouette"] = stable_silhouette_choice(scores)
    return choices


def _stability(scores: pd.DataFrame) -> pd.Series:
    """Stability by K, without the K that have none (an empty Series when none has)."""
    if "stability" not in scores:
        return pd.Series(dtype="float64")
    return scores.set_index("k")["stability"].dropna()


def _fallback(scores: pd.DataFrame, method: str, choices: dict) -> tuple[int, str]:
    """The K and the reason when ``method`` gives no K in the range scored."""
    stability = _stability(scores)
    if method == "stable_silhouette" and not stability.empty:
        k = int(stability.idxmax())
        return k, f"no K reaches stability {STABLE}; fell back to the most stable K"
    if choices["silhouette"] is not None:
        return choices["silhouette"], f"no answer from {method}; fell back to the best silhouette"
    return int(scores["k"].iloc[0]), f"no answer from {method}; fell back to the smallest K"


def _reason(method: str, k: int, choices: dict, scores: pd.DataFrame) -> str:
    reason = f"chosen by elbow.method={method}"
    if method == "consensus":
        agree = sorted(c for c in VOTERS if choices[c] == k)
        reason += f" ({len(agree)} of {len(VOTERS)} criteria: {', '.join(agree)})"
    elif method == "stable_silhouette":
        stability = _stability(scores)
        stable = ", ".join(str(int(j)) for j, v in stability.items() if v >= STABLE)
        silhouette = scores.set_index("k").loc[k, "silhouette"]
        reason += (
            f": the best silhouette times stability ({silhouette:.3f} x {stability[k]:.2f}) "
            f"among the K whose stability is at least {STABLE} ({stable})"
        )
    return reason


def _edge(raw: int | None, k: int, low: int, high: int) -> str | None:
    """Which end of the range scored the suggestion sits at, or the rule's choice fell beyond."""
    if raw is not None and raw < low:
        return "lower"
    if raw is not None and raw > high:
        return "upper"
    if k == high:
        return "upper"
    if k == low:
        return "lower"
    return None


def _warnings(
    scores: pd.DataFrame, method: str, raw: int | None, k: int, edge: str | None, choices: dict
) -> list[str]:
    """Plain sentences for the reader of the report: why this K may not be the right one."""
    low, high = int(scores["k"].min()), int(scores["k"].max())
    stability = _stability(scores)
    found: list[str] = []
    if raw is not None and not low <= raw <= high:
        found.append(
            f"elbow.method={method} chose K = {raw}, outside the range scored ({low}-{high}); "
            f"K = {k} was suggested instead"
        )
    if edge == "upper":
        found.append(
            f"K = {k} is the largest K scored: the data may support more segments, or the criteria "
            "keep improving because segments copy combinations of category values; widen "
            "elbow.k_max or treat the segments with caution"
        )
    elif edge == "lower" and low > 2:
        found.append(
            f"K = {k} is the smallest K scored: fewer segments may fit the data better; lower "
            "elbow.k_min to score them"
        )
    elif edge == "lower" and k == 2:
        larger = stability[stability.index > k]
        stable = larger[larger >= STABLE]
        if not larger.empty and stable.empty:
            best = int(larger.idxmax())
            found.append(
                f"K = 2 is the smallest K scored, and beyond two groups the structure is weak: no "
                f"larger K reaches stability {STABLE} (the most stable, K = {best}, has {larger[best]:.2f})"
            )
        elif not stable.empty:
            silhouettes = scores.set_index("k")["silhouette"]
            finer = silhouettes[silhouettes.index > k].max()
            also = ", ".join(f"{int(j)} ({v:.2f})" for j, v in stable.items())
            found.append(
                f"K = 2 is the smallest K scored, and beyond two groups the structure is weak: the "
                f"silhouette falls from {silhouettes[k]:.2f} at K = 2 to {finer:.2f} at best; larger K "
                f"that are also stable, if finer segments are needed: {also}"
            )
    if not stability.empty and stability.max() < STABLE:
        found.append(
            f"no K reaches stability {STABLE}: resampled customers give different segments at "
            f"every K (the most stable, K = {int(stability.idxmax())}, has {stability.max():.2f}); "
            "treat the segments with caution"
        )
    if choices["gap"] == 1:
        found.append("the gap statistic prefers a single group: the data may show no clear segments at all")
    silhouette = scores.set_index("k")["silhouette"].get(k)
    if silhouette is not None and silhouette < WEAK_SILHOUETTE:
        found.append(
            f"the segments overlap: the silhouette at K = {k} is {silhouette:.2f}, below "
            f"{WEAK_SILHOUETTE}; customers near a boundary could belong to either side"
        )
    return found


def suggest_k(scores: pd.DataFrame, method: str) -> dict:
    """Every criterion's choice, the suggested K with the reason, and how sure it is.

    When the chosen rule gives no answer (no knee, say), the suggestion falls back to the
    best silhouette (for ``stable_silhouette``: to the most stable K) and says so.
    ``structure`` is False when the gap statistic prefers a single group: the data then show
    no clear segments, whatever K is used. ``at_edge`` and ``edge`` ("lower", "upper" or
    None) flag a K at the end of the range scored, where the best K may lie beyond the range;
    ``warnings`` says so in words, and each is logged.
    """
    choices = criterion_choices(scores)
    raw = choices[method]
    low, high = int(scores["k"].min()), int(scores["k"].max())
    if raw is not None and raw in set(scores["k"]):
        k = raw
        reason = _reason(method, k, choices, scores)
    else:
        k, reason = _fallback(scores, method, choices)
    stability = _stability(scores)
    if k in stability.index:
        reason += f"; stability at K = {k}: {stability[k]:.2f}"
    edge = _edge(raw, k, low, high)
    suggestion = {
        "suggested_k": int(k),
        "method": method,
        "reason": reason,
        "choices": choices,
        "at_edge": edge is not None,
        "edge": edge,
        "warnings": _warnings(scores, method, raw, k, edge, choices),
    }
    if choices["gap"] is not None:
        suggestion["structure"] = choices["gap"] > 1
    if not stability.empty:
        suggestion["stability_at_k"] = float(stability.get(k, float("nan")))
    for warning in suggestion["warnings"]:
        log.warning("elbow: %s", warning)
    return suggestion
