"""Training in one call: K-means, ids that follow the reference segments, names, stability.

The functions take the data, never paths: the train stage reads the files. The Spark engine
(:mod:`bankseg.engines.spark.train`) fits K-means on Spark and shares the rest from here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.pipeline import Pipeline

from bankseg.errors import InputError
from bankseg.params import FeatureParams, Params
from bankseg.reporting.naming import Naming, name_segments
from bankseg.reporting.profiling import segment_effects
from bankseg.segmentation.evaluation import Findings, driver_warnings, segment_drivers
from bankseg.segmentation.kmeans import (
    encoded_centres,
    encoded_spread,
    fit_kmeans,
    reference_order,
    relabel,
    training_metrics,
)
from bankseg.segmentation.stability import bootstrap_stability

log = logging.getLogger(__name__)


@dataclass
class TrainedSegments:
    kmeans: KMeans
    naming: Naming
    kept: dict[int, int]  # new id -> reference id, for segments matched to the reference
    stability: dict
    record: dict  # the content of models/segments.json
    warnings: list[str]
    metrics: dict  # the content of metrics/train.json (see segment_metrics)

    @property
    def names(self) -> dict[int, str]:
        return self.naming.names


def check_reference(reference: object, source: str) -> dict:
    """A reference segments file's content, or a one-line error naming ``source``."""
    if not isinstance(reference, dict) or not isinstance(reference.get("segments"), dict):
        raise InputError(f"{source}: expected a JSON object with a 'segments' mapping")
    if reference["segments"] and not isinstance(reference.get("feature_spread"), dict):
        raise InputError(
            f"{source}: expected 'feature_spread' beside 'segments' (a copy of models/segments.json)"
        )
    for seg, entry in reference["segments"].items():
        ok = (
            str(seg).isdigit()
            and isinstance(entry, dict)
            and isinstance(entry.get("name"), str)
            and isinstance(entry.get("centre"), dict)
        )
        if not ok:
            raise InputError(
                f"{source}: segment {seg!r}: expected an integer id with a 'name' and a 'centre'"
            )
        traits = entry.get("traits", [])
        if not isinstance(traits, list) or not all(
            isinstance(t, dict)
            and isinstance(t.get("feature"), str)
            and (t.get("value") is None or isinstance(t.get("value"), str))
            and t.get("sign") in (1, -1)
            for t in traits
        ):
            raise InputError(
                f"{source}: segment {seg!r}: expected 'traits' as a list of "
                "{feature, value (text or null), sign (1 or -1)}"
            )
    return reference


def resolve_n_clusters(n_clusters: int | str, elbow: dict) -> int:
    """``train.n_clusters``, or the suggestion in the elbow stage's metrics ``elbow`` when it is ``auto``."""
    if n_clusters != "auto":
        return int(n_clusters)
    suggested = int(elbow["suggested_k"])
    log.info("n_clusters=auto: using the elbow stage's suggestion K=%d", suggested)
    return suggested


def warn_unstable(stability: dict, names: dict[int, str]) -> None:
    for seg, result in stability["segments"].items():
        if not result["stable"]:
            log.warning("segment %s (%s) is unstable: Jaccard %.2f", seg, names[int(seg)], result["jaccard"])


def feature_signature(features: FeatureParams) -> dict:
    """What decides the units of the encoded features (centres are only comparable when equal)."""
    signature: dict = {f.column: {"log": f.log} for f in features.numeric}
    for f in features.categorical:
        signature[f.column] = {"encoding": f.encoding, "order": list(f.order)}
    return signature


def follow_reference(
    kmeans: KMeans, preprocessing: Pipeline, reference: dict, params: Params
) -> tuple[np.ndarray, dict[int, int]]:
    """The relabelling ``order`` that follows ``reference`` and the kept ids (new id -> reference id).

    A reference trained on other feature settings is ignored, with a warning.
    """
    signature = feature_signature(params.features)
    if reference.get("segments") and reference.get("features", signature) != signature:
        log.warning("the reference segments were trained on other feature settings; ids start afresh")
        reference = {"segments": {}}
    return reference_order(
        encoded_centres(preprocessing, kmeans), reference, max_distance=params.segments.match_distance
    )


