"""Figures for people. Each function returns a matplotlib Figure; the caller saves it.

Every figure names segments by their names (never bare numbers) and gives each segment the same
colour (:func:`segment_colours`); axes read in the features' own units (:mod:`bankseg.reporting.formatting`).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib import cbook, colormaps, rcParams, transforms
from matplotlib.colors import Normalize, to_rgba
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator
from sklearn.decomposition import PCA

from bankseg.params import FeatureParams

if TYPE_CHECKING:
    from bankseg.reporting.formatting import Formatter
    from bankseg.reporting.profiling import Effect

LABEL_CHARS = 80  # longer names and values are cut in figures (the report has them whole)
NAME_WIDTH = 30  # characters per line of a segment name beside an axis or in a legend
NEAR_EMPTY = 0.1  # profile columns whose difference is below this in every segment are left out
BLACK, WHITE = (0.0, 0.0, 0.0, 1.0), (1.0, 1.0, 1.0, 1.0)


def _cut(text: object, limit: int = LABEL_CHARS) -> str:
    text = " ".join(str(text).split())
    return text[: limit - 1] + "…" if len(text) > limit else text


def _escape(text: str) -> str:
    return text.replace("$", r"\$")


def label(text: object, limit: int = LABEL_CHARS) -> str:
    """Text from the data or the params as a figure shows it: cut to ``limit`` characters, on
    one line, and with ``$`` escaped, which matplotlib would otherwise read as the start of a
    formula (and fail to draw a malformed one)."""
    return _escape(_cut(text, limit))


def wrapped(text: object, width: int = NAME_WIDTH, limit: int = LABEL_CHARS) -> str:
    """:func:`label` on lines of at most ``width`` characters (a segment name beside an axis),
    cut after a whole word where one ends in the last quarter of ``limit``."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        head = text[: limit - 1]
        space = head.rfind(" ")
        text = (head[:space].rstrip(" ,;:") if space >= limit * 3 // 4 else head) + "…"
    return _escape(textwrap.fill(text, width=width, break_on_hyphens=False))


def segment_colours(names: Mapping[int, object] | Iterable[int]) -> dict[int, tuple[float, ...]]:
    """One colour per segment id, the same in every figure: tab10 by id (tab20 beyond ten
    segments, evenly spaced colours beyond twenty)."""
    ids = sorted(int(s) for s in names)
    n = max(ids) + 1 if ids else 0
    if n <= 10:
        palette = list(colormaps["tab10"].colors)
    elif n <= 20:
        palette = list(colormaps["tab20"].colors)
    else:
        palette = [colormaps["turbo"](x) for x in np.linspace(0.05, 0.95, n)]
    return {s: tuple(to_rgba(palette[s % len(palette)])) for s in ids}


def _lighter(colour, amount: float = 0.45) -> tuple[float, ...]:
    r, g, b, a = to_rgba(colour)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount, a)


def luminance(colour) -> float:
    """Relative luminance of a colour (WCAG 2): 0 for black, 1 for white."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b, _ = to_rgba(colour)
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a, b) -> float:
    """WCAG contrast ratio of two colours, from 1 (the same) to 21 (black on white)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_colour(background) -> tuple[float, ...]:
    """Black or white, whichever reads better on ``background``."""
    return BLACK if contrast(BLACK, background) >= contrast(WHITE, background) else WHITE


# ---------------------------------------------------------------------------------------------
# Choosing K

ELBOW_PANELS = [
    ("inertia", "inertia (lower is tighter)", "knee"),
    ("silhouette", "silhouette (higher is better)", "silhouette"),
    ("calinski_harabasz", "Calinski-Harabasz (higher is better)", "calinski_harabasz"),
    ("davies_bouldin", "Davies-Bouldin (lower is better)", "davies_bouldin"),
    ("gap", "gap statistic with standard error", "gap"),
    ("stability", "stability: bootstrap adjusted Rand index", "stability"),
]
SUGGESTED_COLOUR = "tab:red"
CHOICE_COLOUR = "tab:orange"


