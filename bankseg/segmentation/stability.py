"""How stable are the trained segments? Bootstrap refits compared with the trained model.

Following Hennig's clusterwise bootstrap (2007): K-means is refitted on bootstrap resamples
of a seeded sample of customers; each trained segment's stability is the mean, over
resamples, of the Jaccard similarity between it and its best-matching refitted segment,
counted on the customers drawn into that resample. The overall stability is the mean
adjusted Rand index between the trained labels and each refit's labels on the sample.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import adjusted_rand_score

from bankseg.params import StabilityParams, TrainParams
from bankseg.segmentation.kmeans import new_kmeans
from bankseg.segmentation.sampling import seeded_sample, side_by_side


def best_jaccard(labels: np.ndarray, other: np.ndarray, n_segments: int) -> np.ndarray:
    """For each segment of ``labels``, its best Jaccard similarity with a group of ``other``."""
    n_other = int(other.max()) + 1 if len(other) else 0
    overlap = np.zeros((n_segments, max(n_other, 1)))
    np.add.at(overlap, (labels, other), 1)
    union = overlap.sum(axis=1)[:, None] + overlap.sum(axis=0)[None, :] - overlap
    with np.errstate(invalid="ignore", divide="ignore"):
        jaccard = np.where(union > 0, overlap / union, 0.0)
    return jaccard.max(axis=1)


def bootstrap_stability(
    X: np.ndarray, labels: np.ndarray, n_segments: int, *, train: TrainParams, params: StabilityParams
) -> dict:
    """Per-segment Jaccard stability, mean adjusted Rand index, and the unstable segments.

    The refits are many and small: they run side by side, one thread each
    (:func:`bankseg.segmentation.sampling.side_by_side`).
    """
    X = np.ascontiguousarray(X, dtype="float64")
    sample = seeded_sample(len(X), params.sample_size, params.random_state)
    Xs, ls = X[sample], np.asarray(labels)[sample]
    rng = np.random.default_rng(params.random_state)
    draws = [rng.integers(0, len(Xs), size=len(Xs)) for _ in range(params.n_bootstrap)]

    def refit(rows: np.ndarray) -> tuple[np.ndarray, float]:
        predicted = new_kmeans(n_segments, train).fit(Xs[rows]).predict(Xs)
        drawn = np.unique(rows)
        return best_jaccard(ls[drawn], predicted[drawn], n_segments), adjusted_rand_score(ls, predicted)

    jaccards, aris = zip(*side_by_side(refit, [(rows,) for rows in draws]), strict=True)
    per_segment = np.mean(jaccards, axis=0)
    segments = {
        str(i): {"jaccard": float(j), "stable": bool(j >= params.threshold)}
        for i, j in enumerate(per_segment)
    }
    return {
        "mean_ari": float(np.mean(aris)),
        "min_jaccard": float(per_segment.min()),
        "n_bootstrap": params.n_bootstrap,
        "sample_size": len(sample),
        "threshold": params.threshold,
        "n_unstable": int(sum(not s["stable"] for s in segments.values())),
        "segments": segments,
    }
