"""Label customers with the trained model: the shared path of the assign stage and the CLI."""

from __future__ import annotations

import pandas as pd
from sklearn.pipeline import Pipeline

from bankseg.model import assign_segments
from bankseg.params import Params


def label_customers(
    model: Pipeline,
    names: dict[int, str],
    customers: pd.DataFrame,
    params: Params,
    *,
    encoded: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The id column, ``segment``, ``segment_name`` and ``distance`` for each cleaned customer.

    ``encoded``: the customers' features as the model's preprocessing made them, if known.
    """
    scored = assign_segments(model, customers, params.features, encoded=encoded)
    id_column = params.data.id_column
    return pd.DataFrame(
        {
            id_column: customers[id_column].astype(str).array,
            "segment": scored["segment"].to_numpy(),
            "segment_name": scored["segment"].map(names).array,
            "distance": scored["distance"].round(6).to_numpy(),
        }
    )


def split_by_segment(labelled: pd.DataFrame, names: dict[int, str]) -> dict[int, pd.DataFrame]:
    """One frame per segment (empty segments included), in segment order."""
    return {seg: labelled[labelled["segment"] == seg].reset_index(drop=True) for seg in sorted(names)}


def read_segment_names(data: dict) -> dict[int, str]:
    return {int(k): v["name"] for k, v in data["segments"].items()}
