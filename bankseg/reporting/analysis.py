"""The analyze stage's work, on data in memory: profiles, names, evaluation and figures.

:func:`analyze_segments` takes the prepared customers, their segments and the records of the
earlier stages, and returns everything the stage writes: the profile (with each segment's
portrait and traits), its metrics, the fairness and outcome figures, the warnings and the
figures. :func:`segment_report` turns the profile into the report, once the stage knows where
the figures are written. Nothing here reads or writes a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from bankseg.data.cleaning import rejection_warnings, selective_warnings
from bankseg.params import Params
from bankseg.reporting.formatting import Formatter, whole_columns
from bankseg.reporting.plots import distributions_figure, profile_heatmap, projection_figure
from bankseg.reporting.profiling import add_confidence, profile_metrics, profile_segments, segment_effects
from bankseg.reporting.report import describe_segments
from bankseg.segmentation.assignment import read_segment_names
from bankseg.segmentation.encoding import log_choices
from bankseg.segmentation.evaluation import driver_warnings, fairness, outcomes


@dataclass
class Analysis:
    profile: dict  # per segment: size, medians, mixes, portrait, traits; and the evaluation
    metrics: dict  # profile metrics for dvc metrics diff
    fairness: dict
    outcomes: dict
    warnings: list[str]  # in the order the report shows them
    formatter: Formatter  # how the report and the figures show numbers
    figures: dict[str, Any]  # role (profile, distributions, projection) -> matplotlib figure


def analysis_warnings(fair, outcome, elbow: dict, drivers: dict, quality: dict, params: Params) -> list[str]:
    """The cautions of the report, a protected column used as a feature first."""
    return (
        [w for w in fair.warnings if "used as a feature" in w]
        + list(elbow.get("warnings", []))
        + driver_warnings(drivers, params)
        + [w for w in fair.warnings if "used as a feature" not in w]
        + outcome.warnings
        + rejection_warnings(quality, limit=params.gate.max_rejected_share)
        + selective_warnings(quality.get("rejected_vs_kept"))
    )


def analyze_segments(
    *,
    customers: pd.DataFrame,
    segments: pd.Series,
    features: pd.DataFrame,
    record: dict,
    elbow: dict,
    stability: dict,
    quality: dict,
    params: Params,
) -> Analysis:
    """Profile, name, evaluate and draw the segments of ``customers``.

    ``features`` are the scaled features (for the projection), ``record`` the train stage's
    segments record, ``elbow`` and ``stability`` its metrics and ``quality`` the training
    file's data-quality metrics of the prepare stage.
    """
    names = read_segment_names(record)
    profile_columns = list(params.prepare.profile_columns)
    effects = segment_effects(
        customers, segments, params.features, profile_columns, strong_effect=params.segments.strong_effect
    )
    profile = profile_segments(customers, segments, params.features, profile_columns, names, effects)
    whole = whole_columns(customers, [f.column for f in params.features.numeric])
    formatter = Formatter(params.features, params.report, whole)
    profile["whole_numbers"] = whole
    profile = describe_segments(profile, params.features, formatter, strong=params.segments.strong_effect)
    profile = add_confidence(profile, elbow, stability)
    fair = fairness(customers, segments, params)
    outcome = outcomes(customers, segments, params, names)
    drivers = record.get("drivers", {})
    warnings = analysis_warnings(fair, outcome, elbow, drivers, quality, params)
    profile["drivers"] = drivers
    profile["evaluation"] = {
        "warnings": warnings,
        "fairness": fair.metrics,
        "outcomes": outcome.metrics,
        "quality": quality,
    }
    logs = log_choices(customers, params.features, params.featurize.skew_threshold)
    figures = {
        "profile": profile_heatmap(effects, names, params.features, formatter, drivers.get("feature_shares")),
        "distributions": distributions_figure(customers, segments, params.features, names, formatter, logs),
        "projection": projection_figure(features, segments, names, params.features),
    }
    return Analysis(
        profile=profile,
        metrics=profile_metrics(profile),
        fairness=fair.metrics,
        outcomes=outcome.metrics,
        warnings=warnings,
        formatter=formatter,
        figures=figures,
    )
