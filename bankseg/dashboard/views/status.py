"""Page: the state of the pipeline after the last ``dvc repro``: its figures as small tables and
charts, the plots, the parameters."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from bankseg.dashboard import charts, core, server


def _table(df: pd.DataFrame, caption: str) -> None:
    st.dataframe(df, hide_index=True)
    st.caption(core.plain(caption))


st.title("Pipeline status")
root = server.project_root()
status = core.pipeline_status(root)
metrics = status.metrics
names = status.names
if status.params_text is None or not metrics:
    st.error(core.plain(f"No pipeline outputs in {root}; run dvc repro first."))
st.caption(
    core.plain(
        f"Project folder {root}; dvc.lock written {status.lock_written or 'never'}; "
        f"model MD5 in dvc.lock {(status.model_md5 or 'none')[:12]}"
    )
)

figures = core.key_figures(metrics)
if figures:
    for column, (label, value, meaning) in zip(st.columns(len(figures)), figures, strict=True):
        column.metric(label, value, help=core.plain(meaning))

sizes = core.segment_sizes(metrics, names)
if len(sizes):
    st.subheader("Segments")
    st.altair_chart(charts.sizes_chart(sizes))
    st.caption("How many of the customers the model was trained on fall in each segment.")
    table = core.segment_table(metrics, names)
    if len(table):
        _table(
            table,
            "Stability is how often refits on resampled customers find the segment again "
            "(Jaccard, from 0 to 1; 1 means every time).",
        )

choice = metrics.get("elbow", {})
criteria = core.k_criteria(status.elbow) if status.elbow else None
if choice or criteria is not None:
    st.subheader("Choosing the number of segments")
    sentence = core.k_sentence(choice, metrics.get("train", {}).get("n_clusters"))
    if sentence:
        st.write(core.plain(sentence))
    for warning in choice.get("warnings", []):
        st.warning(core.plain(warning))
    if criteria is not None and len(criteria.columns):
        st.line_chart(criteria, x_label="number of segments", y_label="score (higher is better)")
        st.caption(
            "For each number of segments tried: how well separated the segments are (silhouette) "
            "and how reproducible they are (stability); higher is better for both."
        )
    choices = core.k_choices(choice)
    if len(choices):
        _table(
            choices,
            "The number of segments each criterion would pick; the first is the one the pipeline "
            "follows (elbow.method in params.yaml).",
        )

drift = metrics.get("drift")
if drift:
    st.subheader("New customers against the training customers")
    sentence = core.drift_sentence(drift, status.formatter)
    if sentence:
        st.write(core.plain(sentence))
    features = core.drift_table(drift, status.formatter)
    if len(features):
        _table(
            features,
            "How much each feature's values among the new customers differ from the training "
            f"customers (population stability index: below 0.1 no real change; "
            f"{drift.get('psi_threshold', 0.2)} or more a shift worth checking).",
        )
    shares = core.drift_shares(drift, metrics, names)
    if len(shares):
        _table(
            shares,
            "Each segment's share of the training and of the new customers; a change of "
            f"{drift.get('share_threshold', 0.05) * 100:.0f} points or more is flagged.",
        )

fairness = metrics.get("fairness")
if fairness:
    table = core.fairness_table(fairness)
    if len(table):
        st.subheader("Protected attributes")
        _table(
            table,
            "How strongly the segments follow each protected column (Cramér's V, from 0 none to "
            f"1 fully; above {fairness.get('threshold')} is flagged). These columns never form the "
            "segments unless params.yaml says so.",
        )

outcomes = core.outcomes_table(metrics.get("outcomes", {}), names, status.formatter)
if len(outcomes):
    st.subheader("Outcomes by segment")
    _table(
        outcomes,
        "How each segment does on the outcomes the bank cares about: the share of its customers "
        "with the outcome (rate) or its mean; lift is that divided by the figure of all customers.",
    )

st.subheader("Plots")
for title, path in status.plots:
    st.image(str(path), caption=title)
for path in status.missing_plots:
    st.caption(core.plain(f"{path} not found; run dvc repro"))

st.subheader("Parameters (params.yaml)")
if status.params_text is not None:
    st.code(status.params_text, language="yaml")

st.subheader("Server settings")
st.dataframe(
    pd.DataFrame(
        [
            {"setting": key, "in effect": str(st.get_option(key)), "safe default": str(value)}
            for key, value in server.SAFE_OPTIONS.items()
        ]
    ),
    hide_index=True,
)

if metrics:
    with st.expander("Raw metrics files (for analysts)", expanded=False):
        for name, data in metrics.items():
            st.caption(core.plain(f"metrics/{name}.json"))
            st.code(core.raw_metrics_text(data), language="json")
