"""bankseg.engines.training: segment ids and names persist across random starts and more customers."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from bankseg.data.cleaning import clean_customers
from bankseg.data.generate import generate_customers
from bankseg.engines.training import check_reference, resolve_n_clusters, train_segments
from bankseg.errors import InputError
from bankseg.segmentation.encoding import fit_preprocessing

NO_REFERENCE = {"segments": {}}


def _settings(params, random_state: int):
    return replace(
        params,
        train=replace(params.train, n_init=3, random_state=random_state),
        stability=replace(params.stability, n_bootstrap=3, sample_size=800),
    )


def _train(customers: pd.DataFrame, params, reference: dict, random_state: int = 42, n_clusters: int = 5):
    preprocessing, X = fit_preprocessing(customers, params.features, params.featurize)
    return train_segments(
        X, customers, preprocessing, reference, _settings(params, random_state), n_clusters=n_clusters
    )


@pytest.fixture(scope="module")
def first(cleaned, params):
    return _train(cleaned.kept, params, NO_REFERENCE)


def _by_id(trained, customers: pd.DataFrame) -> pd.Series:
    return pd.Series(trained.kmeans.labels_[: len(customers)], index=customers["customer_id"].to_numpy())


def test_record_holds_names_centres_stability_and_spread(first, params):
    record = first.record
    assert set(record["segments"]) == {"0", "1", "2", "3", "4"}
    assert record["features"]["networth"] == {"log": True}
    assert record["features"]["income_slab"] == {"encoding": "ordinal", "order": ["Low", "Medium", "High"]}
    encoded = set(record["feature_spread"])
    for segment in record["segments"].values():
        assert set(segment) == {"name", "traits", "centre", "stability"}
        assert segment["traits"] and all(t["sign"] in (1, -1) for t in segment["traits"])
        assert set(segment["centre"]) == encoded
        assert 0 <= segment["stability"] <= 1
    assert "age" in encoded and "account_type_Savings" in encoded
    assert first.kept == {}
    assert len(set(first.names.values())) == 5
    assert record["names_dropped"] == {}


def test_metrics_describe_the_fit_the_stability_and_the_names(first):
    metrics = first.metrics
    assert metrics["n_clusters"] == 5
    assert metrics["n_customers"] == len(first.kmeans.labels_)
    assert sum(metrics["segment_sizes"].values()) == len(first.kmeans.labels_)
    assert metrics["inertia"] == first.kmeans.inertia_
    assert metrics["stability_mean_ari"] == first.stability["mean_ari"]
    assert metrics["n_names_dropped"] == 0 and metrics["names_dropped"] == {}
    assert -1 <= metrics["silhouette"] <= 1


def test_n_clusters_auto_takes_the_elbow_suggestion():
    assert resolve_n_clusters("auto", {"suggested_k": 6}) == 6
    assert resolve_n_clusters(4, {"suggested_k": 6}) == 4


def test_another_random_start_keeps_ids_and_names(first, cleaned, params):
    again = _train(cleaned.kept, params, first.record, random_state=7)
    assert again.kept == {i: i for i in range(5)}
    assert again.names == first.names
    assert (again.kmeans.labels_ == first.kmeans.labels_).mean() > 0.99


def test_five_percent_more_customers_keep_ids_and_names(first, cleaned, params):
    extra, _ = generate_customers(75, seed=99, first_id=900000)
    more = pd.concat(
        [cleaned.kept, clean_customers(extra, params, source="extra.csv").kept], ignore_index=True
    )
    grown = _train(more, params, first.record)
    assert grown.kept == {i: i for i in range(5)}
    assert grown.names == first.names
    same = _by_id(grown, cleaned.kept) == _by_id(first, cleaned.kept)
    assert same.mean() > 0.98


def test_reference_ids_are_followed_even_when_sizes_would_order_them_otherwise(first, cleaned, params):
    """A reference listing the same segments under shuffled ids: the ids follow it."""
    shuffle = {"0": "3", "1": "0", "2": "4", "3": "1", "4": "2"}
    reference = {
        "segments": {
            new: first.record["segments"][old] | {"name": f"Renamed {old}"} for old, new in shuffle.items()
        },
        "feature_spread": first.record["feature_spread"],
    }
    again = _train(cleaned.kept, params, reference)
    for old, new in shuffle.items():
        assert again.names[int(new)] == f"Renamed {old}"
        moved = again.kmeans.labels_ == int(new)
        assert (first.kmeans.labels_[moved] == int(old)).mean() > 0.99


def test_a_segment_far_from_every_reference_gets_a_fresh_automatic_name(first, cleaned, params):
    segments = {k: dict(v) for k, v in first.record["segments"].items()}
    segments["4"] = {
        **segments["4"],
        "name": "Gone",
        "centre": {c: v + 50 for c, v in segments["4"]["centre"].items()},
    }
    again = _train(
        cleaned.kept, params, {"segments": segments, "feature_spread": first.record["feature_spread"]}
    )
    assert again.kept == {0: 0, 1: 1, 2: 2, 3: 3}
    assert "Gone" not in again.names.values()
    assert again.names[4] == first.names[4]  # the automatic name of the same segment
    assert len(set(again.names.values())) == 5


def test_a_reference_trained_on_other_feature_settings_is_ignored(first, cleaned, params):
    other = {**first.record, "features": {**first.record["features"], "age": {"log": True}}}
    again = _train(cleaned.kept, params, other)
    assert again.kept == {}
    assert again.record["features"] == first.record["features"]


def test_user_names_override_reference_names(first, cleaned, params):
    settings = replace(params, segments=replace(params.segments, names={2: "Retirees"}))
    again = _train(cleaned.kept, settings, first.record)
    assert again.names[2] == "Retirees"
    assert again.names[0] == first.names[0]


def test_fewer_segments_drop_a_pinned_name_that_no_longer_fits(first, cleaned, params):
    """Four segments against five pinned ones: segments that merge two personas keep a pinned id
    but lose a pinned name whose traits they no longer have; the kept names still hold."""
    fewer = _train(cleaned.kept, params, first.record, n_clusters=4)
    assert len(fewer.kept) >= 3
    dropped = fewer.naming.dropped
    assert dropped, "a merged segment kept a name that no longer describes it"
    for seg, reason in dropped.items():
        old = first.record["segments"][str(fewer.kept[seg])]["name"]
        assert fewer.names[seg] != old
        assert reason.startswith(f"'{old}' no longer fits: the segment is no longer '")
        assert fewer.record["names_dropped"][str(seg)] == reason
    for seg, ref in fewer.kept.items():
        if seg not in dropped:
            assert fewer.names[seg] == first.record["segments"][str(ref)]["name"]
            assert (
                fewer.record["segments"][str(seg)]["traits"] == first.record["segments"][str(ref)]["traits"]
            )


def test_a_merged_segment_with_no_demat_account_is_not_named_for_it(first, cleaned, params):
    """The case behind the rule: after merging, 40% of 'SIP investors ... without demat account'
    hold a demat account; the name no longer says they have none."""
    fewer = _train(cleaned.kept, params, first.record, n_clusters=4)
    labels = pd.Series(fewer.kmeans.labels_, index=cleaned.kept.index)
    for seg, name in fewer.names.items():
        demat = (cleaned.kept.loc[labels == seg, "has_demat_account"] == "Yes").mean()
        if "without demat account" in name or "without active SIP or demat account" in name:
            assert demat < 0.1, (name, demat)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            {
                "segments": {"0": {"name": "A", "centre": {}, "traits": [{"feature": "age"}]}},
                "feature_spread": {},
            },
            "segment '0': expected 'traits' as a list",
        ),
        ([], "expected a JSON object with a 'segments' mapping"),
        ({"segments": {"0": {"name": "A", "centre": {}}}}, "expected 'feature_spread'"),
        ({"segments": {"0": {"name": "A"}}, "feature_spread": {}}, "segment '0': expected an integer id"),
        ({"segments": {"x": {"name": "A", "centre": {}}}, "feature_spread": {}}, "segment 'x'"),
    ],
)
def test_a_malformed_reference_is_one_clear_error(content, expected):
    with pytest.raises(InputError, match=expected):
        check_reference(content, "models/reference_segments.json")


def test_an_empty_reference_is_accepted():
    assert check_reference(NO_REFERENCE, "ref.json") == NO_REFERENCE