def elbow_figure(scores: pd.DataFrame, suggestion: dict) -> Figure:
    """One panel per criterion. A large star on each curve marks that criterion's own choice
    ("its choice: K=6" above the panel); a shaded band behind the curves marks the suggested K,
    so both show when they coincide. The title warns when the suggested K sits at an end of the
    range scored."""
    panels = [p for p in ELBOW_PANELS if p[0] in scores]
    rows = (len(panels) + 1) // 2
    fig = Figure(figsize=(11, 3.9 * rows), layout="constrained")
    axes = fig.subplots(rows, 2, squeeze=False)
    ks = [int(k) for k in scores["k"]]
    suggested = suggestion["suggested_k"]
    for ax, (column, title, criterion) in zip(axes.flat, panels, strict=False):
        if column == "gap" and "gap_se" in scores:
            ax.errorbar(ks, scores["gap"], yerr=scores["gap_se"], marker="o", capsize=3, zorder=3)
        else:
            ax.plot(ks, scores[column], marker="o", zorder=3)
        handles, texts = [], []
        choice = suggestion.get("choices", {}).get(criterion)
        if choice is not None and int(choice) in ks:
            y = float(scores[column].iloc[ks.index(int(choice))])
            (star,) = ax.plot(
                [int(choice)],
                [y],
                linestyle="none",
                marker="*",
                markersize=20,
                markerfacecolor=CHOICE_COLOUR,
                markeredgecolor="black",
                markeredgewidth=1,
                zorder=4,
            )
            handles.append(star)
            texts.append(f"its choice: K={choice}")
        elif choice is not None:
            handles.append(Line2D([], [], linestyle="none"))
            texts.append(f"its choice: K={choice} (not in the range scored)")
        band = ax.axvspan(
            suggested - 0.3, suggested + 0.3, color=SUGGESTED_COLOUR, alpha=0.18, lw=0, zorder=0
        )
        handles.append(band)
        texts.append(f"suggested K={suggested}")
        ax.set_xticks(ks)
        if float(np.nanmax(np.abs(scores[column].to_numpy(dtype="float64")))) >= 1000:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: f"{y:,.0f}"))
        ax.margins(y=0.12)
        ax.grid(axis="y", alpha=0.3, zorder=0)
        ax.set_title(title, pad=24)
        ax.set_xlabel("number of segments K")
        # Above the panel, between title and curve: never over the data.
        ax.legend(
            handles,
            texts,
            loc="lower left",
            bbox_to_anchor=(0.0, 1.0),
            ncols=2,
            frameon=False,
            fontsize="small",
            borderaxespad=0.2,
            handletextpad=0.4,
            markerscale=0.7,
        )
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    title = f"Choosing K: suggested K={suggested} by {suggestion['method']}"
    if suggestion.get("at_edge"):
        # A K at the end of the range may only be where the sweep stopped: say so where people look.
        title += (
            f"\nat the {suggestion['edge']} end of the range scored: see the warnings in metrics/elbow.json"
        )
    fig.suptitle(title, color="tab:red" if suggestion.get("at_edge") else "black", fontsize="large")
    return fig


# ---------------------------------------------------------------------------------------------
# Segment profiles

# Kinds of profile column, in the order the heatmap shows them, with their titles.
PROFILE_GROUPS = (
    ("number", "numbers"),
    ("ordered", "ordered and yes/no"),
    ("value", "category values"),
    ("profiled", "not used to form segments"),
)


def _profile_kind(feature: str, value: str | None, features: FeatureParams) -> str:
    numeric = {f.column for f in features.numeric}
    ordered = {f.column for f in features.categorical if f.encoding in ("ordinal", "yes_no")}
    if feature not in set(features.columns):
        return "profiled"
    if value is None:
        return "number" if feature in numeric else "ordered" if feature in ordered else "value"
    return "value"


