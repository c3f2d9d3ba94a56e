"""Streamlit dashboard for the trained segmentation: ``python -m bankseg.dashboard``.

Optional (``pip install .[dashboard]``). The logic lives in :mod:`bankseg.dashboard.core`,
which does not import streamlit; only ``app.py`` (the server), ``navigation.py`` (the
script it runs) and ``views/`` do, and nothing in the pipeline imports this package.
"""
