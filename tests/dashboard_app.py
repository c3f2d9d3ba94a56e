"""The dashboard run in-process with streamlit's AppTest, as the dashboard tests drive it
(import after ``pytest.importorskip("streamlit")``)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from bankseg.dashboard import server

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "bankseg" / "dashboard" / "navigation.py"  # the Streamlit script AppTest runs


def start(root: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv(server.ROOT_VARIABLE, str(root))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def unescaped(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


def summary_table(at: AppTest) -> pd.DataFrame:
    """The summary table (st.table, whose cells are Markdown), as the page shows it."""
    tables = [t.value for t in at.table if "description" in t.value.columns]
    assert len(tables) == 1
    return tables[0].map(unescaped)