def segment_names(
    customers: pd.DataFrame, labels: np.ndarray, kept: dict[int, int], reference: dict, params: Params
) -> Naming:
    """Names for the segments: ``segments.names`` first; then the reference's name of a kept
    segment while the traits it states still hold; automatic names for the others."""
    segments = pd.Series(labels, index=customers.index)
    effects = segment_effects(
        customers,
        segments,
        params.features,
        list(params.prepare.profile_columns),
        strong_effect=params.segments.strong_effect,
    )
    naming = name_segments(
        effects,
        params.features,
        top_features=params.segments.top_features,
        min_effect=params.segments.min_effect,
        strong_effect=params.segments.strong_effect,
        overrides=params.segments.names,
        earlier={new: reference["segments"][str(ref)] for new, ref in kept.items()},
    )
    for seg, reason in naming.dropped.items():
        log.warning("segment %d gets a new name: %s", seg, reason)
    return naming


def naming_metrics(naming: Naming) -> dict:
    """What metrics/train.json says about the names: which earlier names were dropped and why."""
    return {
        "n_names_dropped": len(naming.dropped),
        "names_dropped": {str(k): v for k, v in naming.dropped.items()},
    }


def segment_metrics(
    kmeans: KMeans,
    X: pd.DataFrame | np.ndarray,
    labels: np.ndarray,
    stability: dict,
    naming: Naming,
    params: Params,
) -> dict:
    """The content of metrics/train.json, for both engines: :func:`bankseg.segmentation.kmeans.training_metrics`
    (the quality criteria on ``X`` with its ``labels``: every customer, or a seeded sample),
    the mean stability and the names dropped."""
    metrics = training_metrics(
        kmeans,
        X,
        labels,
        silhouette_sample=params.elbow.silhouette_sample,
        random_state=params.elbow.random_state,
    )
    return metrics | {"stability_mean_ari": stability["mean_ari"]} | naming_metrics(naming)


def segment_findings(
    X: pd.DataFrame, labels: np.ndarray, preprocessing: Pipeline, customers: pd.DataFrame, params: Params
) -> Findings:
    """What drives the segments and which are too small (:mod:`bankseg.segmentation.evaluation`)."""
    drivers = segment_drivers(
        X,
        labels,
        preprocessing,
        customers,
        params.features,
        min_share=params.segments.min_share,
        random_state=params.train.random_state,
    )
    return Findings(drivers, driver_warnings(drivers, params))


def warn(warnings: list[str]) -> None:
    for warning in warnings:
        log.warning("%s", warning)


def segments_record(
    naming: Naming, centres: pd.DataFrame, stability: dict, spread: pd.Series, params: Params
) -> dict:
    """The content of models/segments.json (also what ``pin-segments`` makes the reference):
    each segment's name with the traits it states, centre and stability."""
    return {
        "segments": {
            str(k): {
                "name": v,
                "traits": [t.as_dict() for t in naming.traits[k]],
                "centre": centres.loc[k].to_dict(),
                "stability": stability["segments"][str(k)]["jaccard"],
            }
            for k, v in naming.names.items()
        },
        "names_dropped": naming_metrics(naming)["names_dropped"],
        "feature_spread": spread.to_dict(),
        "features": feature_signature(params.features),
    }


def train_segments(
    X: pd.DataFrame,
    customers: pd.DataFrame,
    preprocessing: Pipeline,
    reference: dict,
    params: Params,
    *,
    n_clusters: int,
) -> TrainedSegments:
    """Fit K-means on the scaled features ``X`` of the cleaned ``customers`` and describe it.

    Segment ids follow ``reference`` (see :func:`bankseg.segmentation.kmeans.reference_order`); matched
    segments keep the reference's names, the others get automatic names distinct from them;
    ``segments.names`` in params override both.
    """
    kmeans = fit_kmeans(X, n_clusters=n_clusters, params=params.train)
    order, kept = follow_reference(kmeans, preprocessing, reference, params)
    kmeans = relabel(kmeans, X, order)
    log.info("%d of %d segments keep their reference id and name", len(kept), n_clusters)
    naming = segment_names(customers, kmeans.labels_, kept, reference, params)
    stability = bootstrap_stability(
        X.to_numpy(), kmeans.labels_, n_clusters, train=params.train, params=params.stability
    )
    record = segments_record(
        naming, encoded_centres(preprocessing, kmeans), stability, encoded_spread(preprocessing, X), params
    )
    findings = segment_findings(X, kmeans.labels_, preprocessing, customers, params)
    record["drivers"] = findings.metrics
    metrics = segment_metrics(kmeans, X, kmeans.labels_, stability, naming, params)
    return TrainedSegments(kmeans, naming, kept, stability, record, findings.warnings, metrics)
