"""bankseg.segmentation.choosing_k: a sweep over K and a suggestion that says why."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score

from bankseg.params import ElbowParams
from bankseg.segmentation.choosing_k import (
    STABLE,
    VOTERS,
    adjusted_rand_index,
    best_by,
    choose_k,
    consensus,
    find_knee,
    gap_choice,
    quality_scores,
    stability_choice,
    stable_silhouette_choice,
    suggest_k,
    sweep,
)
from bankseg.segmentation.sampling import seeded_sample


@pytest.fixture(scope="module")
def blob_scores(blobs) -> pd.DataFrame:
    X, _ = blobs
    return sweep(X, k_min=2, k_max=8, n_init=2, random_state=0, silhouette_sample=500, n_bootstrap=3)


@pytest.mark.slow
def test_sweep_has_one_row_per_k(blob_scores):
    assert blob_scores["k"].tolist() == list(range(2, 9))
    assert list(blob_scores.columns) == [
        "k",
        "inertia",
        "silhouette",
        "calinski_harabasz",
        "davies_bouldin",
        "gap",
        "gap_se",
        "stability",
    ]
    assert blob_scores["inertia"].is_monotonic_decreasing
    assert blob_scores.drop(columns="k").notna().all().all()
    assert [k for k, _, _ in blob_scores.attrs["gap"]] == list(range(1, 9))


@pytest.mark.parametrize(
    "method",
    [
        "knee",
        "silhouette",
        "calinski_harabasz",
        "davies_bouldin",
        "gap",
        "stability",
        "consensus",
        "stable_silhouette",
    ],
)
def test_four_blobs_give_four(blob_scores, method):
    suggestion = suggest_k(blob_scores, method)
    assert suggestion["suggested_k"] == 4
    assert suggestion["method"] == method
    assert suggestion["reason"].startswith(f"chosen by elbow.method={method}")
    assert suggestion["choices"][method] == 4
    assert suggestion["structure"] is True
    assert suggestion["stability_at_k"] > 0.95
    assert suggestion["at_edge"] is False and suggestion["edge"] is None
    assert suggestion["warnings"] == []


@pytest.mark.slow
def test_sweep_from_one_cluster(blobs):
    X, _ = blobs
    scores = sweep(X, k_min=1, k_max=6, n_init=3, random_state=0, silhouette_sample=1000)
    assert scores["k"].tolist() == [1, 2, 3, 4, 5, 6]
    assert scores.loc[0, "inertia"] > scores.loc[1, "inertia"]
    # The criteria are undefined for a single cluster and are skipped by the suggestion.
    assert scores.loc[0, ["silhouette", "calinski_harabasz", "davies_bouldin"]].isna().all()
    assert suggest_k(scores, "silhouette")["suggested_k"] == 4
    assert suggest_k(scores, "davies_bouldin")["suggested_k"] == 4


def test_sweep_stops_below_the_number_of_rows():
    X = np.array([[0.0], [0.1], [5.0], [5.1], [9.0], [9.2]])
    scores = sweep(X, k_min=2, k_max=10, n_init=1, random_state=0, silhouette_sample=100)
    assert scores["k"].tolist() == [2, 3, 4, 5]


@pytest.mark.slow
def test_sweep_is_reproducible(blobs):
    X, _ = blobs
    first = sweep(X[::4], k_min=2, k_max=5, n_init=2, random_state=3, silhouette_sample=50)
    second = sweep(X[::4], k_min=2, k_max=5, n_init=2, random_state=3, silhouette_sample=50)
    pd.testing.assert_frame_equal(first, second)


# In a process of its own, without the test run's one-thread settings (tests/conftest.py): a
# thread has as many OpenMP and BLAS threads as cores there, unless side_by_side limits it.
_THREADS = """
import json, threading
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from threadpoolctl import threadpool_info
from bankseg.segmentation.sampling import side_by_side

def threads_and_job(job):
    blas = {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}
    return job, _openmp_effective_n_threads(), max(blas, default=1)

