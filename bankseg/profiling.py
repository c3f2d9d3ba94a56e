"""Profiles of segments in business terms, their automatic names, and the Markdown report.

Every feature's difference between a segment and the whole base is put on one scale, the
standardised difference (effect size): for numbers and ordered categories
``(segment mean - base mean) / base standard deviation``; for each value of an unordered
category ``(segment share - base share) / sqrt(p (1 - p))`` with ``p`` the base share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bankseg.cleaning import YES_NO
from bankseg.params import FeatureParams
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
            order = list(YES_NO) if f.encoding == "yes_no" else list(f.order)
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
    for f in features.numeric:
        if f.column == column:
            if len(f.words) == 3 and abs(effect) < strong_effect:
                word = f.words[1]
            else:
                word = f.words[-1] if effect > 0 else f.words[0]
            return word if tuple(f.words) != ("low", "high") else f"{word} {f.label}"
    cat = next(f for f in features.categorical if f.column == column)
    if cat.encoding == "yes_no":
        return f"with {cat.label}" if effect > 0 else f"no {cat.label}"
    return f"{'high' if effect > 0 else 'low'} {cat.label}"


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


def name_segments(
    effects: dict[int, list[Effect]], *, top_features: int, overrides: dict[int, str], min_effect: float = 0.0
) -> dict[int, str]:
    """Readable, distinct names from each segment's strongest differences.

    A name joins the phrases of the ``top_features`` strongest features (one phrase per
    feature; for unordered categories only over-represented values; none smaller than
    ``min_effect`` standard deviations). When two segments
    would share a name, more phrases are added; ``overrides`` replace names outright, and
    automatic names avoid them.
    """
    phrases: dict[int, list[str]] = {}
    rank: dict[str, int] = {}
    for seg, seg_effects in effects.items():
        seen: set[str] = set()
        chosen = []
        for e in seg_effects:
            if e.feature in seen or abs(e.effect) < min_effect or (e.value is not None and e.effect <= 0):
                continue
            seen.add(e.feature)
            chosen.append(e.phrase)
            rank[e.phrase] = 0 if e.value is None and e.phrase.split()[0] not in ("with", "no") else 1
        phrases[seg] = chosen or ["typical customers"]

    def render(words: list[str]) -> str:
        # Traits of numbers and ordered categories read best first: "Young, no active SIP".
        text = ", ".join(sorted(words, key=lambda w: rank.get(w, 1)))
        return text[0].upper() + text[1:]

    fixed = {int(k): v for k, v in overrides.items() if int(k) in phrases}
    names: dict[int, str] = dict(fixed)
    for seg in sorted(phrases):
        if seg in fixed:
            continue
        n = min(top_features, len(phrases[seg]))
        name = render(phrases[seg][:n])
        while name in names.values() and n < len(phrases[seg]):
            n += 1
            name = render(phrases[seg][:n])
        if name in names.values():
            name = f"{name} (segment {seg})"
        names[seg] = name
    return dict(sorted(names.items()))


def format_amount(value: float) -> str:
    if value is None or np.isnan(value):
        return "n/a"
    if not np.isfinite(value) or abs(value) >= 1e15:
        return f"{value:.3g}"  # never a number of hundreds of digits
    if abs(value) >= 1e6:
        return f"{value / 1e6:.2f} M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.1f} k"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}"


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
        top = [e for e in effects[seg] if e.value is None or e.effect > 0][:5]
        under = [e for e in effects[seg] if e.value is not None and e.effect <= -MIN_EFFECT][:3]
        profiles[str(seg)] = {
            "name": names[seg],
            "size": int(in_seg.sum()),
            "share": float(in_seg.sum() / total),
            "numeric": numeric,
            "categories": mix,
            "differentiators": [
                {
                    "feature": e.feature if e.value is None else f"{e.feature}={e.value}",
                    "effect": e.effect,
                    "phrase": e.phrase,
                }
                for e in top
            ],
            "under_represented": [
                {"feature": f"{e.feature}={e.value}", "effect": e.effect, "phrase": e.phrase} for e in under
            ],
            "description": describe(int(in_seg.sum()), in_seg.sum() / total, numeric, features, top),
        }
    base = {
        f.column: {"mean": float(customers[f.column].mean()), "median": float(customers[f.column].median())}
        for f in features.numeric
    }
    return {"n_customers": total, "n_segments": len(names), "base": base, "segments": profiles}


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


def confidence_lines(confidence: dict | None) -> list[str]:
    """The report's "How sure are these segments?" section."""
    if not confidence:
        return []
    paragraphs = []
    if confidence["structure"] is False:
        paragraphs.append(
            "**The data show no clear segment structure**: the gap statistic prefers a single "
            "group. The segments below split customers for convenience; they are not natural groups."
        )
    elif confidence["structure"]:
        paragraphs.append(
            f"The gap statistic finds segment structure (its choice: K={confidence['choices']['gap']})."
        )
    ari = confidence["mean_ari"]
    if ari < confidence["threshold"]:
        paragraphs.append(
            f"**The segments are not stable**: refits on bootstrap resamples agree with them only "
            f"{ari:.2f} (mean adjusted Rand index; 1 means always the same segments)."
        )
    else:
        paragraphs.append(
            f"Refits on bootstrap resamples find the same segments (mean adjusted Rand index {ari:.2f})."
        )
    if confidence["n_unstable"]:
        paragraphs.append(
            f"{confidence['n_unstable']} segment(s) fall below the stability threshold "
            f"{confidence['threshold']} (Jaccard); see their sections."
        )
    choices = ", ".join(
        f"{c.replace('_', '-')} {k}"
        for c, k in confidence["choices"].items()
        if k is not None and c != "consensus"
    )
    paragraphs.append(
        f"K = {confidence['suggested_k']}, {confidence['reason']}. Each criterion's K: {choices}."
    )
    lines = ["", "## How sure are these segments?"]
    for paragraph in paragraphs:
        lines += ["", paragraph]
    return lines


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


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _figure(kind: str, value: float | None) -> str:
    return _percent(value) if kind == "rate" else format_amount(value)


