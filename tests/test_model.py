"""bankseg.segmentation.kmeans: canonical segment ids, one fitted model, scoring with distances."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from bankseg.errors import InputError
from bankseg.segmentation.encoding import feature_frame
from bankseg.segmentation.kmeans import assign_segments, canonical_order, fit_kmeans, training_metrics


@pytest.fixture(scope="module")
def blob_frame(blobs) -> pd.DataFrame:
    X, _ = blobs
    return pd.DataFrame(X, columns=["x", "y"])


def test_canonical_order_puts_the_largest_cluster_first():
    centers = np.array([[0.0], [5.0], [10.0]])
    labels = np.array([0, 1, 1, 1, 2, 2])  # sizes 1, 3, 2
    assert canonical_order(centers, labels).tolist() == [1, 2, 0]


def test_canonical_order_breaks_ties_by_centre_coordinates():
    centers = np.array([[5.0, 0.0], [0.0, 9.0], [0.0, 1.0]])
    labels = np.array([0, 0, 1, 1, 2, 2])  # equal sizes
    assert canonical_order(centers, labels).tolist() == [2, 1, 0]


def test_canonical_order_puts_an_empty_cluster_last():
    centers = np.array([[0.0], [1.0], [2.0]])
    labels = np.array([2, 2, 0])
    assert canonical_order(centers, labels).tolist() == [2, 0, 1]


def test_fit_kmeans_finds_the_blobs_largest_first(blobs, blob_frame, params):
    _, truth = blobs
    kmeans = fit_kmeans(blob_frame, n_clusters=4, params=replace(params.train, n_init=3))
    assert adjusted_rand_score(truth, kmeans.labels_) == pytest.approx(1.0)
    assert np.bincount(kmeans.labels_).tolist() == [400, 300, 200, 100]
    # Segment 0 is the 400-point blob around (0, 0), segment 3 the 100 points around (10, 10).
    assert np.allclose(kmeans.cluster_centers_, [[0, 0], [10, 0], [0, 10], [10, 10]], atol=0.3)
    assert kmeans.labels_.dtype == np.int32


def test_ids_do_not_depend_on_the_random_start(blob_frame, params):
    first = fit_kmeans(blob_frame, n_clusters=4, params=replace(params.train, n_init=1, random_state=1))
    second = fit_kmeans(blob_frame, n_clusters=4, params=replace(params.train, n_init=1, random_state=7))
    assert np.array_equal(first.labels_, second.labels_)
    assert np.allclose(first.cluster_centers_, second.cluster_centers_)


def test_renumbered_model_predicts_its_own_labels(blob_frame, params):
    kmeans = fit_kmeans(blob_frame, n_clusters=4, params=replace(params.train, n_init=2))
    assert np.array_equal(kmeans.predict(blob_frame), kmeans.labels_)
    distances = kmeans.transform(blob_frame)
    assert np.array_equal(distances.argmin(axis=1), kmeans.labels_)


def test_ids_are_canonical_on_customers(trained):
    _, kmeans = trained
    sizes = np.bincount(kmeans.labels_)
    assert sizes.tolist() == sorted(sizes.tolist(), reverse=True)


def test_segments_recover_the_planted_personas(cleaned, personas, trained):
    _, kmeans = trained
    persona_of = personas.set_index(personas["customer_id"].astype(str))["persona"]
    truth = persona_of.loc[cleaned.kept["customer_id"]].to_numpy()
    assert adjusted_rand_score(truth, kmeans.labels_) > 0.8


def test_fewer_customers_than_clusters_is_an_input_error(blob_frame, params):
    with pytest.raises(InputError, match="3 customers is fewer than n_clusters=4"):
        fit_kmeans(blob_frame.head(3), n_clusters=4, params=params.train)


def test_build_model_reuses_the_fitted_parts(fitted, trained):
    preprocessing, _ = fitted
    model, kmeans = trained
    assert [name for name, _ in model.steps] == ["preprocess", "kmeans"]
    assert model.named_steps["preprocess"] is preprocessing
    assert model.named_steps["kmeans"] is kmeans


def test_assign_segments_distance_is_to_the_assigned_centre(cleaned, fitted, trained, params):
    _, X = fitted
    model, kmeans = trained
    customers = cleaned.kept.iloc[::7]
    scored = assign_segments(model, customers, params.features)
    assert list(scored.columns) == ["segment", "distance"]
    assert scored.index.equals(customers.index)
    assert scored["segment"].dtype == np.int64
    assert np.array_equal(
        scored["segment"].to_numpy(), model.predict(feature_frame(customers, params.features))
    )
    centres = kmeans.cluster_centers_[scored["segment"].to_numpy()]
    expected = np.linalg.norm(X.loc[customers.index].to_numpy() - centres, axis=1)
    assert np.allclose(scored["distance"].to_numpy(), expected)
    # The assigned centre is the nearest one.
    all_distances = np.linalg.norm(
        X.loc[customers.index].to_numpy()[:, None, :] - kmeans.cluster_centers_, axis=2
    )
    assert np.allclose(scored["distance"].to_numpy(), all_distances.min(axis=1))


def test_assign_segments_on_training_customers_gives_the_training_labels(cleaned, trained, params):
    model, kmeans = trained
    scored = assign_segments(model, cleaned.kept, params.features)
    assert np.array_equal(scored["segment"].to_numpy(), kmeans.labels_)


def test_assign_segments_of_no_customers(cleaned, trained, params):
    model, _ = trained
    scored = assign_segments(model, cleaned.kept.iloc[:0], params.features)
    assert scored.empty
    assert list(scored.columns) == ["segment", "distance"]
    assert scored["segment"].dtype == np.int64


def test_training_metrics(blob_frame, params):
    kmeans = fit_kmeans(blob_frame, n_clusters=4, params=replace(params.train, n_init=2))
    metrics = training_metrics(kmeans, blob_frame, kmeans.labels_, silhouette_sample=500, random_state=0)
    assert metrics["n_clusters"] == 4
    assert metrics["n_customers"] == 1000
    assert metrics["segment_sizes"] == {"0": 400, "1": 300, "2": 200, "3": 100}
    assert metrics["smallest_segment_share"] == pytest.approx(0.1)
    assert metrics["inertia"] == pytest.approx(kmeans.inertia_)
    assert metrics["silhouette"] > 0.8


def test_training_metrics_on_a_sample_count_every_customer(blob_frame, params):
    """The Spark engine's case: sizes and shares over every customer, the criteria on a sample."""
    kmeans = fit_kmeans(blob_frame, n_clusters=4, params=replace(params.train, n_init=2))
    rows = np.arange(0, 1000, 10)
    metrics = training_metrics(
        kmeans, blob_frame.to_numpy()[rows], kmeans.labels_[rows], silhouette_sample=500, random_state=0
    )
    everyone = training_metrics(kmeans, blob_frame, kmeans.labels_, silhouette_sample=500, random_state=0)
    assert metrics["n_customers"] == 1000
    assert metrics["segment_sizes"] == everyone["segment_sizes"]
    assert metrics["calinski_harabasz"] != everyone["calinski_harabasz"]
    assert metrics["silhouette"] > 0.8