alone = []
thread = threading.Thread(target=lambda: alone.append(threads_and_job(-1)))
thread.start()
thread.join()
jobs = [(job,) for job in range(12)]
print(json.dumps([alone[0], side_by_side(threads_and_job, jobs), side_by_side(threads_and_job, [])]))
"""


def test_side_by_side_keeps_the_order_and_gives_each_call_one_thread():
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    result = subprocess.run(
        [sys.executable, "-c", _THREADS], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    alone, calls, none = json.loads(result.stdout)
    if len(os.sched_getaffinity(0)) > 1:  # with one core, every thread has one anyway
        assert alone[1] > 1 and alone[2] > 1, alone
    assert calls == [[job, 1, 1] for job in range(12)]
    assert none == []


@pytest.mark.slow
def test_sweep_does_not_depend_on_the_number_of_cores(blobs, monkeypatch):
    X, _ = blobs
    scores = {}
    for cores in (1, 3):
        monkeypatch.setattr("bankseg.segmentation.sampling.cpu_count", lambda cores=cores: cores)
        scores[cores] = sweep(X[::2], k_min=2, k_max=6, n_init=2, random_state=1, silhouette_sample=300)
    pd.testing.assert_frame_equal(scores[1], scores[3], check_exact=True)
    assert scores[1].attrs == scores[3].attrs


def test_sweep_silences_convergence_warnings_of_tiny_resamples_and_restores_the_filters():
    X = np.array([[0.0], [0.0], [0.0], [1.0], [1.0], [5.0], [5.0], [9.0]])
    before = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sweep(X, k_min=2, k_max=5, n_init=1, random_state=0, silhouette_sample=100)
    assert [w for w in caught if issubclass(w.category, ConvergenceWarning)] == []
    assert warnings.filters == before


# A hand-made score table: a straight inertia line (no knee), and criteria that disagree.
LINE = pd.DataFrame(
    {
        "k": [2, 3, 4, 5, 6],
        "inertia": [50.0, 40.0, 30.0, 20.0, 10.0],
        "silhouette": [0.1, 0.5, 0.3, 0.2, 0.1],
        "calinski_harabasz": [1.0, 2.0, 3.0, 9.0, 5.0],
        "davies_bouldin": [1.0, 0.9, 0.2, 0.8, 0.9],
    }
)


def test_straight_line_has_no_knee():
    assert find_knee(LINE) is None


def test_no_knee_falls_back_to_the_best_silhouette_with_a_reason():
    suggestion = suggest_k(LINE, "knee")
    assert suggestion["suggested_k"] == 3
    assert suggestion["method"] == "knee"
    assert "fell back to the best silhouette" in suggestion["reason"]
    assert "knee" in suggestion["reason"]
    assert suggestion["choices"]["knee"] is None


def test_no_knee_and_no_silhouette_falls_back_to_the_smallest_k():
    scores = LINE.assign(silhouette=np.nan)
    suggestion = suggest_k(scores, "knee")
    assert suggestion["suggested_k"] == 2
    assert "fell back" in suggestion["reason"]


def test_best_by_uses_the_direction_of_each_criterion():
    assert best_by(LINE, "silhouette") == 3  # larger is better
    assert best_by(LINE, "calinski_harabasz") == 5  # larger is better
    assert best_by(LINE, "davies_bouldin") == 4  # smaller is better
    assert best_by(LINE.assign(silhouette=np.nan), "silhouette") is None


def test_choices_list_every_criterion():
    suggestion = suggest_k(LINE, "davies_bouldin")
    assert suggestion["choices"] == {
        "knee": None,
        "silhouette": 3,
        "calinski_harabasz": 5,
        "davies_bouldin": 4,
        "gap": None,
        "stability": None,
        "consensus": 3,  # three criteria choose three different K: the best silhouette wins
        "stable_silhouette": None,  # no stability scored
    }
    assert suggestion["suggested_k"] == 4
    assert "structure" not in suggestion


@pytest.mark.slow
def test_single_start_curves_are_made_monotone():
    """Many clusters, one k-means++ start per K: the grown fits keep the curve decreasing."""
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(c, 0.3, size=(30, 2)) for c in rng.uniform(0, 20, size=(12, 2))])
    scores = sweep(X, k_min=2, k_max=14, n_init=1, random_state=0, silhouette_sample=200, n_bootstrap=2)
    assert scores["inertia"].is_monotonic_decreasing


@pytest.fixture(scope="module")
def one_blob_suggestion():
    X = np.random.default_rng(1).normal(size=(1500, 3))
    scores = sweep(X, k_min=2, k_max=6, n_init=2, random_state=0, silhouette_sample=500)
    return scores, suggest_k(scores, "consensus")


@pytest.mark.slow
def test_one_gaussian_blob_shows_no_structure(one_blob_suggestion):
    scores, suggestion = one_blob_suggestion
    assert suggestion["choices"]["gap"] == 1
    assert suggestion["structure"] is False
    # Refits disagree on how to cut a blob: far from the near-perfect agreement of real groups.
    assert scores["stability"].max() < 0.8


def test_gap_rule_takes_the_smallest_k_within_one_standard_error():
    scores = pd.DataFrame({"k": [2, 3, 4], "gap": [0.5, 0.9, 0.95], "gap_se": [0.1, 0.1, 0.1]})
    assert gap_choice(scores) == 3  # gap(3) >= gap(4) - s(4)
    scores.attrs["gap"] = [(1, 0.6, 0.1), (2, 0.5, 0.1), (3, 0.9, 0.1), (4, 0.95, 0.1)]
    assert gap_choice(scores) == 1  # from K=1: gap(1) >= gap(2) - s(2)
    rising = pd.DataFrame({"k": [2, 3], "gap": [0.1, 0.9], "gap_se": [0.01, 0.01]})
    assert gap_choice(rising) == 3  # never satisfied: the largest K


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1.0, 1.0, 1.0, 0.9999, 0.87, 0.94, 0.98], 5),  # stops at the first drop, ties go up
        ([0.6, 0.95, 0.83, 0.99], 3),  # rising is fine; the drop after 3 ends the walk
        ([0.9, 0.7, 0.95], 2),
    ],
)
def test_stability_choice_stops_at_the_first_drop(values, expected):
    scores = pd.DataFrame({"k": range(2, 2 + len(values)), "stability": values})
    assert stability_choice(scores) == expected


def test_consensus_counts_votes_and_ignores_k_outside_the_sweep():
    scores = pd.DataFrame({"k": [2, 3, 4], "silhouette": [0.2, 0.5, 0.4]})
    assert consensus({"a": 4, "b": 4, "c": 3, "gap": 1}, scores) == 4
    assert consensus({"a": 2, "b": 4, "gap": 1}, scores) == 4  # tie: better silhouette
    assert consensus({"gap": 1}, scores) is None
    assert set(VOTERS) == {"knee", "silhouette", "calinski_harabasz", "davies_bouldin", "gap", "stability"}


def test_seeded_sample_is_sorted_reproducible_and_complete_when_small():
    assert seeded_sample(5, 10, 0).tolist() == [0, 1, 2, 3, 4]
    first, second = seeded_sample(1000, 100, 3), seeded_sample(1000, 100, 3)
    assert first.tolist() == second.tolist()
    assert len(set(first)) == 100 and (np.diff(first) > 0).all()


def test_quality_scores_of_two_clear_groups():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [20.0, 20.0], [20.0, 21.0], [21.0, 20.0]])
    labels = np.array([0, 0, 0, 1, 1, 1])
    scores = quality_scores(X, labels, silhouette_sample=100, random_state=0)
    assert scores["silhouette"] > 0.9
    assert scores["davies_bouldin"] < 0.1
    assert scores["calinski_harabasz"] > 100


@pytest.mark.parametrize("labels", [[0, 0, 0, 0], [0, 1, 2, 3]], ids=["one cluster", "one per row"])
def test_quality_scores_are_nan_when_undefined(labels):
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    scores = quality_scores(X, np.array(labels), silhouette_sample=100, random_state=0)
    assert all(math.isnan(v) for v in scores.values())
    assert set(scores) == {"silhouette", "calinski_harabasz", "davies_bouldin"}


def test_the_report_says_a_single_blob_has_no_clear_segments(one_blob_suggestion, params):
    """From the sweep to the report's words, on data with no cluster structure."""
    from sklearn.cluster import KMeans

    from bankseg.reporting.profiling import add_confidence
    from bankseg.reporting.report import choice_lines, stability_lines
    from bankseg.segmentation.stability import bootstrap_stability

    scores, suggestion = one_blob_suggestion
    X = np.random.default_rng(1).normal(size=(1500, 3))
    k = suggestion["suggested_k"]
    labels = KMeans(n_clusters=k, n_init=2, random_state=0).fit_predict(X)
    stability = bootstrap_stability(
        X, labels, k, train=params.train, params=replace(params.stability, n_bootstrap=5)
    )
    profile = add_confidence({"segments": {}}, suggestion, stability)
    text = "\n".join(choice_lines(profile["confidence"]) + stability_lines(profile))
    assert "no clear segment structure" in text
    assert "not stable" in text