def outcome_lines(outcomes: dict, names: dict[str, str]) -> list[str]:
    """The outcome figures per segment: does the segmentation separate what the bank cares about?"""
    found = {c: o for c, o in outcomes.get("outcomes", {}).items() if o["kind"] != "categories"}
    if not found:
        return []
    md = escape_markdown
    lines = ["", "## Outcomes by segment", ""]
    lines.append(
        "How each segment does on the outcomes the bank cares about; lift is the segment's figure "
        "divided by that of all customers. The association (Cramér's V for a rate, the "
        "correlation ratio for an amount) runs from 0 (the segments do not separate it) to 1."
    )
    for o in found.values():
        what = (
            f"share with {md(o['label'])} = {md(o.get('positive', ''))}"
            if o["kind"] == "rate"
            else f"mean {md(o['label'])}"
        )
        lines += [
            "",
            f"**{md(o['label'])}**: {what}, all customers {_figure(o['kind'], o['overall'])}; association {o['association']:.2f}.",
            "",
        ]
        lines += ["| segment | name | figure | lift |", "|---|---|---|---|"]
        figure = "rate" if o["kind"] == "rate" else "mean"
        for seg, entry in o["segments"].items():
            lift = "n/a" if entry["lift"] is None else f"{entry['lift']:.2f}"
            lines.append(
                f"| {seg} | {md(names.get(seg, ''))} | {_figure(o['kind'], entry[figure])} | {lift} |"
            )
    return lines


