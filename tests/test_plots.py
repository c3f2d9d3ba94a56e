"""bankseg.plots: each function returns a matplotlib Figure with the expected panels."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from bankseg.features import log_choices
from bankseg.plots import distributions_figure, elbow_figure, profile_heatmap, projection_figure

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
    assert gap_legend == ["its choice K=4", "suggested K=3"]


def test_profile_heatmap(close_figures):
    matrix = pd.DataFrame(
        [[1.2, -0.5, 0.0], [-1.2, 0.5, 2.5]],
        index=["0: Young", "1: Senior"],
        columns=["age", "income", "SIP"],
    )
    fig = profile_heatmap(matrix)
    close_figures.append(fig)
    assert isinstance(fig, Figure)
    ax = fig.get_axes()[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0: Young", "1: Senior"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["age", "income", "SIP"]
    assert "+2.5" in [t.get_text() for t in ax.texts]
    assert len(fig.get_axes()) == 2  # the heatmap and its colour bar


def test_distributions_figure(segmented, params, close_figures):
    customers, _, segments = segmented
    logs = log_choices(customers, params.features, params.featurize.skew_threshold)
    fig = distributions_figure(customers, segments, params.features, NAMES, logs)
    close_figures.append(fig)
    assert isinstance(fig, Figure)
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == [f.label for f in params.features.numeric]
    assert axes[1].get_ylabel() == "net worth (log scale)"  # log features are plotted on a log scale
    assert axes[1].get_yscale() == "symlog"
    assert axes[0].get_ylabel() == "age"
    assert axes[0].get_yscale() == "linear"
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["0", "1", "2"]


def test_projection_figure(segmented, close_figures):
    _, X, segments = segmented
    fig = projection_figure(X, segments, NAMES, max_points=500, random_state=0)
    close_figures.append(fig)
    assert isinstance(fig, Figure)
    ax = fig.get_axes()[0]
    assert len(ax.collections) == 3  # one scatter per segment
    assert sum(len(c.get_offsets()) for c in ax.collections) == 500
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["0: Young", "1: Senior", "2: Affluent"]
    assert ax.get_xlabel().startswith("component 1")


def test_projection_with_fewer_customers_than_max_points(segmented, close_figures):
    _, X, segments = segmented
    fig = projection_figure(X.head(40), segments.head(40), NAMES, max_points=5000)
    close_figures.append(fig)
    assert sum(len(c.get_offsets()) for c in fig.get_axes()[0].collections) == 40


def test_names_and_values_with_dollar_signs_and_any_length_are_drawn(close_figures, tmp_path):
    """matplotlib reads "$...$" as a formula and once failed on a malformed one in a value."""
    from bankseg.io import save_figure
    from bankseg.plots import label

    names = {0: "Plan $5 $x^$ " + "long " * 30, 1: "$\\frac{"}
    matrix = pd.DataFrame(
        [[0.5, -0.2], [0.1, 0.3]], index=[f"{k}: {v}" for k, v in names.items()], columns=["a $\\frac{", "b$"]
    )
    close_figures.append(profile_heatmap(matrix))
    save_figure(close_figures[-1], tmp_path / "heatmap.png")
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(40, 3)), columns=["f1", "f2", "f3"])
    close_figures.append(projection_figure(X, pd.Series([0, 1] * 20), names))
    save_figure(close_figures[-1], tmp_path / "projection.png")
    assert (tmp_path / "heatmap.png").stat().st_size > 0 and (tmp_path / "projection.png").stat().st_size > 0
    assert label("a $b$ " + "x" * 100) == "a \\$b\\$ " + "x" * 73 + "…"  # 80 characters before escaping


def test_elbow_figure_warns_when_the_suggestion_is_at_an_end_of_the_range(close_figures):
    scores = pd.DataFrame({"k": [2, 3, 4], "inertia": [30.0, 20.0, 15.0], "silhouette": [0.4, 0.5, 0.6]})
    suggestion = {"suggested_k": 4, "method": "stable_silhouette", "at_edge": True, "edge": "upper"}
    fig = elbow_figure(scores, suggestion)
    close_figures.append(fig)
    assert fig.get_suptitle().splitlines() == [
        "Choosing K: suggested K=4 by stable_silhouette",
        "at the upper end of the range scored: see the warnings in metrics/elbow.json",
    ]
