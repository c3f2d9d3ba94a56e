"""The segment report, in two parts: first for the people who act on the segments (who is in
each, how many, what sets them apart, in business words and real units), then for the analyst
(how the segments were chosen and how sure we are, each term explained where it first
appears). Every figure is written by :mod:`bankseg.reporting.formatting`, as in the dashboard.
"""

from __future__ import annotations

import re

from bankseg.params import YES_NO_VALUES, CategoricalFeature, FeatureParams, NumericFeature
from bankseg.reporting.formatting import Formatter, count, mix_share, share
from bankseg.reporting.naming import extreme_word, trait_words, value_text
from bankseg.reporting.profiling import MIN_EFFECT

# Traits in a segment's line of the first table, and in its own section.
TABLE_TRAITS = 3
SECTION_TRAITS = 5
# What a segment whose every difference from all customers is below MIN_EFFECT says instead.
NO_TRAITS = (
    f"nothing stands out: every difference from all customers is below {MIN_EFFECT} standard deviations"
)
# A category value held by at least this share of a segment is part of its portrait.
PORTRAIT_MAJORITY = 0.6
# The heading of the second part, and its anchor on GitHub and in the HTML version.
ANALYST_PART = "How these segments were chosen and how sure we are"
ANALYST_ANCHOR = "#how-these-segments-were-chosen-and-how-sure-we-are"


def escape_markdown(text: object) -> str:
    """Text shown as it is in Markdown: punctuation that could start a link, an image, HTML, a
    table cell or an emphasis is backslash-escaped, and line breaks become spaces. Names and
    category values come from the data: in the report, they never load or format anything."""
    return re.sub(r"([\\`*_\[\]<>#!|~$&])", r"\\\1", " ".join(str(text).splitlines()))


def _numeric_trait(
    feature: NumericFeature, effect: float, seg: dict, base: dict, fmt: Formatter, strong: float
) -> str:
    head = extreme_word(trait_words(feature), effect, strong)
    head = head or f"{'above' if effect > 0 else 'below'}-average {feature.label}"
    median = fmt.value(feature.column, seg["numeric"][feature.column]["median"])
    overall = fmt.value(feature.column, base[feature.column]["median"])
    return f"{head} (median {feature.label} {median}; all customers {overall})"