def driver_lines(drivers: dict, labels: dict[str, str]) -> list[str]:
    """Each feature's share of the differences between segments."""
    shares = drivers.get("feature_shares", {})
    if not shares:
        return []
    lines = [
        "",
        "## What drives the segments",
        "",
        "Each feature's share of the differences between the segments (of the between-segment sum "
        "of squares of the scaled features). One feature far above the others makes segments "
        "that mostly sort customers by it.",
        "",
        "| feature | share of the differences |",
        "|---|---|",
    ]
    ranked = sorted(shares.items(), key=lambda item: (-item[1], item[0]))
    lines += [f"| {escape_markdown(labels.get(c, c))} | {share:.1%} |" for c, share in ranked]
    agreement = drivers.get("category_agreement")
    if agreement:
        columns = " and ".join(escape_markdown(labels.get(c, c)) for c in agreement["columns"])
        lines += [
            "",
            f"The categorical columns closest to the segments are {columns}: their combinations agree "
            f"with the segments at {agreement['ari']:.2f} (adjusted Rand index; 1 would mean the "
            "segments are exactly those combinations).",
        ]
    return lines


def fairness_lines(fairness: dict) -> list[str]:
    columns = fairness.get("columns", {})
    if not columns:
        return []
    lines = [
        "",
        "## Protected attributes",
        "",
        "Protected columns are never used to form the segments unless params say so; here is how "
        f"strongly the segments follow each (Cramér's V, 0 none to 1 fully; above {fairness['threshold']} is flagged).",
        "",
        "| column | association | flagged |",
        "|---|---|---|",
    ]
    lines += [
        f"| {escape_markdown(c)} | {e['association']:.2f} | {'**yes**' if e['flagged'] else 'no'} |"
        for c, e in columns.items()
    ]
    return lines


def rejection_lines(comparison: dict | None, rejected: int, read: int) -> list[str]:
    if not comparison or not rejected:
        return []
    lines = ["", "## Rejected rows", "", f"{rejected:,} of {read:,} rows were rejected by the cleaning."]
    for column, entry in comparison.get("outcomes", {}).items():
        if "kept_rate" in entry:
            lines.append(
                f"- {escape_markdown(column)}: {_percent(entry['rejected_rate'])} among rejected rows, "
                f"{_percent(entry['kept_rate'])} among kept rows{' (**selective**)' if entry['selective'] else ''}."
            )
        else:
            lines.append(
                f"- {escape_markdown(column)}: mean {format_amount(entry['rejected_mean'])} among rejected rows, "
                f"{format_amount(entry['kept_mean'])} among kept rows{' (**selective**)' if entry['selective'] else ''}."
            )
    for column, entry in comparison.get("columns", {}).items():
        if entry["selective"]:
            lines.append(
                f"- {escape_markdown(column)}: the rejected rows' values differ from the kept rows' "
                f"(distance {entry['distance']:.2f}; 0 same mix, 1 nothing in common) (**selective**)."
            )
    return lines


def describe(size: int, share: float, numeric: dict, features: FeatureParams, top: list[Effect]) -> str:
    medians = ", ".join(
        f"median {f.label} {format_amount(numeric[f.column]['median'])}" for f in features.numeric
    )
    traits = "; ".join(e.phrase for e in top[:3])
    return f"{size:,} customers ({share:.1%}): {medians}; stands out as {traits}."


def feature_labels(features: FeatureParams) -> dict[str, str]:
    """Readable label of every feature column, as set in params (``label``)."""
    return {f.column: f.label for f in (*features.numeric, *features.categorical)}


def effect_matrix(
    effects: dict[int, list[Effect]], names: dict[int, str], features: FeatureParams
) -> pd.DataFrame:
    """Segments as rows, features (and category values) as columns, effect sizes as values."""
    labels = feature_labels(features)
    rows = {}
    for seg, seg_effects in effects.items():
        rows[f"{seg}: {names[seg]}"] = {
            labels.get(e.feature, e.feature.replace("_", " "))
            + ("" if e.value is None else f": {e.value}"): e.effect
            for e in seg_effects
        }
    matrix = pd.DataFrame(rows).T
    return matrix[sorted(matrix.columns)].fillna(0.0)


def escape_markdown(text: object) -> str:
    """Text shown as it is in Markdown: punctuation that could start a link, an image, HTML, a
    table cell or an emphasis is backslash-escaped, and line breaks become spaces. Names and
    category values come from the data: in the report, they never load or format anything."""
    return re.sub(r"([\\`*_\[\]<>#!|~$&])", r"\\\1", " ".join(str(text).splitlines()))