@pytest.mark.parametrize("n_labels", [(3, 5), (1, 4), (6, 1), (2, 2)])
def test_adjusted_rand_index_is_scikit_learns(n_labels):
    rng = np.random.default_rng(sum(n_labels))
    a = rng.integers(0, n_labels[0], size=500)
    b = np.where(rng.random(500) < 0.7, a % n_labels[1], rng.integers(0, n_labels[1], size=500))
    assert adjusted_rand_index(a, b) == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)
    assert adjusted_rand_index(a, a) == 1.0


# Scores where silhouette prefers an unstable K: the screen by stability must matter.
UNSTABLE_BEST = pd.DataFrame(
    {
        "k": [2, 3, 4, 5, 6],
        "inertia": [50.0, 30.0, 20.0, 15.0, 12.0],
        "silhouette": [0.30, 0.35, 0.42, 0.40, 0.45],
        "calinski_harabasz": [10.0, 12.0, 15.0, 16.0, 17.0],
        "davies_bouldin": [1.0, 0.9, 0.8, 0.7, 0.6],
        "stability": [0.97, 0.95, 0.70, 0.90, 0.60],
    }
)


def test_stable_silhouette_weighs_the_silhouette_of_the_stable_k_by_their_stability():
    assert stable_silhouette_choice(UNSTABLE_BEST) == 5  # 4 and 6 separate better but do not reproduce
    suggestion = suggest_k(UNSTABLE_BEST, "stable_silhouette")
    assert suggestion["suggested_k"] == 5
    assert suggestion["reason"] == (
        "chosen by elbow.method=stable_silhouette: the best silhouette times stability (0.400 x 0.90) "
        "among the K whose stability is at least 0.85 (2, 3, 5); stability at K = 5: 0.90"
    )
    # A near-tie in silhouette goes to the K that reproduces better: 0.40 x 0.90 < 0.39 x 0.95.
    assert stable_silhouette_choice(UNSTABLE_BEST.assign(silhouette=[0.30, 0.39, 0.42, 0.40, 0.45])) == 3
    assert (suggestion["at_edge"], suggestion["edge"]) == (False, None)
    assert suggestion["stability_at_k"] == 0.90


