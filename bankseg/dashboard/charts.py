"""Charts the two pages share (Altair specifications; no streamlit import)."""

from __future__ import annotations

import altair as alt
import pandas as pd


def sizes_chart(data: pd.DataFrame) -> alt.Chart:
    """Customers per segment as horizontal bars, in segment order, labelled ``0: name``.

    ``data``: ``segment`` (the label), ``n`` (the count), and ``customers`` and ``share`` as
    the tables write them (``5,051``, ``25.3%``), which the tooltips show.
    """
    return (
        alt.Chart(data, height=50 + 32 * len(data))
        .mark_bar()
        .encode(
            x=alt.X("n:Q", title="customers", axis=alt.Axis(format=",d")),
            y=alt.Y("segment:N", title=None, sort=None, axis=alt.Axis(labelLimit=500, labelOverlap=False)),
            tooltip=[alt.Tooltip("segment:N"), alt.Tooltip("customers:N"), alt.Tooltip("share:N")],
        )
    )