def report_markdown(profile: dict, features: FeatureParams, *, plots: list[str]) -> str:
    """A report a marketing team can read: overview, then one section per segment.

    Every name, label and value from the data or the params is escaped (:func:`escape_markdown`)."""
    md = escape_markdown
    labels = {column: md(label) for column, label in feature_labels(features).items()}
    evaluation = profile.get("evaluation", {})
    outcomes = {
        c: o
        for c, o in evaluation.get("outcomes", {}).get("outcomes", {}).items()
        if o["kind"] != "categories"
    }
    small = set(profile.get("drivers", {}).get("small_segments", []))
    lines = ["# Customer segments", ""]
    warnings = evaluation.get("warnings", [])
    if warnings:
        lines += ["**Read this first:**", ""] + [f"- {md(w[0].upper() + w[1:])}." for w in warnings] + [""]
    lines += [f"{profile['n_customers']:,} customers in {profile['n_segments']} segments.", ""]
    header = ["segment", "name", "customers", "share"] + [
        ("share " if o["kind"] == "rate" else "mean ") + o["label"] for o in outcomes.values()
    ]
    lines += ["| " + " | ".join(md(h) for h in header) + " |", "|" + "---|" * len(header)]
    for seg, p in profile["segments"].items():
        cells = [
            seg,
            md(p["name"]),
            f"{p['size']:,}",
            f"{p['share']:.1%}" + (" (small)" if seg in small else ""),
        ]
        for o in outcomes.values():
            figure = "rate" if o["kind"] == "rate" else "mean"
            cells.append(_figure(o["kind"], o["segments"].get(seg, {}).get(figure)))
        lines.append("| " + " | ".join(cells) + " |")
    if outcomes:
        overall = ["", "all customers", f"{profile['n_customers']:,}", "100%"]
        overall += [_figure(o["kind"], o["overall"]) for o in outcomes.values()]
        lines.append("| " + " | ".join(overall) + " |")
    lines += confidence_lines(profile.get("confidence"))
    names = {seg: p["name"] for seg, p in profile["segments"].items()}
    lines += outcome_lines(evaluation.get("outcomes", {}), names)
    lines += driver_lines(profile.get("drivers", {}), feature_labels(features))
    lines += fairness_lines(evaluation.get("fairness", {}))
    quality = evaluation.get("quality") or {}
    lines += rejection_lines(
        quality.get("rejected_vs_kept"), quality.get("rows_rejected", 0), quality.get("rows_read", 0)
    )
    for seg, p in profile["segments"].items():
        lines += ["", f"## Segment {seg}: {md(p['name'])}", "", md(p["description"]), ""]
        lines += ["| feature | segment mean | segment median | all customers median |", "|---|---|---|---|"]
        for f in features.numeric:
            num = p["numeric"][f.column]
            lines.append(
                f"| {labels[f.column]} | {format_amount(num['mean'])} | {format_amount(num['median'])} "
                f"| {format_amount(profile['base'][f.column]['median'])} |"
            )
        lines += ["", "What sets it apart (standardised difference from all customers):", ""]
        lines += [f"- {md(d['phrase'])} ({d['effect']:+.2f})" for d in p["differentiators"]]
        if p.get("under_represented"):
            fewer = ", ".join(f"{md(d['phrase'])} ({d['effect']:+.2f})" for d in p["under_represented"])
            lines += ["", f"Fewer than among all customers: {fewer}."]
        if "stability" in p:
            verdict = "stable" if p["stable"] else "**unstable**: treat this segment with caution"
            lines += ["", f"Bootstrap stability (Jaccard): {p['stability']:.2f}, {verdict}."]
        lines += ["", "| category | mix in this segment |", "|---|---|"]
        for column, mix in p["categories"].items():
            shown = ", ".join(f"{md(k)} {v:.0%}" for k, v in mix.items())
            lines.append(f"| {labels.get(column, md(column.replace('_', ' ')))} | {shown} |")
    if plots:
        lines += ["", "## Plots", ""] + [f"![{name}](../plots/{name})" for name in plots]
    return "\n".join(lines) + "\n"
