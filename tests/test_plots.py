"""bankseg.reporting.plots: each function returns a matplotlib Figure that a person reads without help:
segment names and colours, amounts in their unit, axes named for what drives them, readable
numbers on every cell, each criterion's choice of K in sight."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from bankseg.params import CategoricalFeature, FeatureParams, NumericFeature
from bankseg.reporting.formatting import Formatter
from bankseg.reporting.plots import (
    component_description,
    distributions_figure,
    elbow_figure,
    label,
    profile_heatmap,
    projection_figure,
    segment_colours,
    source_features,
    wrapped,
)
from bankseg.reporting.profiling import Effect
from bankseg.segmentation.encoding import log_choices

NAMES = {0: "Young", 1: "Senior", 2: "Affluent"}


@pytest.fixture
def close_figures():
    """Figures made by a test; none may be held by pyplot, which would keep every figure drawn."""
    made: list[Figure] = []
    before = plt.get_fignums()
    yield made
    assert made
    assert plt.get_fignums() == before


@pytest.fixture(scope="module")
def segmented(cleaned, fitted):
    """The cleaned customers, their scaled features and a three-way segmentation by age."""
    _, X = fitted
    customers = cleaned.kept
    age = customers["age"].fillna(customers["age"].median())
    segments = pd.Series(np.digitize(age, [35, 55]), index=customers.index)
    return customers, X, segments


@pytest.fixture(scope="module")
def formatter(params):
    return Formatter(params.features, params.report, ["age"])


def drawn(fig: Figure):
    """The figure laid out and drawn on an Agg canvas; its renderer."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def one_line(text: str) -> str:
    return " ".join(text.split())


