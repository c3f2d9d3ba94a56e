"""Page: segment an uploaded file, or the generated new-customer batch, with the trained model."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pandas as pd
import streamlit as st

from bankseg.dashboard import charts, core, server
from bankseg.errors import InputError
from bankseg.io.formulas import neutralise_formulas
from bankseg.io.models import load_model
from bankseg.reporting import formatting

log = logging.getLogger("bankseg.dashboard")


@st.cache_resource(show_spinner=False, max_entries=4)
def _model(path: str, root: str, key: str):
    # Keyed by the MD5 of the model file and of dvc.lock: a change to either is verified again.
    return load_model(path, root=root)


def _load(root):
    key = core.model_cache_key(root)
    return core.load_segmentation(root, model_loader=lambda path: _model(str(path), str(root), key))


def _segment(job: Callable[[], core.Scored]) -> None:
    st.session_state.pop("scored", None)
    st.session_state.pop("error", None)
    try:
        with st.spinner("Segmenting customers..."):
            st.session_state["scored"] = job()
    except InputError as exc:
        st.session_state["error"] = str(exc)
    except Exception as exc:  # never a traceback in the page; the server log has it
        log.exception("segmenting failed")
        st.session_state["error"] = f"could not segment this file ({type(exc).__name__}); see the server log"


def _table(df: pd.DataFrame, **kwargs) -> None:
    # Shown as the downloaded CSV will be: formula-like text prefixed with '.
    st.dataframe(neutralise_formulas(df), hide_index=True, **kwargs)


st.title("Customer segments")
root = server.project_root()
try:
    segmentation = _load(root)
except InputError as exc:
    st.error(core.plain(exc))
    st.info(f"Run `dvc repro` in {core.plain(root)} to train the model, then reload this page.")
    st.stop()
except Exception as exc:
    log.exception("loading the trained segmentation failed")
    st.error(f"could not load the trained model ({type(exc).__name__}); run `dvc repro` to rebuild it")
    st.stop()

st.write(
    f"Scores customers with the model of the last `dvc repro` ({len(segmentation.names)} segments), "
    "with the same cleaning rules and scaling as `python -m bankseg assign`."
)
limit = int(st.get_option("server.maxUploadSize"))
upload = st.file_uploader(
    f"Customer file: CSV or Parquet in the training data's format, up to {limit} MB "
    f"and {formatting.count(core.MAX_UPLOAD_ROWS)} rows",
    type=["csv", "txt", "parquet", "pq"],
    help=core.upload_limits(limit),
    key="upload",
)
left, right = st.columns(2)
if left.button("Segment the uploaded file", type="primary", disabled=upload is None, key="segment_upload"):
    file = upload
    _segment(lambda: core.score_upload(file.name, file.getvalue(), segmentation, limit))
if right.button(
    f"Segment the new-customer batch ({core.plain(segmentation.params.data.new)})", key="segment_batch"
):
    _segment(lambda: core.score_batch(segmentation))

if "error" in st.session_state:
    st.error(core.plain(st.session_state["error"]))

scored: core.Scored | None = st.session_state.get("scored")
if scored is not None:
    st.header(f"{formatting.count(len(scored.labelled))} customers from {core.plain(scored.source)}")
    if len(scored.rejected):
        st.warning(core.plain(core.rejected_summary(scored)))
        with st.expander(f"Rejected rows ({formatting.count(len(scored.rejected))})"):
            _table(scored.rejected)
            st.download_button(
                "Download the rejected rows as CSV",
                data=core.csv_bytes(scored.rejected),
                file_name=core.download_name(scored.source, "rejected"),
                mime="text/csv",
                on_click="ignore",
                key="download_rejected",
            )
    st.subheader("Summary")
    st.table(core.markdown_table(core.summary(scored, segmentation)), hide_index=True)
    st.caption(
        "Customers and share of this file in each segment; the description is the report's, "
        "from the customers the model was trained on."
    )
    st.altair_chart(charts.sizes_chart(core.size_chart_data(scored, segmentation)))
    if segmentation.profiles_note:
        st.caption(core.plain(segmentation.profiles_note))

    st.subheader("Segments")
    st.caption(core.plain(f"{core.clarity_note(scored)} {core.DOWNLOAD_NOTE}"))
    for seg, name in sorted(segmentation.names.items()):
        customers = core.segment_customers(scored, segmentation, seg)
        profile = core.segment_profile(segmentation, seg)
        with st.expander(f"Segment {seg}: {core.plain(name)} ({formatting.count(len(customers))} customers)"):
            text = core.description(profile)
            if text:
                st.write(core.plain(text))
            for trait in core.traits(profile):
                st.markdown(f"- {core.plain(trait)}")
            st.markdown("**Compared with all customers**")
            _table(core.numeric_profile(scored, segmentation, seg))
            differences = core.differentiators(segmentation, seg)
            if len(differences):
                _table(differences)
                st.caption(
                    "What sets the segment apart: how far its average lies from that of all "
                    "customers, in standard deviations (minus: lower or fewer)."
                )
            mix = core.category_mix(segmentation, seg, scored.formatter)
            if len(mix):
                _table(mix)
            st.markdown("**Customers**")
            _table(customers, column_config={"clarity": st.column_config.NumberColumn(format="%.2f")})
            st.download_button(
                f"Download segment {seg} as CSV",
                data=core.csv_bytes(core.segment_download(scored, segmentation, seg)),
                file_name=core.download_name(scored.source, seg),
                mime="text/csv",
                on_click="ignore",
                key=f"download_{seg}",
                help=core.DOWNLOAD_NOTE,
            )
