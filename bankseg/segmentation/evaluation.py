"""What the segments are worth to a bank: what drives them, whether they are fair, and whether
they separate the outcomes it cares about.

Each function takes data and settings and returns JSON-ready results with the warnings they
raise, in plain words; the stages log them, the report shows them and the metrics files keep
the figures for ``dvc metrics diff`` and ``dvc exp show``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from bankseg.data.association import outcome_summary, protected_summary
from bankseg.data.cleaning import protected_columns
from bankseg.params import FeatureParams, Params
from bankseg.personal import listed, protected_name
from bankseg.segmentation.separation import category_agreement, feature_groups, separation_shares


@dataclass
class Findings:
    """Figures for a metrics file and the warnings they raise."""

    metrics: dict
    warnings: list[str] = field(default_factory=list)


def _label(features: FeatureParams, column: str) -> str:
    return next((f.label for f in features.all if f.column == column), column.replace("_", " "))


def segment_drivers(
    X: pd.DataFrame,
    labels: np.ndarray,
    preprocessing: Pipeline,
    customers: pd.DataFrame,
    features: FeatureParams,
    *,
    min_share: float,
    random_state: int = 0,
) -> dict:
    """Each feature's share of the separation between segments, how far the segments are just
    the combinations of one or two categorical columns (adjusted Rand index), and the segments
    holding less than ``min_share`` of the customers (too few to act on, and often the
    customers of one rare value)."""
    shares = separation_shares(X, labels, feature_groups(preprocessing))
    categorical = [f.column for f in features.categorical]
    sizes = np.bincount(np.asarray(labels))
    return {
        "feature_shares": {column: round(share, 6) for column, share in shares.items()},
        "max_feature_share": round(max(shares.values(), default=0.0), 6),
        "category_agreement": category_agreement(customers, labels, categorical, random_state=random_state),
        "segment_shares": {str(seg): round(n / sizes.sum(), 6) for seg, n in enumerate(sizes)},
        "small_segments": [str(seg) for seg, n in enumerate(sizes) if n / sizes.sum() < min_share],
    }


def driver_warnings(drivers: dict, params: Params) -> list[str]:
    """The warnings :func:`segment_drivers`' figures raise, in plain words."""
    if not drivers:
        return []
    features, settings = params.features, params.segments
    warnings = []
    shares = drivers["feature_shares"]
    top = max(shares, key=lambda column: (shares[column], column), default=None)  # JSON sorts keys
    share = shares.get(top, 0.0)
    if top is not None and share > settings.max_feature_share:
        warnings.append(
            f"{_label(features, top)} alone makes {share:.0%} of the differences between segments "
            f"(more than segments.max_feature_share {settings.max_feature_share:.0%}): the segments "
            f"mostly sort customers by {_label(features, top)}; lower its weight or check its scaling"
        )
    agreement = drivers.get("category_agreement")
    if agreement and agreement["ari"] >= settings.max_category_agreement:
        shown = " and ".join(_label(features, c) for c in agreement["columns"])
        warnings.append(
            f"the segments are essentially the combinations of {shown} (agreement {agreement['ari']:.2f}, "
            f"adjusted Rand index, at least segments.max_category_agreement {settings.max_category_agreement}): "
            "a grouping by those columns would say as much"
        )
    for seg in drivers.get("small_segments", []):
        warnings.append(
            f"segment {seg} holds only {drivers['segment_shares'][seg]:.1%} of the customers (below "
            f"segments.min_share {settings.min_share:.0%}): too small to act on alone; look at what "
            "sets it apart before using it"
        )
    return warnings


def fairness(customers: pd.DataFrame, segments: pd.Series, params: Params) -> Findings:
    """Cramér's V between the segments and every protected column in the data; protected
    columns used as features (opted in with fairness.use_as_feature) are named."""
    settings = params.fairness
    used = [c for c in params.features.columns if protected_name(c, settings.protected)]
    profiled = protected_columns(list(customers.columns), params)
    columns = {}
    warnings = []
    for column in profiled:
        summary = protected_summary(segments, customers[column], threshold=settings.max_association)
        columns[column] = {"association": round(summary["association"], 6), "flagged": summary["flagged"]}
        if summary["flagged"]:
            warnings.append(
                f"the segments follow the protected attribute {column} (Cramér's V {summary['association']:.2f} "
                f"> fairness.max_association {settings.max_association}): offers targeted by segment "
                "would treat its groups differently"
            )
    for column in used:
        warnings.append(
            f"the protected attribute {column} is used as a feature (fairness.use_as_feature): the "
            "segments are partly made from it"
        )
    associations = [c["association"] for c in columns.values()]
    metrics = {
        "max_association": max(associations, default=0.0),
        "threshold": settings.max_association,
        "flagged": [c for c, entry in columns.items() if entry["flagged"]],
        "used_as_features": used,
        "columns": columns,
    }
    return Findings(metrics, warnings)


def outcomes(customers: pd.DataFrame, segments: pd.Series, params: Params, names: dict[int, str]) -> Findings:
    """For each outcome column: its rate (or mean) per segment, the lift against all customers,
    and how strongly the segments separate it (Cramér's V, or the correlation ratio)."""
    metrics: dict = {}
    warnings = []
    for outcome in params.outcomes:
        column = listed(outcome.column, customers.columns)
        if column is None:
            warnings.append(f"outcome column {outcome.column} is not in the customers: nothing to judge")
            continue
        summary = outcome_summary(segments, customers[column], positive=outcome.positive, names=names)
        figure = "rate" if summary["kind"] == "rate" else "mean"
        entry = {
            "label": outcome.label,
            "kind": summary["kind"],
            "association": round(summary["association"], 6),
        }
        if summary["kind"] != "categories":
            entry["overall"] = summary["overall"]
            if summary["kind"] == "rate":
                entry["positive"] = summary["positive"]
            entry["segments"] = {
                seg: {figure: s[figure], "lift": s["lift"]} for seg, s in summary["segments"].items()
            }
            entry["best_segment"], entry["worst_segment"] = summary["best_segment"], summary["worst_segment"]
        metrics[outcome.column] = entry
    best = max((e["association"] for e in metrics.values()), default=None)
    return Findings({"max_association": best, "outcomes": metrics}, warnings)
