"""Streamlit entry point. Start it with ``python -m bankseg.dashboard``, which adds the safe
server settings; ``streamlit run bankseg/dashboard/app.py`` from the repository root works
too (it reads them from ``.streamlit/config.toml``)."""

from pathlib import Path

import streamlit as st

VIEWS = Path(__file__).resolve().parent / "views"

st.set_page_config(page_title="bankseg: customer segments", layout="wide")
page = st.navigation(
    [
        st.Page(VIEWS / "segment.py", title="Segment customers", default=True),
        st.Page(VIEWS / "status.py", title="Pipeline status"),
    ]
)
page.run()