def test_no_stable_k_falls_back_to_the_most_stable_and_warns(caplog):
    scores = UNSTABLE_BEST.assign(stability=[0.5, 0.6, 0.8, 0.7, 0.4])
    with caplog.at_level("WARNING", logger="bankseg.segmentation.choosing_k"):
        suggestion = suggest_k(scores, "stable_silhouette")
    assert suggestion["suggested_k"] == 4
    assert suggestion["choices"]["stable_silhouette"] is None
    assert "fell back to the most stable K" in suggestion["reason"]
    assert any(w.startswith(f"no K reaches stability {STABLE}") for w in suggestion["warnings"])
    assert [r.getMessage() for r in caplog.records] == [f"elbow: {w}" for w in suggestion["warnings"]]


def test_a_choice_below_the_range_is_at_the_lower_edge():
    """The gap statistic choosing one group lies outside a range from 2: flagged, not silent."""
    scores = UNSTABLE_BEST.assign(gap=0.5, gap_se=0.1, silhouette=[0.30, 0.35, 0.42, 0.40, 0.38])
    scores.attrs["gap"] = [(1, 0.6, 0.1), *[(k, 0.5, 0.1) for k in range(2, 7)]]
    suggestion = suggest_k(scores, "gap")
    assert suggestion["choices"]["gap"] == 1
    assert suggestion["suggested_k"] == 4  # the fallback: the best silhouette
    assert (suggestion["at_edge"], suggestion["edge"]) == (True, "lower")
    assert suggestion["structure"] is False
    assert any("outside the range scored (2-6)" in w for w in suggestion["warnings"])
    assert any("single group" in w for w in suggestion["warnings"])


