"""Figures for people. Each function returns a matplotlib Figure; the caller saves it."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.decomposition import PCA

from bankseg.params import FeatureParams

LABEL_CHARS = 80  # longer names and values are cut in figures (the report has them whole)


def label(text: object, limit: int = LABEL_CHARS) -> str:
    """Text from the data or the params as a figure shows it: cut to ``limit`` characters, on
    one line, and with ``$`` escaped, which matplotlib would otherwise read as the start of a
    formula (and fail to draw a malformed one)."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("$", r"\$")


ELBOW_PANELS = [
    ("inertia", "inertia (lower is tighter)", "knee"),
    ("silhouette", "silhouette (higher is better)", "silhouette"),
    ("calinski_harabasz", "Calinski-Harabasz (higher is better)", "calinski_harabasz"),
    ("davies_bouldin", "Davies-Bouldin (lower is better)", "davies_bouldin"),
    ("gap", "gap statistic with standard error", "gap"),
    ("stability", "stability: bootstrap adjusted Rand index", "stability"),
]


def elbow_figure(scores: pd.DataFrame, suggestion: dict):
    """One panel per criterion, each marking its own choice and the suggested K; the title warns
    when the suggested K sits at an end of the range scored."""
    panels = [p for p in ELBOW_PANELS if p[0] in scores]
    rows = (len(panels) + 1) // 2
    fig = Figure(figsize=(10, 3.4 * rows))
    axes = fig.subplots(rows, 2, squeeze=False)
    for ax, (column, title, criterion) in zip(axes.flat, panels, strict=False):
        if column == "gap":
            ax.errorbar(scores["k"], scores["gap"], yerr=scores["gap_se"], marker="o", capsize=3)
        else:
            ax.plot(scores["k"], scores[column], marker="o")
        choice = suggestion.get("choices", {}).get(criterion)
        if choice is not None and choice in set(scores["k"]):
            ax.axvline(choice, color="tab:gray", linestyle=":", label=f"its choice K={choice}")
        ax.axvline(
            suggestion["suggested_k"],
            color="tab:red",
            linestyle="--",
            label=f"suggested K={suggestion['suggested_k']}",
        )
        ax.set_title(title)
        ax.set_xlabel("number of segments K")
        ax.legend(loc="best", fontsize="small")
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    title = f"Choosing K: suggested K={suggestion['suggested_k']} by {suggestion['method']}"
    if suggestion.get("at_edge"):
        # A K at the end of the range may only be where the sweep stopped: say so where people look.
        title += (
            f"\nat the {suggestion['edge']} end of the range scored: see the warnings in metrics/elbow.json"
        )
    fig.suptitle(title, color="tab:red" if suggestion.get("at_edge") else "black")
    fig.tight_layout()
    return fig


def profile_heatmap(matrix: pd.DataFrame):
    fig = Figure(figsize=(max(8, 0.6 * matrix.shape[1] + 4), 1.0 * matrix.shape[0] + 2.5))
    ax = fig.subplots()
    limit = max(1.0, float(np.abs(matrix.to_numpy()).max()))
    image = ax.imshow(matrix.to_numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(matrix.shape[1]), [label(c) for c in matrix.columns], rotation=45, ha="right")
    ax.set_yticks(range(matrix.shape[0]), [label(i) for i in matrix.index])
    for (i, j), value in np.ndenumerate(matrix.to_numpy()):
        ax.text(j, i, f"{value:+.1f}", ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax, label="standardised difference from all customers")
    ax.set_title("Segment profiles")
    fig.tight_layout()
    return fig


def distributions_figure(
    customers: pd.DataFrame,
    segments: pd.Series,
    features: FeatureParams,
    names: dict[int, str],
    logs: dict[str, str | None] | None = None,
):
    """Box plots of each numeric feature by segment, in the feature's own units; a feature the
    preprocessing takes the log of (``logs``) on a symmetric log axis."""
    numeric = list(features.numeric)
    logs = logs or {}
    fig = Figure(figsize=(5 * len(numeric), 4.5))
    axes = fig.subplots(1, len(numeric), squeeze=False)
    order = sorted(names)
    for ax, f in zip(axes[0], numeric, strict=True):
        data = [customers.loc[(segments == s).to_numpy(), f.column].dropna().to_numpy() for s in order]
        ax.boxplot(data, showfliers=False)
        if logs.get(f.column):
            ax.set_yscale("symlog", linthresh=1)
        ax.set_xticks(range(1, len(order) + 1), [str(s) for s in order])
        ax.set_xlabel("segment")
        ax.set_ylabel(label(f"{f.label} (log scale)" if logs.get(f.column) else f.label))
        ax.set_title(label(f.label))
    fig.suptitle("Feature distributions by segment")
    fig.tight_layout()
    return fig


def projection_figure(
    X: pd.DataFrame,
    segments: pd.Series,
    names: dict[int, str],
    *,
    max_points: int = 5000,
    random_state: int = 0,
):
    """Customers on the first two principal components of the scaled features."""
    rng = np.random.default_rng(random_state)
    idx = np.sort(rng.choice(len(X), size=min(max_points, len(X)), replace=False))
    pca = PCA(n_components=2, random_state=random_state).fit(X.to_numpy())
    points = pca.transform(X.to_numpy()[idx])
    labels = segments.to_numpy()[idx]
    fig = Figure(figsize=(8, 6.5))
    ax = fig.subplots()
    for seg in sorted(names):
        mask = labels == seg
        ax.scatter(points[mask, 0], points[mask, 1], s=6, alpha=0.6, label=label(f"{seg}: {names[seg]}"))
    ratio = pca.explained_variance_ratio_
    ax.set_xlabel(f"component 1 ({ratio[0]:.0%} of variance)")
    ax.set_ylabel(f"component 2 ({ratio[1]:.0%} of variance)")
    ax.set_title("Customers by segment (2-D projection)")
    ax.legend(loc="best", fontsize=8, markerscale=2)
    fig.tight_layout()
    return fig
