"""The Streamlit script: the page settings and the two pages. ``app.py`` serves it (with the
response headers that forbid framing); AppTest runs it directly."""

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