def _params(**changes) -> ElbowParams:
    base = dict(k_min=2, k_max=6, n_init=2, silhouette_sample=500, method="stable_silhouette", random_state=0)
    return ElbowParams(**(base | changes), n_bootstrap=4)


def test_every_criterion_preferring_the_largest_k_is_flagged_at_the_upper_edge(blobs, caplog):
    """Four blobs scored only up to K=4: each criterion runs into the top of the range."""
    X, _ = blobs
    with caplog.at_level("WARNING", logger="bankseg.segmentation.choosing_k"):
        scores, suggestion = choose_k(X, _params(k_max=4))
    assert {k for c, k in suggestion["choices"].items() if c not in ("knee", "gap")} == {4}
    assert suggestion["suggested_k"] == 4
    assert (suggestion["at_edge"], suggestion["edge"]) == (True, "upper")
    assert suggestion["warnings"][0].startswith("K = 4 is the largest K scored")
    assert "widen elbow.k_max" in suggestion["warnings"][0]
    assert any("largest K scored" in r.getMessage() for r in caplog.records)


@pytest.fixture(scope="module")
def two_groups():
    X, y = make_blobs(
        n_samples=[500, 300], centers=[[0.0, 0.0], [12.0, 0.0]], cluster_std=1.0, random_state=2
    )
    return X, y


def test_two_groups_are_flagged_at_the_lower_edge_with_weak_structure_beyond(two_groups):
    X, _ = two_groups
    scores, suggestion = choose_k(X, _params())
    assert suggestion["suggested_k"] == 2
    assert (suggestion["at_edge"], suggestion["edge"]) == (True, "lower")
    assert (
        scores.set_index("k").loc[3:, "stability"].max() < STABLE
    )  # cutting a round blob does not reproduce
    assert any("beyond two groups the structure is weak" in w for w in suggestion["warnings"])


def test_a_k_min_above_the_best_k_is_flagged_at_the_lower_edge(blobs):
    X, _ = blobs
    _, suggestion = choose_k(X, _params(k_min=4, k_max=7))
    assert suggestion["suggested_k"] == 4
    assert (suggestion["at_edge"], suggestion["edge"]) == (True, "lower")
    assert any("lower elbow.k_min" in w for w in suggestion["warnings"])


@pytest.mark.slow
def test_the_same_inputs_give_the_same_suggestion(two_groups):
    X, _ = two_groups
    first, second = choose_k(X, _params(random_state=7)), choose_k(X, _params(random_state=7))
    pd.testing.assert_frame_equal(first[0], second[0], check_exact=True)
    assert first[1] == second[1]
