"""The dashboard's server: Streamlit's ASGI app for ``navigation.py``, with the response
headers of :mod:`bankseg.dashboard.headers` on every response.

Start it with ``python -m bankseg.dashboard``, which adds the safe server settings;
``streamlit run bankseg/dashboard/app.py`` from the repository root works too (it reads them
from ``.streamlit/config.toml``). Both find the ``app`` below and serve it with uvicorn.
"""

from pathlib import Path

from starlette.middleware import Middleware
from streamlit.starlette import App

from bankseg.dashboard.headers import SecurityHeaders

SCRIPT = Path(__file__).resolve().parent / "navigation.py"

app = App(SCRIPT, middleware=[Middleware(SecurityHeaders)])