def heatmap_columns(
    effects: Mapping[int, list[Effect]],
    features: FeatureParams,
    importance: Mapping[str, float] | None = None,
    *,
    near_empty: float = NEAR_EMPTY,
) -> tuple[list[tuple[str, str | None]], pd.DataFrame]:
    """The heatmap's columns, ``(feature, value)``, in order, and the effect matrix (segments as
    rows) with those columns: grouped by kind (:data:`PROFILE_GROUPS`), within a group by the
    feature's ``importance`` (its share of the separation; else its largest difference),
    descending, a feature's values together; columns whose difference is below ``near_empty``
    in every segment are left out."""
    segs = sorted(int(seg) for seg in effects)
    found: dict[tuple[str, str | None], dict[int, float]] = {}
    for seg, seg_effects in effects.items():
        for e in seg_effects:
            found.setdefault((e.feature, e.value), {})[int(seg)] = float(e.effect)
    # Plain positions, not the (feature, value) pairs, index the frame: pandas would make a
    # value of None NaN in a MultiIndex.
    every = list(found)
    matrix = pd.DataFrame(
        [[found[c].get(s, 0.0) for c in every] for s in segs], index=segs, columns=range(len(every))
    )
    strongest = {c: max((abs(v) for v in found[c].values()), default=0.0) for c in every}
    kept = [c for c in every if strongest[c] >= near_empty]
    by_feature: dict[str, float] = {}
    for feature, value in kept:
        by_feature[feature] = max(by_feature.get(feature, 0.0), float(strongest[(feature, value)]))
    importance = importance or {}
    group_rank = {kind: i for i, (kind, _) in enumerate(PROFILE_GROUPS)}

    def key(column):
        feature, value = column
        share = importance.get(feature)
        rank = (0, -float(share)) if share is not None else (1, -by_feature[feature])
        kind = group_rank[_profile_kind(feature, value, features)]
        return (kind, *rank, feature, -strongest[column], value or "")

    order = sorted(kept, key=key)
    matrix = matrix[[every.index(c) for c in order]]
    matrix.columns = range(len(order))
    return order, matrix


def _column_title(feature: str, value: str | None, formatter: Formatter) -> str:
    if value is None:
        return label(formatter.label(feature), 40)
    return label(f"{formatter.label(feature)}: {formatter.category(feature, value)}", 40)


def _row_swatches(ax, fig: Figure, colours: list, size: float = 11) -> None:
    """A square of each row's segment colour just left of the axes, between it and the names."""
    where = transforms.blended_transform_factory(ax.transAxes, ax.transData) + transforms.ScaledTranslation(
        -9 / 72, 0, fig.dpi_scale_trans
    )
    for row, colour in enumerate(colours):
        ax.add_line(
            Line2D(
                [0],
                [row],
                transform=where,
                marker="s",
                markersize=size,
                markerfacecolor=colour,
                markeredgecolor="none",
                linestyle="none",
                clip_on=False,
            )
        )
    ax.tick_params(axis="y", pad=9 + size + 2)


