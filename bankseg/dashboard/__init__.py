"""Streamlit dashboard for the trained segmentation: ``python -m bankseg.dashboard``.

Optional (``pip install .[dashboard]``). The logic lives in :mod:`bankseg.dashboard.core`,
which does not import streamlit; only ``app.py`` and ``views/`` do, and nothing in the
pipeline imports this package.
"""
