"""Profiles of segments in business terms, their automatic names, and the Markdown report.

Every feature's difference between a segment and the whole base is put on one scale, the
standardised difference (effect size): for numbers and ordered categories
``(segment mean - base mean) / base standard deviation``; for each value of an unordered
category ``(segment share - base share) / sqrt(p (1 - p))`` with ``p`` the base share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bankseg.params import YES_NO_VALUES, FeatureParams
from bankseg.personal import OTHER_VALUES, value_kind

# Differences smaller than this (in standard deviations) are not worth a mention.
MIN_EFFECT = 0.1
# Values of an unordered category profiled one by one; rarer ones together as OTHER_VALUES.
TOP_VALUES = 20


@dataclass(frozen=True)
class Effect:
    feature: str
    value: str | None  # the category value for unordered categories
    effect: float
    phrase: str


def _factorized(values: pd.Series) -> tuple[np.ndarray, list]:
    """Codes (-1 for missing) and the distinct values, in order of appearance."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, list(uniques)


def _ordered_codes(customers: pd.DataFrame, features: FeatureParams) -> dict[str, pd.Series]:
    """Numeric columns and ordered categories as numbers (category position, No=0/Yes=1)."""
    codes = {f.column: customers[f.column].astype("float64") for f in features.numeric}
    for f in features.categorical:
        if f.encoding in ("ordinal", "yes_no"):
            order = list(YES_NO_VALUES) if f.encoding == "yes_no" else list(f.order)
            found, uniques = _factorized(customers[f.column])
            # Each distinct value's position; missing, or not one of the ordered values: NaN.
            positions = np.array([order.index(u) if u in order else np.nan for u in uniques] + [np.nan])
            codes[f.column] = pd.Series(positions[found], index=customers.index)
    return codes


def top_values(values: pd.Series, n: int = TOP_VALUES) -> pd.Series:
    """``values`` with all but the ``n - 1`` most frequent (ties: the first in sorted order)
    replaced by :data:`OTHER_VALUES`, when there are more than ``n``: a column with thousands
    of values gives a profile of bounded size. A value that looks like a personal identifier
    (:func:`bankseg.personal.value_kind`: a stray e-mail address in a category) is never named."""
    counts = values.value_counts()
    shown = [value for value in counts.index if not value_kind(str(value))]
    if len(counts) <= n and len(shown) == len(counts):
        return values
    ranked = sorted(((v, counts[v]) for v in shown), key=lambda item: (-item[1], str(item[0])))
    kept = {value for value, _ in ranked[: n - 1]}
    return values.where(values.isin(kept) | values.isna(), OTHER_VALUES)


def _unordered(features: FeatureParams, profile_columns: list[str]) -> list[tuple[str, str]]:
    cols = [(f.column, f.label) for f in features.categorical if f.encoding == "onehot"]
    return cols + [(c, c.replace("_", " ")) for c in profile_columns]


def _phrase_ordered(features: FeatureParams, column: str, effect: float, strong_effect: float) -> str:
    feature = features.feature(column)
    if getattr(feature, "encoding", None) == "yes_no":
        return f"with {feature.label}" if effect > 0 else f"no {feature.label}"
    words = feature.words or ("low", "high")
    if len(words) == 3 and abs(effect) < strong_effect:
        word = words[1]
    else:
        word = words[-1] if effect > 0 else words[0]
    return word if tuple(words) != ("low", "high") else f"{word} {feature.label}"


def segment_effects(
    customers: pd.DataFrame,
    segments: pd.Series,
    features: FeatureParams,
    profile_columns: list[str],
    *,
    strong_effect: float = 0.5,
) -> dict[int, list[Effect]]:
    """For each segment, every feature's standardised difference, strongest first.

    A numeric feature with three ``words`` uses the middle one for differences smaller than
    ``strong_effect`` standard deviations.
    """
    codes = _ordered_codes(customers, features)
    segments = np.asarray(segments)
    order = sorted(pd.unique(segments))
    effects: dict[int, list[Effect]] = {int(seg): [] for seg in order}
    for column, values in codes.items():
        sd = values.std()
        if not sd or np.isnan(sd):
            continue
        overall = values.mean()
        means = values.groupby(segments).mean()
        for seg in order:
            effect = float((means[seg] - overall) / sd)
            phrase = _phrase_ordered(features, column, effect, strong_effect)
            effects[int(seg)].append(Effect(column, None, effect, phrase))
    seg_codes = np.searchsorted(order, segments)
    for column, label in _unordered(features, profile_columns):
        found, uniques = _factorized(top_values(customers[column]))
        has_value = found >= 0
        # Customers per (segment, value), and each segment's customers with a value.
        counts = np.bincount(
            seg_codes[has_value] * len(uniques) + found[has_value], minlength=len(order) * len(uniques)
        ).reshape(len(order), len(uniques))
        with_value = counts.sum(axis=1)
        total = with_value.sum()
        for v, value in enumerate(uniques):
            p = counts[:, v].sum() / total
            if p <= 0 or p >= 1:
                continue
            for s, seg in enumerate(order):
                share = counts[s, v] / with_value[s] if with_value[s] else 0.0
                effect = float((share - p) / np.sqrt(p * (1 - p)))
                effects[int(seg)].append(Effect(column, str(value), effect, f"{value} {label}"))
    return {
        seg: sorted(found, key=lambda e: (-abs(e.effect), e.feature, e.value or ""))
        for seg, found in effects.items()
    }