def profile_heatmap(
    effects: Mapping[int, list[Effect]],
    names: Mapping[int, str],
    features: FeatureParams,
    formatter: Formatter,
    importance: Mapping[str, float] | None = None,
) -> Figure:
    """How each segment differs from all customers, one row per segment and one column per
    feature (a category value for unordered categories): the standardised differences of
    :func:`bankseg.reporting.profiling.segment_effects`, grouped by kind and ordered by ``importance``
    (each feature column's share of the separation between segments; largest difference when
    absent). Columns without a difference of at least :data:`NEAR_EMPTY` anywhere are left out.
    """
    columns, matrix = heatmap_columns(effects, features, importance)
    segs = [s for s in sorted(names) if s in matrix.index] or sorted(int(s) for s in matrix.index)
    matrix = matrix.reindex(segs).fillna(0.0)
    values = matrix.to_numpy(dtype="float64") if columns else np.zeros((len(segs), 0))
    row_names = [wrapped(names.get(s, s)) for s in segs]
    titles = [_column_title(f, v, formatter) for f, v in columns]
    lines = max([n.count("\n") + 1 for n in row_names] or [1])
    row_height = max(0.5, 0.16 * lines + 0.2)
    cell = 0.62 if len(columns) <= 16 else 0.5  # inches a column; narrower when there are many
    longest = max([len(t) for t in titles] or [10])
    fig = Figure(
        figsize=(max(8.0, 3.4 + cell * len(columns) + 1.6), row_height * len(segs) + 0.06 * longest + 2.0),
        layout="constrained",
    )
    ax = fig.subplots()
    largest = float(np.abs(values).max()) if values.size else 0.0
    limit = min(max(1.0, largest), 3.0)
    norm = Normalize(vmin=-limit, vmax=limit)
    cmap = colormaps["RdBu_r"]
    image = ax.imshow(
        values if values.size else np.zeros((len(segs), 1)), cmap=cmap, norm=norm, aspect="auto"
    )
    ax.set_xticks(range(len(columns)), titles, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(len(segs)), row_names)
    ax.tick_params(axis="both", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    fontsize = 9 if cell > 0.55 else 8
    for (i, j), value in np.ndenumerate(values):
        shown = "0" if abs(value) < 0.05 else f"{value:+.1f}"
        ax.text(
            j,
            i,
            shown,
            ha="center",
            va="center",
            fontsize=fontsize,
            color=text_colour(cmap(norm(value))),
            gid="cell",
        )
    # Groups: a white gap between them and a bracketed title above each.
    kinds = [_profile_kind(f, v, features) for f, v in columns]
    top = transforms.blended_transform_factory(ax.transData, ax.transAxes)
    start = 0
    for j in range(1, len(kinds) + 1):
        if j < len(kinds) and kinds[j] == kinds[start]:
            continue
        if start > 0:
            ax.axvline(start - 0.5, color="white", linewidth=5)
        title = dict(PROFILE_GROUPS)[kinds[start]]
        span = j - start
        ax.add_line(
            Line2D(
                [start - 0.4, j - 0.6], [1.02, 1.02], transform=top, color="0.3", linewidth=1.2, clip_on=False
            )
        )
        ax.text(
            (start + j - 1) / 2,
            1.035,
            textwrap.fill(title, width=max(8, int(span * cell * 11))),
            transform=top,
            ha="center",
            va="bottom",
            fontsize=9,
            color="0.2",
            clip_on=False,
        )
        start = j
    _row_swatches(ax, fig, [segment_colours(names).get(s, "0.5") for s in segs])
    colourbar = fig.colorbar(image, ax=ax, shrink=0.9, extend="both" if largest > limit else "neither")
    colourbar.set_label("lower than all customers ← → higher")
    colourbar.outline.set_visible(False)
    fig.suptitle("How each segment differs from all customers", fontsize="large")
    fig.supxlabel(
        "Each number: how far the segment's average is from that of all customers, in standard "
        "deviations (0: the same; ±1: a large difference).\nFor a category value: the same for "
        "the share of the segment's customers with that value.",
        fontsize=9,
        color="0.25",
    )
    return fig


# ---------------------------------------------------------------------------------------------
# Distributions


def _log_tick_options(low: float, high: float, threshold: float) -> list[list[float]]:
    """Tick sets for a symmetric log axis from ``low`` to ``high``, densest first: 0 when in
    range, and 1-2-5, 1-3 or 1 times powers of ten (then every second, third ... power), on
    both sides of 0, none inside the linear part but 0."""

    def side(lo: float, hi: float, subs: tuple[int, ...], every: int) -> list[float]:
        # Ticks in [lo, hi] (both positive), from the linear threshold up.
        if hi <= 0 or hi < lo:
            return []
        first = math.floor(math.log10(max(lo, threshold)))
        last = math.ceil(math.log10(hi))
        found = []
        for d in range(first, last + 1):
            if (d - first) % every:
                continue
            found += [s * 10.0**d for s in subs if lo <= s * 10.0**d <= hi and s * 10.0**d >= threshold]
        return found

    options = []
    for every in (1, 2, 3, 4, 6):
        for subs in ((1, 2, 5), (1, 3), (1,)):
            if every > 1 and subs != (1,):
                continue
            ticks = [-t for t in side(max(0.0, -high), -low, subs, every)][::-1]
            ticks += [0.0] if low <= 0 <= high else []
            ticks += side(max(0.0, low), high, subs, every)
            options.append(ticks)
    return options


def _linear_threshold(stats: list[dict], high_abs: float, decades: int = 4) -> float:
    """Where a symmetric log axis turns linear around 0: the power of ten at or below the
    smallest non-zero quartile or median of any segment (whiskers when all are zero), showing
    at most ``decades`` powers of ten below the largest value."""
    for keys in (("q1", "med", "q3"), ("whislo", "whishi")):
        shown = [abs(st[k]) for st in stats for k in keys if st[k] != 0 and np.isfinite(st[k])]
        if shown:
            break
    if not shown or not high_abs:
        return 1.0
    lowest = 10.0 ** (math.floor(math.log10(high_abs)) - decades)
    return max(10.0 ** math.floor(math.log10(min(shown))), lowest)


def _minor_log_ticks(ticks: list[float], low: float, high: float) -> list[float]:
    """2 to 9 times each power of ten between major ticks that are powers of ten: the marks
    that show a log axis."""
    decades = [t for t in ticks if t and math.log10(abs(t)).is_integer()]
    if len(decades) != len([t for t in ticks if t]):
        return []
    minor = [m * t for t in decades for m in range(2, 10)]
    return [m for m in minor if low <= m <= high]


def _linear_tick_options(low: float, high: float) -> list[list[float]]:
    """Tick sets of 1-2-5 steps from ``low`` to ``high``, densest first."""
    options = []
    for bins in (6, 5, 4, 3, 2, 1):
        ticks = MaxNLocator(nbins=bins, steps=[1, 2, 5, 10]).tick_values(low, high)
        slack = 1e-9 * abs(high - low)
        options.append([float(t) for t in ticks if low - slack <= t <= high + slack])
    return options


# Width of a numeric panel's axis (inches), and of a tick label's character (ems, generous for
# digits): enough to tell whether tick labels would run into each other before the layout.
PANEL_WIDTH = 3.7
AXIS_WIDTH = 3.2
CHAR_EMS = 0.62


def _fitting_ticks(ax, options: list[list[float]], text_for, width_in: float = AXIS_WIDTH) -> list[float]:
    """The densest tick set whose labels (``text_for(ticks)`` makes the label function) do not
    run into each other along the x axis of ``ax`` (its scale and limits already set)."""
    size = FontProperties(size=rcParams["xtick.labelsize"]).get_size_in_points()
    transform = ax.xaxis.get_transform()
    left, right = (float(v) for v in transform.transform(np.asarray(ax.get_xlim(), dtype="float64")))
    scale = width_in * 72 / (right - left) if right > left else 0.0
    for ticks in options:
        if len(ticks) < 2:
            continue
        text = text_for(ticks)
        where = transform.transform(np.asarray(ticks, dtype="float64")) * scale
        widths = [len(text(t)) * CHAR_EMS * size for t in ticks]
        gaps = [where[i + 1] - where[i] - (widths[i] + widths[i + 1]) / 2 for i in range(len(ticks) - 1)]
        if min(gaps) >= 0.8 * size:
            return ticks
    return next((ticks for ticks in reversed(options) if ticks), [])


def _tick_text(formatter: Formatter, column: str, ticks: list[float], *, logged: bool):
    """Tick labels in the feature's unit (``formatter``); decimals only for ticks finer than 1:
    on a linear axis as many for every tick as the step needs, on a log axis per tick."""
    step = min((b - a for a, b in zip(ticks, ticks[1:], strict=False) if b > a), default=1.0)
    currency = formatter.numbers.currency if formatter.is_money(column) else ""

    def fine(x: float, decimals: int) -> str:
        text = f"{abs(x):,.{decimals}f}"
        return _escape(f"{'-' if x < 0 else ''}{currency}{text}")

    def text(x: float, _pos=None) -> str:
        if logged:
            if x == 0 or abs(x) >= 1:
                return _escape(formatter.tick(column, x))
            return fine(x, -math.floor(math.log10(abs(x)) + 1e-9))
        if step >= 1:
            return _escape(formatter.tick(column, x))
        return fine(x, max(1, -math.floor(math.log10(step) + 1e-9)))

    return text


def _unit(formatter: Formatter, features: FeatureParams, column: str) -> str:
    if formatter.is_money(column):
        return formatter.numbers.currency or "amount"
    feature = next((f for f in features.numeric if f.column == column), None)
    return feature.unit if feature is not None and feature.unit else ""


def distributions_figure(
    customers: pd.DataFrame,
    segments: pd.Series,
    features: FeatureParams,
    names: Mapping[int, str],
    formatter: Formatter,
    logs: Mapping[str, str | None] | None = None,
) -> Figure:
    """Horizontal box plots of each numeric feature by segment, segment names down the side,
    values in the feature's unit (``formatter``); a feature the preprocessing takes the log of
    (``logs``) on a symmetric log axis, whose ticks still read as amounts (₹1 lakh, ₹10 lakh)."""
    numeric = list(features.numeric)
    logs = logs or {}
    order = sorted(names)
    colours = segment_colours(names)
    seg_values = np.asarray(segments)
    row_names = [wrapped(names[s]) for s in order]
    lines = max([n.count("\n") + 1 for n in row_names] or [1])
    ncols = min(len(numeric), 3)
    nrows = math.ceil(len(numeric) / ncols) if ncols else 1
    per_segment = max(0.42, 0.17 * lines + 0.18)
    fig = Figure(
        figsize=(2.6 + PANEL_WIDTH * max(ncols, 1), nrows * (per_segment * len(order) + 1.0) + 1.2),
        layout="constrained",
    )
    axes = fig.subplots(nrows, max(ncols, 1), squeeze=False, sharey=True)
    for ax, f in zip(axes.flat, numeric, strict=False):
        column = f.column
        values = pd.to_numeric(customers[column], errors="coerce").to_numpy(dtype="float64")
        data = [values[(seg_values == s) & np.isfinite(values)] for s in order]
        boxes = ax.boxplot(
            data,
            orientation="horizontal",
            positions=range(len(order)),
            showfliers=False,
            patch_artist=True,
            widths=0.6,
            medianprops={"color": "black", "linewidth": 2},
            whiskerprops={"color": "0.3"},
            capprops={"color": "0.3"},
            boxprops={"edgecolor": "0.2"},
        )
        for box, s in zip(boxes["boxes"], order, strict=True):
            box.set_facecolor(_lighter(colours[s], 0.35))
        stats = [cbook.boxplot_stats(d)[0] for d in data if len(d)]
        low = min([st["whislo"] for st in stats] or [0.0])
        high = max([st["whishi"] for st in stats] or [1.0])
        logged = bool(logs.get(column))
        if logged:
            threshold = _linear_threshold(stats, high_abs=max(abs(low), abs(high)))
            ax.set_xscale("symlog", linthresh=threshold, linscale=0.6)
            options = _log_tick_options(low, high, threshold)
        else:
            options = _linear_tick_options(low, high)
        if high > low:
            pad = (high - low) * 0.04
            if not logged:
                ax.set_xlim(low - pad, high + pad)
            else:
                left = low * 0.8 if low > 0 else low * 1.25 if low < 0 else -0.3 * threshold
                ax.set_xlim(left, high * 1.25 if high > 0 else high * 0.8 + 0.3 * threshold)

        def text_for(ticks, column=column, logged=logged):
            return _tick_text(formatter, column, ticks, logged=logged)

        ticks = _fitting_ticks(ax, options, text_for)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(
            FixedLocator(_minor_log_ticks(ticks, *ax.get_xlim())) if logged else NullLocator()
        )
        ax.xaxis.set_major_formatter(FuncFormatter(text_for(ticks)))
        ax.grid(axis="x", alpha=0.35, zorder=0)
        ax.set_axisbelow(True)
        ax.set_title(label(f.label), fontsize="medium")
        unit = _unit(formatter, features, column)
        ax.set_xlabel(label(", ".join([p for p in (unit, "log scale" if logged else "") if p])))
        ax.tick_params(axis="y", length=0)
    for ax in axes.flat[len(numeric) :]:
        ax.set_visible(False)
    axes[0, 0].set_yticks(range(len(order)), row_names)
    axes[0, 0].invert_yaxis()  # the first segment on top, as in the report
    fig.suptitle("How each segment's customers spread on the numeric features", fontsize="large")
    fig.supxlabel(
        "Box: the middle half of the segment's customers; thick line: the median; "
        "whiskers: the usual range (outliers not shown)",
        fontsize=9,
        color="0.25",
    )
    return fig


# ---------------------------------------------------------------------------------------------
# Projection


def source_features(columns: Iterable[str], features: FeatureParams) -> list[str]:
    """The feature column each encoded column comes from: itself for a number or a yes/no,
    ``<column>`` for a one-hot ``<column>_<value>`` and a ``"<column> (missing)"`` indicator
    (the longest feature column the name starts with); a column no feature explains is its own."""
    known = sorted((f.column for f in features.all), key=len, reverse=True)
    found = []
    for column in columns:
        column = str(column)
        if column in known:
            found.append(column)
            continue
        match = next((k for k in known if column.startswith(k + "_") or column.startswith(k + " ")), None)
        found.append(match or column)
    return found


def component_description(
    loadings: np.ndarray, columns: Iterable[str], features: FeatureParams, *, dominant: float = 0.6
) -> tuple[str, ...]:
    """The one or two features that load most on a component, as their labels: the squared
    loadings of a feature's encoded columns added up. One feature when it carries at least
    ``dominant`` of the component."""
    sources = source_features(columns, features)
    weights: dict[str, float] = {}
    for source, loading in zip(sources, np.asarray(loadings, dtype="float64"), strict=True):
        weights[source] = weights.get(source, 0.0) + float(loading) ** 2
    total = sum(weights.values()) or 1.0
    ranked = sorted(weights.items(), key=lambda item: (-item[1], item[0]))
    labels = {f.column: f.label or f.column.replace("_", " ") for f in features.all}
    top = [labels.get(c, c.replace("_", " ")) for c, _ in ranked[:2]]
    if len(ranked) == 1 or ranked[0][1] / total >= dominant:
        return tuple(top[:1])
    return tuple(top)


def projection_figure(
    X: pd.DataFrame,
    segments: pd.Series,
    names: Mapping[int, str],
    features: FeatureParams,
    *,
    max_points: int = 5000,
    random_state: int = 0,
) -> Figure:
    """Customers on the first two principal components of the scaled features, each axis named
    for the features that drive it, the segments' names in a legend beside the map."""
    rng = np.random.default_rng(random_state)
    idx = np.sort(rng.choice(len(X), size=min(max_points, len(X)), replace=False))
    pca = PCA(n_components=2, random_state=random_state).fit(X.to_numpy())
    points = pca.transform(X.to_numpy()[idx])
    labels = np.asarray(segments)[idx]
    colours = segment_colours(names)
    fig = Figure(figsize=(11.5, 6.8), layout="constrained")
    ax = fig.subplots()
    for seg in sorted(names):
        mask = labels == seg
        ax.scatter(
            points[mask, 0],
            points[mask, 1],
            s=7,
            alpha=0.55,
            linewidths=0,
            color=colours[seg],
            label=wrapped(names[seg]),
        )
    ratio = pca.explained_variance_ratio_
    for number, (set_label, loadings) in enumerate(
        zip((ax.set_xlabel, ax.set_ylabel), pca.components_, strict=True), 1
    ):
        drivers = " and ".join(label(d, 40) for d in component_description(loadings, X.columns, features))
        set_label(f"component {number}: mostly {drivers} ({ratio[number - 1]:.0%} of variance)")
    ax.set_title("Customers by segment: a map of all features in two dimensions", fontsize="large")
    ax.tick_params(labelsize=8, colors="0.4")
    ax.grid(alpha=0.25)
    ax.set_axisbelow(True)
    legend = ax.legend(
        title="segment",
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0,
        frameon=False,
        fontsize=9,
        markerscale=2.2,
        labelspacing=0.9,
        alignment="left",
    )
    for handle in legend.legend_handles:
        handle.set_alpha(1)
    return fig
