"""bankseg.segmentation.stability: clusterwise bootstrap Jaccard and mean adjusted Rand index."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bankseg.params import StabilityParams
from bankseg.segmentation.stability import best_jaccard, bootstrap_stability


def test_best_jaccard_of_identical_and_merged_groups():
    labels = np.array([0, 0, 1, 1, 2, 2])
    assert best_jaccard(labels, labels, 3).tolist() == [1.0, 1.0, 1.0]
    merged = np.array([0, 0, 0, 0, 1, 1])  # segments 0 and 1 fall into one group
    assert best_jaccard(labels, merged, 3).tolist() == [0.5, 0.5, 1.0]


def test_best_jaccard_of_a_segment_missing_from_the_resample_is_zero():
    labels = np.array([0, 0, 1])
    assert best_jaccard(labels[:2], np.array([0, 0]), 2).tolist() == [1.0, 0.0]


@pytest.fixture(scope="module")
def small_params():
    return StabilityParams(n_bootstrap=5, sample_size=1000, random_state=0, threshold=0.75)


def test_well_separated_blobs_are_stable(blobs, params, small_params):
    X, truth = blobs
    result = bootstrap_stability(X, truth, 4, train=replace(params.train, n_init=2), params=small_params)
    assert result["mean_ari"] > 0.95
    assert result["n_unstable"] == 0
    assert all(s["jaccard"] > 0.95 and s["stable"] for s in result["segments"].values())
    assert set(result["segments"]) == {"0", "1", "2", "3"}
    assert result["sample_size"] == len(X)


def test_cutting_one_gaussian_blob_is_flagged_unstable(params, small_params):
    X = np.random.default_rng(0).normal(size=(800, 4))
    from sklearn.cluster import KMeans

    labels = KMeans(n_clusters=6, n_init=2, random_state=0).fit_predict(X)
    result = bootstrap_stability(X, labels, 6, train=replace(params.train, n_init=1), params=small_params)
    assert result["mean_ari"] < 0.75
    assert result["n_unstable"] >= 1
    assert result["min_jaccard"] < 0.75


def test_stability_is_reproducible_and_uses_a_sample(blobs, params, small_params):
    X, truth = blobs
    settings = replace(small_params, sample_size=300)
    train = replace(params.train, n_init=1)
    first = bootstrap_stability(X, truth, 4, train=train, params=settings)
    second = bootstrap_stability(X, truth, 4, train=train, params=settings)
    assert first == second
    assert first["sample_size"] == 300


def test_stability_does_not_depend_on_the_number_of_cores(params, small_params, monkeypatch):
    # One Gaussian cut in six: every resample's refit differs, so a mix-up of resamples shows.
    X = np.random.default_rng(1).normal(size=(600, 3))
    from sklearn.cluster import KMeans

    labels = KMeans(n_clusters=6, n_init=1, random_state=0).fit_predict(X)
    train = replace(params.train, n_init=1)
    results = []
    for cores in (1, 3):
        monkeypatch.setattr("bankseg.segmentation.sampling.cpu_count", lambda cores=cores: cores)
        results.append(bootstrap_stability(X, labels, 6, train=train, params=small_params))
    assert results[0] == results[1]
