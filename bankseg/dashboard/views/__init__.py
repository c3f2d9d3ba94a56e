"""Pages of the dashboard, run by streamlit (see app.py)."""