def wcag_contrast(a, b) -> float:
    """The WCAG 2 contrast ratio of two colours."""

    def lum(colour) -> float:
        channels = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgba(colour)[:3]]
        return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]

    high, low = sorted((lum(a), lum(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# --- choosing K ------------------------------------------------------------------------------


def test_elbow_figure(close_figures):
    scores = pd.DataFrame(
        {
            "k": [2, 3, 4, 5],
            "inertia": [100.0, 40.0, 10.0, 8.0],
            "silhouette": [0.4, 0.6, 0.8, 0.5],
            "calinski_harabasz": [10.0, 20.0, 40.0, 30.0],
            "davies_bouldin": [0.9, 0.6, 0.3, 0.5],
        }
    )
    suggestion = {"suggested_k": 4, "method": "knee", "reason": "chosen by elbow.method=knee"}
    fig = elbow_figure(scores, suggestion)
    close_figures.append(fig)
    assert isinstance(fig, Figure)
    axes = fig.get_axes()
    assert len(axes) == 4
    assert [ax.get_title() for ax in axes][0].startswith("inertia")
    assert fig.get_suptitle() == "Choosing K: suggested K=4 by knee"
    for ax in axes:
        assert ax.get_lines()[0].get_xdata().tolist() == [2, 3, 4, 5]
        assert "suggested K=4" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_elbow_figure_has_a_panel_per_criterion_marking_its_choice(close_figures):
    scores = pd.DataFrame(
        {
            "k": [2, 3, 4],
            "inertia": [30.0, 20.0, 15.0],
            "silhouette": [0.4, 0.6, 0.5],
            "calinski_harabasz": [10.0, 20.0, 15.0],
            "davies_bouldin": [0.9, 0.6, 0.7],
            "gap": [0.5, 0.9, 0.95],
            "gap_se": [0.05, 0.05, 0.05],
            "stability": [1.0, 0.99, 0.7],
        }
    )
    suggestion = {"suggested_k": 3, "method": "consensus", "choices": {"gap": 4, "stability": 3}}
    fig = elbow_figure(scores, suggestion)
    close_figures.append(fig)
    titles = [ax.get_title() for ax in fig.get_axes() if ax.get_visible()]
    assert len(titles) == 6 and titles[4].startswith("gap statistic") and titles[5].startswith("stability")
    gap_legend = [t.get_text() for t in fig.get_axes()[4].get_legend().get_texts()]
    assert gap_legend == ["its choice: K=4", "suggested K=3"]


def _choice_markers(ax):
    return [line for line in ax.get_lines() if line.get_marker() == "*"]


@pytest.mark.slow
def test_elbow_figure_shows_each_choice_even_where_it_is_the_suggested_k(close_figures):
    """The suggested K once hid a criterion's own choice when the two were the same K."""
    scores = pd.DataFrame(
        {
            "k": [2, 3, 4, 5],
            "inertia": [100.0, 40.0, 30.0, 25.0],
            "silhouette": [0.4, 0.6, 0.5, 0.45],
            "davies_bouldin": [0.9, 0.6, 0.3, 0.5],
        }
    )
    choices = {"knee": 3, "silhouette": 3, "davies_bouldin": 4}
    fig = elbow_figure(scores, {"suggested_k": 3, "method": "silhouette", "choices": choices})
    close_figures.append(fig)
    drawn(fig)
    for ax, (column, criterion) in zip(
        fig.get_axes()[:3],  # the fourth of the 2 x 2 panels is hidden
        [("inertia", "knee"), ("silhouette", "silhouette"), ("davies_bouldin", "davies_bouldin")],
        strict=True,
    ):
        (marker,) = _choice_markers(ax)
        k = choices[criterion]
        assert marker.get_xdata().tolist() == [k]
        assert marker.get_ydata().tolist() == [scores.set_index("k").loc[k, column]]
        assert marker.get_markersize() >= 12
        # Whatever marks the suggested K lies behind the marker and lets it show.
        behind = [p for p in ax.patches if p.get_zorder() < marker.get_zorder()]
        assert behind and all(p.get_alpha() is not None and p.get_alpha() < 0.5 for p in behind)
        assert not any(
            line.get_zorder() >= marker.get_zorder() for line in ax.get_lines() if line is not marker
        )
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert legend == [f"its choice: K={k}", "suggested K=3"]
        # The legend sits above the panel, not over the curve.
        assert legend_outside(ax, ax.get_legend())


def test_elbow_figure_names_a_choice_outside_the_range_scored(close_figures):
    scores = pd.DataFrame({"k": [2, 3, 4], "gap": [0.5, 0.4, 0.3], "gap_se": [0.05, 0.05, 0.05]})
    fig = elbow_figure(scores, {"suggested_k": 2, "method": "gap", "choices": {"gap": 1}})
    close_figures.append(fig)
    ax = fig.get_axes()[0]
    assert not _choice_markers(ax)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["its choice: K=1 (not in the range scored)", "suggested K=2"]


def test_elbow_figure_warns_when_the_suggestion_is_at_an_end_of_the_range(close_figures):
    scores = pd.DataFrame({"k": [2, 3, 4], "inertia": [30.0, 20.0, 15.0], "silhouette": [0.4, 0.5, 0.6]})
    suggestion = {"suggested_k": 4, "method": "stable_silhouette", "at_edge": True, "edge": "upper"}
    fig = elbow_figure(scores, suggestion)
    close_figures.append(fig)
    assert fig.get_suptitle().splitlines() == [
        "Choosing K: suggested K=4 by stable_silhouette",
        "at the upper end of the range scored: see the warnings in metrics/elbow.json",
    ]


# --- segment profiles ------------------------------------------------------------------------

HEATMAP_NAMES = {0: "Young savers with a very long name that needs wrapping onto lines", 1: "Senior"}
IMPORTANCE = {
    "age": 0.10,
    "networth": 0.30,
    "sip_amount": 0.05,
    "income_slab": 0.02,
    "risk_id": 0.20,
    "sip_status": 0.08,
    "has_demat_account": 0.15,
    "account_type": 0.10,
}


def heatmap_effects() -> dict[int, list[Effect]]:
    """Effects of two segments on every feature of params.yaml and the profile column kyc_status;
    demat account and kyc_status: Pending are near-empty (below 0.1 in both segments)."""
    values = {
        ("age", None): (-1.2, 1.2),
        ("networth", None): (0.6, -0.6),
        ("sip_amount", None): (2.9, -2.9),
        ("income_slab", None): (0.3, -0.3),
        ("risk_id", None): (0.0, 0.45),
        ("sip_status", None): (1.0, -1.0),
        ("has_demat_account", None): (0.05, -0.09),
        ("account_type", "Savings"): (0.5, -0.5),
        ("account_type", "Current"): (-0.4, 0.4),
        ("kyc_status", "Verified"): (0.2, -0.2),
        ("kyc_status", "Pending"): (0.01, -0.01),
    }
    return {
        s: [Effect(feature, value, effects[s], "phrase") for (feature, value), effects in values.items()]
        for s in (0, 1)
    }


def cell_texts(ax):
    return [t for t in ax.texts if t.get_gid() == "cell"]


def test_profile_heatmap_groups_columns_by_kind_in_order_of_importance(params, formatter, close_figures):
    fig = profile_heatmap(heatmap_effects(), HEATMAP_NAMES, params.features, formatter, IMPORTANCE)
    close_figures.append(fig)
    assert isinstance(fig, Figure)
    ax = fig.get_axes()[0]
    columns = [t.get_text() for t in ax.get_xticklabels()]
    assert columns == [
        # numbers, by importance
        "net worth",
        "age",
        "monthly SIP",
        # ordered and yes/no, by importance; demat account is near-empty
        "risk appetite",
        "active SIP",
        "income",
        # category values, as params name them
        "account: savings account",
        "account: current account",
        # not a feature; kyc status: Pending is near-empty
        "kyc status: Verified",
    ]
    groups = [t.get_text().replace("\n", " ") for t in ax.texts if t.get_gid() != "cell"]
    assert groups == ["numbers", "ordered and yes/no", "category values", "not used to form segments"]
    assert [one_line(t.get_text()) for t in ax.get_yticklabels()] == list(HEATMAP_NAMES.values())
    assert all(len(line) <= 30 for t in ax.get_yticklabels() for line in t.get_text().splitlines())
    assert len(fig.get_axes()) == 2  # the heatmap and its colour bar
    colourbar = fig.get_axes()[1]
    assert colourbar.get_ylabel() == "lower than all customers ← → higher"
    assert "+2.9" in [t.get_text() for t in cell_texts(ax)]
    assert len(cell_texts(ax)) == 2 * len(columns)


def test_profile_heatmap_without_importance_orders_by_the_largest_difference(
    params, formatter, close_figures
):
    fig = profile_heatmap(heatmap_effects(), HEATMAP_NAMES, params.features, formatter)
    close_figures.append(fig)
    columns = [t.get_text() for t in fig.get_axes()[0].get_xticklabels()]
    assert columns[:3] == ["monthly SIP", "age", "net worth"]
    assert columns[3:6] == ["active SIP", "risk appetite", "income"]


def test_profile_heatmap_numbers_contrast_with_their_cells(params, formatter, close_figures):
    """Black numbers on dark cells could not be read: each number is black or white, whichever
    contrasts with its cell, at a WCAG contrast ratio of at least 3."""
    effects = {
        s: [
            Effect("age", None, v, "p"),
            Effect("networth", None, -v, "p"),
            Effect("sip_amount", None, v / 2, "p"),
        ]
        for s, v in enumerate(np.linspace(-3, 3, 13))
    }
    names = {s: f"segment {s}" for s in effects}
    fig = profile_heatmap(effects, names, params.features, formatter)
    close_figures.append(fig)
    ax = fig.get_axes()[0]
    (image,) = ax.get_images()
    data = image.get_array()
    texts = cell_texts(ax)
    assert len(texts) == data.size == 39
    for text in texts:
        column, row = (round(c) for c in text.get_position())
        cell = image.cmap(image.norm(data[row, column]))
        assert wcag_contrast(text.get_color(), cell) >= 3, (text.get_text(), cell, text.get_color())
    colours = {to_rgba(t.get_color()) for t in texts}
    assert len(colours) == 2  # white on the darkest cells, black on the lightest


def test_profile_heatmap_colours_are_centred_at_zero(params, formatter, close_figures):
    fig = profile_heatmap(heatmap_effects(), HEATMAP_NAMES, params.features, formatter, IMPORTANCE)
    close_figures.append(fig)
    (image,) = fig.get_axes()[0].get_images()
    assert image.norm.vmin == -image.norm.vmax
    low, middle, high = (image.cmap(image.norm(v)) for v in (image.norm.vmin, 0.0, image.norm.vmax))
    assert wcag_contrast(middle, "white") < 1.2  # no difference: near white
    assert low[2] > low[0] and high[0] > high[2]  # lower blue, higher red


# --- distributions ---------------------------------------------------------------------------


@pytest.mark.slow
def test_distributions_figure(segmented, params, formatter, close_figures):
    customers, _, segments = segmented
    logs = log_choices(customers, params.features, params.featurize.skew_threshold)
    fig = distributions_figure(customers, segments, params.features, NAMES, formatter, logs)
    close_figures.append(fig)
    assert isinstance(fig, Figure)
    drawn(fig)
    axes = [ax for ax in fig.get_axes() if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == [f.label for f in params.features.numeric]
    age, networth, sip = axes
    assert networth.get_xscale() == "symlog" and sip.get_xscale() == "symlog"  # amounts the model logs
    assert age.get_xscale() == "linear"
    assert networth.get_xlabel() == "₹, log scale"
    for ax in (networth, sip):
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        assert ticks and all(t.startswith("₹") for t in ticks), ticks
        assert not any("log" in t or "10^" in t or "e+" in t for t in ticks)
    ticks = [t.get_text() for t in networth.get_xticklabels()]
    assert {"₹1 lakh", "₹10 lakh"} <= set(ticks), ticks
    assert all(t.get_text().isdigit() for t in age.get_xticklabels())
    renderer = drawn(fig)
    for ax in axes:  # tick labels never run into each other
        boxes = sorted((t.get_window_extent(renderer) for t in ax.get_xticklabels()), key=lambda b: b.x0)
        assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:], strict=False)), ax.get_title()


def test_distributions_show_segment_names_and_colours(segmented, params, formatter, close_figures):
    customers, _, segments = segmented
    fig = distributions_figure(customers, segments, params.features, NAMES, formatter)
    close_figures.append(fig)
    drawn(fig)
    first = fig.get_axes()[0]
    assert [t.get_text() for t in first.get_yticklabels()] == list(NAMES.values())
    colours = segment_colours(NAMES)
    for ax in fig.get_axes():
        faces = [p.get_facecolor() for p in ax.patches]
        assert len(faces) == 3
        # each box in its segment's colour (lightened): the same hue order as the palette
        assert [int(np.argmax(f[:3])) for f in faces] == [int(np.argmax(colours[s][:3])) for s in NAMES]
    # the first segment at the top, as in the report
    assert first.get_ylim()[0] > first.get_ylim()[1]


def test_distributions_with_a_segment_without_customers(segmented, params, formatter, close_figures):
    customers, _, segments = segmented
    names = NAMES | {3: "Nobody"}
    close_figures.append(distributions_figure(customers, segments, params.features, names, formatter))
    drawn(close_figures[-1])
    assert [t.get_text() for t in close_figures[-1].get_axes()[0].get_yticklabels()][-1] == "Nobody"


# --- projection ------------------------------------------------------------------------------


def legend_outside(ax, legend) -> bool:
    """Whether ``legend`` stays clear of the data area of ``ax`` (in pixels, once drawn)."""
    renderer = drawn(ax.figure)
    box, area = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
    return not box.overlaps(area)


def test_projection_figure(segmented, params, close_figures):
    _, X, segments = segmented
    fig = projection_figure(X, segments, NAMES, params.features, max_points=500, random_state=0)
    close_figures.append(fig)
    assert isinstance(fig, Figure)
    ax = fig.get_axes()[0]
    assert len(ax.collections) == 3  # one scatter per segment
    assert sum(len(c.get_offsets()) for c in ax.collections) == 500
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == list(NAMES.values())
    assert legend_outside(ax, legend)
    colours = segment_colours(NAMES)
    for seg, collection in zip(NAMES, ax.collections, strict=True):
        assert tuple(collection.get_facecolor()[0][:3]) == pytest.approx(colours[seg][:3])
    labels = [f.label for f in params.features.all]
    for number, axis_label in ((1, ax.get_xlabel()), (2, ax.get_ylabel())):
        assert axis_label.startswith(f"component {number}: mostly ") and "% of variance)" in axis_label
        named = axis_label.removeprefix(f"component {number}: mostly ").split(" (")[0].split(" and ")
        assert named and set(named) <= set(labels), axis_label


def test_projection_legend_stays_outside_with_many_long_names(segmented, params, close_figures):
    _, X, _ = segmented
    names = {s: f"Segment {s} with a long name: " + "savers and borrowers " * 3 for s in range(8)}
    segments = pd.Series(np.arange(len(X)) % 8)
    fig = projection_figure(X, segments, names, params.features, max_points=800)
    close_figures.append(fig)
    ax = fig.get_axes()[0]
    assert legend_outside(ax, ax.get_legend())
    renderer = drawn(fig)
    assert fig.bbox.contains(*ax.get_legend().get_window_extent(renderer).p1)  # not cut off


def test_projection_with_fewer_customers_than_max_points(segmented, params, close_figures):
    _, X, segments = segmented
    fig = projection_figure(X.head(40), segments.head(40), NAMES, params.features, max_points=5000)
    close_figures.append(fig)
    assert sum(len(c.get_offsets()) for c in fig.get_axes()[0].collections) == 40


def test_encoded_columns_map_to_their_features():
    features = FeatureParams(
        numeric=(NumericFeature("PURCHASES", label="purchases"), NumericFeature("PURCHASES_FREQUENCY")),
        categorical=(
            CategoricalFeature("job", "onehot", label="job"),
            CategoricalFeature("job_type", "onehot", label="kind of job"),
            CategoricalFeature("education", "ordinal", order=("a", "b"), flag_missing=True),
        ),
    )
    columns = [
        "PURCHASES",
        "PURCHASES_FREQUENCY",
        "job_admin.",
        "job_type_blue collar",
        "education",
        "education (missing)",
        "not a feature",
    ]
    assert source_features(columns, features) == [
        "PURCHASES",
        "PURCHASES_FREQUENCY",
        "job",
        "job_type",
        "education",
        "education",
        "not a feature",
    ]


def test_a_component_is_named_for_the_features_with_the_largest_summed_loadings(params):
    columns = ["age", "networth", "sip_amount", "account_type_Current", "account_type_Savings"]
    # account type's two columns together (0.2 + 0.2) outweigh age (0.36), each alone does not
    assert component_description([0.6, 0.1, 0.0, 0.2**0.5, -(0.2**0.5)], columns, params.features) == (
        "account",
        "age",
    )
    # one feature carrying most of a component is named alone
    assert component_description([0.95, 0.3, 0.1, 0.0, 0.0], columns, params.features) == ("age",)


# --- shared ----------------------------------------------------------------------------------


def test_segment_colours_are_the_same_for_a_segment_in_every_figure():
    colours = segment_colours({2: "c", 0: "a", 1: "b"})
    assert colours == segment_colours([0, 1, 2]) == segment_colours({0: "x", 1: "y", 2: "z"})
    assert len(set(segment_colours(range(10)).values())) == 10
    assert len(set(segment_colours(range(12)).values())) == 12
    assert len(set(segment_colours(range(25)).values())) == 25
    assert colours[0] == to_rgba("tab:blue")


def test_names_wrap_and_cut():
    name = "Younger, high education, single marital status, with housing loan, no personal loan, more"
    text = wrapped(name)
    assert all(len(line) <= 30 for line in text.splitlines())
    assert one_line(text).endswith("with housing loan, no personal…")  # cut after a whole word
    assert len(one_line(text)) <= 80
    assert wrapped("Plan $5") == "Plan \\$5"


@pytest.mark.slow
def test_names_and_values_with_dollar_signs_and_any_length_are_drawn(
    params, formatter, close_figures, tmp_path
):
    """matplotlib reads "$...$" as a formula and once failed on a malformed one in a value."""
    from bankseg.io.atomic import save_figure

    names = {0: "Plan $5 $x^$ " + "long " * 30, 1: "$\\frac{"}
    effects = {
        0: [Effect("account_type", "a $\\frac{", 0.5, "p"), Effect("b$", "$x^", -0.2, "p")],
        1: [Effect("account_type", "a $\\frac{", 0.1, "p"), Effect("b$", "$x^", 0.3, "p")],
    }
    close_figures.append(profile_heatmap(effects, names, params.features, formatter))
    save_figure(close_figures[-1], tmp_path / "heatmap.png")
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 3)), columns=["f1", "f$2", "f3"])
    close_figures.append(projection_figure(X, pd.Series([0, 1] * 20), names, params.features))
    save_figure(close_figures[-1], tmp_path / "projection.png")
    assert (tmp_path / "heatmap.png").stat().st_size > 0 and (tmp_path / "projection.png").stat().st_size > 0
    assert label("a $b$ " + "x" * 100) == "a \\$b\\$ " + "x" * 73 + "…"  # 80 characters before escaping