def _ordinal_trait(
    feature: CategoricalFeature, effect: float, mix: dict, base_mix: dict, strong: float
) -> str:
    half = (
        feature.order[len(feature.order) // 2 :]
        if effect > 0
        else feature.order[: (len(feature.order) + 1) // 2]
    )
    value = max(half, key=lambda v: (mix.get(v, 0.0) - base_mix.get(v, 0.0), v))
    head = (
        extreme_word(feature.words, effect, strong)
        or f"{'higher' if effect > 0 else 'lower'} {feature.label}"
    )
    return f"{head} ({mix_share(mix.get(value, 0.0))} {value_text(feature, value)}; all customers {mix_share(base_mix.get(value, 0.0))})"


def trait_text(
    difference: dict, seg: dict, profile: dict, features: FeatureParams, fmt: Formatter, *, strong: float
) -> str:
    """One of a segment's differences in plain words and real units:
    ``young (median age 25; all customers 38)``, ``98% have no demat account (all customers 38%)``."""
    column, value, effect = difference["column"], difference.get("value"), difference["effect"]
    feature = features.feature(column)
    mix = seg["categories"].get(column, {})
    base_mix = profile["base_categories"].get(column, {})
    if isinstance(feature, NumericFeature):
        return _numeric_trait(feature, effect, seg, profile["base"], fmt, strong)
    if isinstance(feature, CategoricalFeature) and feature.encoding == "ordinal":
        return _ordinal_trait(feature, effect, mix, base_mix, strong)
    if isinstance(feature, CategoricalFeature) and feature.encoding == "yes_no":
        held = YES_NO_VALUES[effect > 0]
        what = f"have {feature.label}" if effect > 0 else f"have no {feature.label}"
        return f"{mix_share(mix.get(held, 0.0))} {what} (all customers {mix_share(base_mix.get(held, 0.0))})"
    shown = value_text(feature, value) if feature is not None else f"{column.replace('_', ' ')} {value}"
    return f"{mix_share(mix.get(value, 0.0))} {shown} (all customers {mix_share(base_mix.get(value, 0.0))})"


def portrait(seg: dict, features: FeatureParams, fmt: Formatter) -> str:
    """One sentence: the typical customer's figures, then what most of the segment share."""
    figures = [
        f"{f.label} {fmt.value(f.column, seg['numeric'][f.column]['median'])}" for f in features.numeric
    ]
    shared = []
    for d in seg["differentiators"]:
        feature = features.feature(d["column"])
        if not isinstance(feature, CategoricalFeature) or feature.encoding == "ordinal":
            continue
        mix = seg["categories"].get(d["column"], {})
        if feature.encoding == "yes_no":
            held = max(YES_NO_VALUES, key=lambda v: mix.get(v, 0.0))
            text = f"{'with' if held == YES_NO_VALUES[1] else 'without'} {feature.label}"
        else:
            held, text = d["value"], value_text(feature, d["value"])
        if mix.get(held, 0.0) >= PORTRAIT_MAJORITY:
            shared.append(f"{mix_share(mix[held])} {text}")
    sentence = "Typical customer: " + ", ".join(figures) if figures else "Customers"
    if shared[:2]:
        sentence += "; " + " and ".join(shared[:2])
    return sentence + "."


def describe_segments(profile: dict, features: FeatureParams, fmt: Formatter, *, strong: float) -> dict:
    """Add each segment's ``portrait`` and its ``traits`` and ``fewer`` in plain words (a
    segment without a difference worth a mention says so)."""
    for seg in profile["segments"].values():
        seg["portrait"] = portrait(seg, features, fmt)
        seg["traits"] = [
            trait_text(d, seg, profile, features, fmt, strong=strong) for d in seg["differentiators"]
        ] or [NO_TRAITS]
        seg["fewer"] = [
            trait_text(d, seg, profile, features, fmt, strong=strong) for d in seg["under_represented"]
        ]
    return profile


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _outcome_figure(outcome: dict, value: float | None) -> str:
    return share(value) if outcome["kind"] == "rate" else ("n/a" if value is None else f"{value:,.2f}")


def _outcome_header(outcome: dict) -> str:
    return escape_markdown(outcome["label"]) + (" (share)" if outcome["kind"] == "rate" else " (mean)")


def segment_table(profile: dict, outcomes: dict) -> list[str]:
    """The first table: who each segment holds and how big it is."""
    md = escape_markdown
    small = set(profile.get("drivers", {}).get("small_segments", []))
    header = ["Segment", "Customers", "Share", "Who they are", "What sets them apart"]
    header += [_outcome_header(o) for o in outcomes.values()]
    lines = [_row(header), "|---|---:|---:|---|---|" + "---:|" * len(outcomes)]
    for seg, p in profile["segments"].items():
        cells = [
            f"**{seg} · {md(p['name'])}**",
            count(p["size"]),
            share(p["share"]) + (" (small)" if seg in small else ""),
            md(p["portrait"]),
            "; ".join(md(t) for t in p["traits"][:TABLE_TRAITS]),
        ]
        cells += [
            _outcome_figure(o, o["segments"].get(seg, {}).get("rate" if o["kind"] == "rate" else "mean"))
            for o in outcomes.values()
        ]
        lines.append(_row(cells))
    total = ["**All customers**", count(profile["n_customers"]), share(1.0), "", ""]
    total += [_outcome_figure(o, o["overall"]) for o in outcomes.values()]
    return lines + [_row(total)]


def segment_section(
    seg: str, p: dict, profile: dict, features: FeatureParams, fmt: Formatter, outcomes: dict
) -> list[str]:
    md = escape_markdown
    lines = ["", f"## {seg} · {md(p['name'])}", ""]
    lines += [f"{count(p['size'])} customers, {share(p['share'])} of all. {md(p['portrait'])}", ""]
    lines += ["What sets them apart:", ""] + [f"- {md(t)}" for t in p["traits"][:SECTION_TRAITS]]
    if p.get("fewer"):
        lines += ["", "Fewer than among all customers: " + "; ".join(md(t) for t in p["fewer"]) + "."]
    for o in outcomes.values():
        entry = o["segments"].get(seg, {})
        figure = _outcome_figure(o, entry.get("rate" if o["kind"] == "rate" else "mean"))
        lines += [
            "",
            f"{md(o['label'])}: {figure} in this segment, {_outcome_figure(o, o['overall'])} among all customers.",
        ]
    lines += ["", "| | this segment (median) | all customers (median) |", "|---|---:|---:|"]
    for f in features.numeric:
        lines.append(
            _row(
                [
                    md(f.label),
                    fmt.value(f.column, p["numeric"][f.column]["median"]),
                    fmt.value(f.column, profile["base"][f.column]["median"]),
                ]
            )
        )
    lines += ["", "| | this segment | all customers |", "|---|---|---|"]
    for column, mix in p["categories"].items():
        base = profile["base_categories"].get(column, {})
        lines.append(_row([md(fmt.label(column)), _mix(column, mix, fmt), _mix(column, base, fmt)]))
    return lines


def _mix(column: str, mix: dict[str, float], fmt: Formatter) -> str:
    ordered = sorted(mix.items(), key=lambda item: (-item[1], item[0]))
    return (
        ", ".join(f"{escape_markdown(fmt.category(column, k))} {mix_share(v)}" for k, v in ordered) or "n/a"
    )


def first_lines(evaluation: dict) -> list[str]:
    """What a reader must know before the table: protected columns used to form the segments,
    and, in plain words, that the second part holds cautions."""
    warnings = evaluation.get("warnings", [])
    lines = [f"**{escape_markdown(w[0].upper() + w[1:])}.**" for w in warnings if "used as a feature" in w]
    cautions = [w for w in warnings if "used as a feature" not in w]
    if cautions:
        lines.append(
            f"**Before acting on these segments, read the {len(cautions)} caution(s) in "
            f"[{ANALYST_PART}]({ANALYST_ANCHOR}).**"
        )
    return lines + [""] if lines else []


def choice_lines(confidence: dict | None) -> list[str]:
    """How K was chosen, with every criterion explained once."""
    if not confidence:
        return []
    lines = [
        "",
        "### How many segments",
        "",
        "The number of segments, K, was chosen by fitting K-means for each K in the range scored and "
        "comparing criteria: the *silhouette* (how much closer customers are to their own segment "
        "than to the next one, from -1 to 1, higher is better), the *Calinski-Harabasz* and "
        "*Davies-Bouldin* indices (how tight segments are against how far apart; higher and lower is "
        "better), the *knee* of the within-segment spread (where adding a segment stops paying), the "
        "*gap statistic* (the tightness of the segments against customers spread without any "
        "structure) and *stability* (whether refits on resampled customers find the same segments, "
        "measured by the *adjusted Rand index*: 1 the same segments, 0 no better than chance).",
        "",
        f"K = {confidence['suggested_k']}, {escape_markdown(confidence['reason'])}.",
    ]
    choices = ", ".join(
        f"{c.replace('_', '-')} {k}"
        for c, k in confidence["choices"].items()
        if k is not None and c != "consensus"
    )
    if choices:
        lines += ["", f"Each criterion's own choice of K: {choices}."]
    if confidence["structure"] is False:
        lines += [
            "",
            "**The data show no clear segment structure**: the gap statistic prefers a single group. "
            "The segments split customers for convenience; they are not natural groups.",
        ]
    elif confidence["structure"]:
        lines += [
            "",
            f"The gap statistic finds segment structure (its own choice: K = {confidence['choices']['gap']}).",
        ]
    return lines


def stability_lines(profile: dict) -> list[str]:
    confidence = profile.get("confidence")
    if not confidence:
        return []
    ari, threshold = confidence["mean_ari"], confidence["threshold"]
    verdict = (
        f"**The segments are not stable**: refits agree with them only {ari:.2f}"
        if ari < threshold
        else f"Refits find the same segments (mean adjusted Rand index {ari:.2f})"
    )
    lines = [
        "",
        "### How stable the segments are",
        "",
        f"The trained model was refitted on bootstrap resamples of the customers (samples drawn with "
        f"replacement). {verdict}. Per segment, the *Jaccard* stability is the share of customers a "
        f"segment and its counterpart in a refit have in common, averaged over the refits; below "
        f"{threshold} a segment is flagged as unstable.",
        "",
        "| segment | Jaccard stability | stable |",
        "|---|---:|---|",
    ]
    for seg, p in profile["segments"].items():
        if "stability" in p:
            lines.append(
                _row(
                    [
                        f"{seg} · {escape_markdown(p['name'])}",
                        f"{p['stability']:.2f}",
                        "yes" if p["stable"] else "**no**",
                    ]
                )
            )
    return lines


def driver_lines(drivers: dict, fmt: Formatter) -> list[str]:
    """Each feature's share of the differences between segments."""
    shares = drivers.get("feature_shares", {})
    if not shares:
        return []
    lines = [
        "",
        "### What drives the segments",
        "",
        "Each feature's share of the differences between the segments (its part of the between-segment "
        "sum of squares of the scaled features). One feature far above the others makes segments "
        "that mostly sort customers by it.",
        "",
        "| feature | share of the differences |",
        "|---|---:|",
    ]
    ranked = sorted(shares.items(), key=lambda item: (-item[1], item[0]))
    lines += [_row([escape_markdown(fmt.label(c)), share(s)]) for c, s in ranked]
    agreement = drivers.get("category_agreement")
    if agreement:
        columns = " and ".join(escape_markdown(fmt.label(c)) for c in agreement["columns"])
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
        "### Protected attributes",
        "",
        "Protected columns are never used to form the segments unless params say so. How strongly the "
        "segments follow each is measured by *Cramér's V*, from 0 (the segments say nothing about it) "
        f"to 1 (they determine it); above {fairness['threshold']} is flagged.",
        "",
        "| column | association | flagged |",
        "|---|---:|---|",
    ]
    lines += [
        _row([escape_markdown(c), f"{e['association']:.2f}", "**yes**" if e["flagged"] else "no"])
        for c, e in columns.items()
    ]
    return lines


def outcome_lines(outcomes: dict) -> list[str]:
    """How well the segments separate each outcome."""
    if not outcomes:
        return []
    lines = [
        "",
        "### How well the segments separate the outcomes",
        "",
        "The *lift* of a segment is its figure divided by that of all customers. The *association* "
        "runs from 0 (the segments do not separate the outcome) to 1 (they determine it): Cramér's V "
        "for a rate, the correlation ratio for an amount.",
        "",
        "| outcome | association | highest lift | lowest lift |",
        "|---|---:|---:|---:|",
    ]
    for o in outcomes.values():
        lifts = [e["lift"] for e in o["segments"].values() if e.get("lift") is not None]
        high, low = (f"{max(lifts):.2f}", f"{min(lifts):.2f}") if lifts else ("n/a", "n/a")
        lines.append(_row([escape_markdown(o["label"]), f"{o['association']:.2f}", high, low]))
    return lines


def rejection_lines(quality: dict) -> list[str]:
    rejected, read = quality.get("rows_rejected", 0), quality.get("rows_read", 0)
    if not rejected:
        return []
    lines = [
        "",
        "### Rejected rows",
        "",
        f"{count(rejected)} of {count(read)} rows were rejected by the cleaning.",
    ]
    comparison = quality.get("rejected_vs_kept") or {}
    for column, entry in comparison.get("outcomes", {}).items():
        flag = " (**selective**)" if entry["selective"] else ""
        if "kept_rate" in entry:
            lines.append(
                f"- {escape_markdown(column)}: {share(entry['rejected_rate'])} among rejected rows, "
                f"{share(entry['kept_rate'])} among kept rows{flag}."
            )
        else:
            lines.append(
                f"- {escape_markdown(column)}: mean {entry['rejected_mean']:,.2f} among rejected rows, "
                f"{entry['kept_mean']:,.2f} among kept rows{flag}."
            )
    for column, entry in comparison.get("columns", {}).items():
        if entry["selective"]:
            lines.append(
                f"- {escape_markdown(column)}: the rejected rows' values differ from the kept rows' "
                f"(distance {entry['distance']:.2f}; 0 same mix, 1 nothing in common) (**selective**)."
            )
    return lines


def drift_lines(drift: dict | None, names: dict[str, str], fmt: Formatter) -> list[str]:
    """How the new customers compare with those the segments were trained on."""
    if not drift or not drift.get("n_new"):
        return []
    lines = [
        "",
        "### New customers against the training customers",
        "",
        f"{count(drift['n_new'])} new customers were scored with the trained model. The *population "
        "stability index* (PSI) of a feature measures how far its distribution among them moved "
        f"from the training customers' (0 none; above {drift['psi_threshold']} is flagged).",
        "",
        "| segment | training share | new customers' share |",
        "|---|---:|---:|",
    ]
    for seg, new_share in drift.get("new_share", {}).items():
        change = drift.get("share_change", {}).get(seg, 0.0)
        lines.append(
            _row(
                [
                    f"{seg} · {escape_markdown(names.get(seg, ''))}",
                    share(new_share - change),
                    share(new_share),
                ]
            )
        )
    moved = sorted(drift.get("psi", {}).items(), key=lambda item: (-item[1], item[0]))
    lines += [
        "",
        "Largest PSI: " + ", ".join(f"{escape_markdown(fmt.label(c))} {v:.3f}" for c, v in moved[:3]) + ".",
    ]
    return lines


def report_markdown(
    profile: dict,
    features: FeatureParams,
    fmt: Formatter,
    *,
    plots: dict[str, str],
    drift: dict | None = None,
) -> str:
    """The report: the segments for the people who act on them, then how they were chosen.

    ``plots`` maps a figure's role (``profile``, ``distributions``, ``elbow``, ``projection``)
    to its path relative to the report. Every name, label and value from the data or the
    params is escaped (:func:`escape_markdown`)."""
    evaluation = profile.get("evaluation", {})
    outcomes = {
        c: o
        for c, o in evaluation.get("outcomes", {}).get("outcomes", {}).items()
        if o["kind"] != "categories"
    }
    lines = ["# Customer segments", ""]
    lines += first_lines(evaluation)
    lines += [f"{count(profile['n_customers'])} customers in {profile['n_segments']} segments.", ""]
    lines += segment_table(profile, outcomes)
    for role, title in (("profile", "How the segments differ"), ("distributions", "Figures by segment")):
        if role in plots:
            lines += ["", f"![{title}]({plots[role]})"]
    for seg, p in profile["segments"].items():
        lines += segment_section(seg, p, profile, features, fmt, outcomes)
    lines += ["", f"## {ANALYST_PART}"]
    warnings = [w for w in evaluation.get("warnings", []) if "used as a feature" not in w]
    if warnings:
        lines += ["", "### Cautions", ""] + [f"- {escape_markdown(w[0].upper() + w[1:])}." for w in warnings]
    lines += choice_lines(profile.get("confidence"))
    if "elbow" in plots:
        lines += ["", f"![Choosing the number of segments]({plots['elbow']})"]
    lines += stability_lines(profile)
    lines += driver_lines(profile.get("drivers", {}), fmt)
    if "projection" in plots:
        lines += [
            "",
            f"![Customers by segment on the two main directions of the data]({plots['projection']})",
        ]
    lines += outcome_lines(outcomes)
    lines += fairness_lines(evaluation.get("fairness", {}))
    lines += rejection_lines(evaluation.get("quality") or {})
    names = {seg: p["name"] for seg, p in profile["segments"].items()}
    lines += drift_lines(drift, names, fmt)
    return "\n".join(lines) + "\n"