def profile_segments(
    customers: pd.DataFrame,
    segments: pd.Series,
    features: FeatureParams,
    profile_columns: list[str],
    names: dict[int, str],
    effects: dict[int, list[Effect]],
) -> dict:
    """Size, share, numeric summaries, category mix and differentiators of each segment."""
    total = len(customers)
    categorical = [f.column for f in features.categorical] + list(profile_columns)
    shares = {c: top_values(customers[c]) for c in categorical}
    profiles = {}
    for seg in sorted(names):
        in_seg = (segments == seg).to_numpy()
        part = customers[in_seg]
        numeric = {
            f.column: {"mean": float(part[f.column].mean()), "median": float(part[f.column].median())}
            for f in features.numeric
        }
        mix = {
            c: {
                str(k): float(v)
                for k, v in shares[c][in_seg].value_counts(normalize=True).sort_index().items()
            }
            for c in categorical
        }
        # What sets the segment apart: its strongest differences worth a mention, a category
        # value only where the segment holds more of it.
        worth = [e for e in effects[seg] if abs(e.effect) >= MIN_EFFECT]
        top = [e for e in worth if e.value is None or e.effect > 0][:5]
        under = [e for e in effects[seg] if e.value is not None and e.effect <= -MIN_EFFECT][:3]
        differences = [
            {
                "feature": e.feature if e.value is None else f"{e.feature}={e.value}",
                "column": e.feature,
                "value": e.value,
                "effect": e.effect,
                "phrase": e.phrase,
            }
            for e in top + under
        ]
        profiles[str(seg)] = {
            "name": names[seg],
            "size": int(in_seg.sum()),
            "share": float(in_seg.sum() / total),
            "numeric": numeric,
            "categories": mix,
            "differentiators": differences[: len(top)],
            "under_represented": differences[len(top) :],
        }
    base = {
        f.column: {"mean": float(customers[f.column].mean()), "median": float(customers[f.column].median())}
        for f in features.numeric
    }
    base_categories = {
        c: {str(k): float(v) for k, v in shares[c].value_counts(normalize=True).sort_index().items()}
        for c in categorical
    }
    return {
        "n_customers": total,
        "n_segments": len(names),
        "base": base,
        "base_categories": base_categories,
        "segments": profiles,
    }


def add_confidence(profile: dict, elbow: dict, stability: dict) -> dict:
    """Add the evidence for the segments: the criteria's K, the gap verdict, stability."""
    for seg, p in profile["segments"].items():
        if seg in stability["segments"]:
            p["stability"] = stability["segments"][seg]["jaccard"]
            p["stable"] = stability["segments"][seg]["stable"]
    profile["confidence"] = {
        "choices": elbow.get("choices", {}),
        "suggested_k": elbow.get("suggested_k"),
        "reason": elbow.get("reason", ""),
        "structure": elbow.get("structure"),
        "mean_ari": stability["mean_ari"],
        "threshold": stability["threshold"],
        "n_unstable": stability["n_unstable"],
    }
    return profile


# Per-segment figures worth a column in `dvc metrics diff` and `dvc exp show`.
SEGMENT_METRICS = ("size", "share", "stability")


def profile_metrics(profile: dict) -> dict:
    """Sizes, shares and stability of each segment, and what drives them: the figures a
    metrics diff should show.

    The full profile (category mixes, means, differentiators) stays in ``reports/segments.json``.
    """
    drivers = profile.get("drivers", {})
    small = set(drivers.get("small_segments", []))
    metrics = {
        "n_customers": profile["n_customers"],
        "n_segments": len(profile["segments"]),
        "segments": {
            seg: {k: p[k] for k in SEGMENT_METRICS if k in p} | {"small": seg in small}
            for seg, p in profile["segments"].items()
        },
    }
    if drivers:
        metrics |= {
            "n_small_segments": len(small),
            "max_feature_share": drivers["max_feature_share"],
            "feature_shares": drivers["feature_shares"],
            "category_agreement": (drivers.get("category_agreement") or {}).get("ari"),
        }
    return metrics
