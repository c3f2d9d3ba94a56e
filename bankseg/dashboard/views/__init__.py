"""Pages of the dashboard, run by streamlit (see navigation.py)."""
