"""Page: the state of the pipeline after the last ``dvc repro``: params, metrics, plots."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from bankseg.dashboard import core

st.title("Pipeline status")
root = core.project_root()
status = core.pipeline_status(root)
if status.params_text is None or not status.metrics:
    st.error(core.plain(f"No pipeline outputs in {root}; run dvc repro first."))
st.caption(
    core.plain(
        f"Project folder {root}; dvc.lock written {status.lock_written or 'never'}; "
        f"model MD5 in dvc.lock {(status.model_md5 or 'none')[:12]}"
    )
)

figures = core.key_figures(status.metrics)
if figures:
    for column, (label, value) in zip(st.columns(len(figures)), figures, strict=True):
        column.metric(label, value)

st.subheader("Plots")
for title, path in status.plots:
    st.image(str(path), caption=title)
for path in status.missing_plots:
    st.caption(core.plain(f"{path} not found; run dvc repro"))

st.subheader("Metrics")
for name, data in status.metrics.items():
    with st.expander(f"metrics/{name}.json"):
        st.json(data)

st.subheader("Parameters (params.yaml)")
if status.params_text is not None:
    st.code(status.params_text, language="yaml")

st.subheader("Server settings")
st.dataframe(
    pd.DataFrame(
        [
            {"setting": key, "in effect": str(st.get_option(key)), "safe default": str(value)}
            for key, value in core.SAFE_OPTIONS.items()
        ]
    ),
    hide_index=True,
)
