"""Label customers with the trained model: the shared path of the assign stage and the CLI."""

from __future__ import annotations

import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from bankseg.errors import InputError
from bankseg.params import Params
from bankseg.personal import shown_name
from bankseg.segmentation.encoding import build_preprocessing, fitted_logs
from bankseg.segmentation.kmeans import assign_segments


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


def _settings(value: object) -> object:
    """An estimator's settings as comparable data: its class and parameters, recursively."""
    if isinstance(value, BaseEstimator):
        return type(value).__name__, {k: _settings(v) for k, v in value.get_params(deep=False).items()}
    if isinstance(value, (list, tuple)):
        return [_settings(v) for v in value]
    return repr(value)  # NaN (SimpleImputer's missing_values) is not equal to itself


def _expected_logs(fitted, params: Params) -> dict[str, str | None]:
    found = fitted_logs(fitted)
    return {
        f.column: found.get(f.column) if f.log == "auto" else ("log1p" if f.log else None)
        for f in params.features.numeric
    }


def _scale_settings(preprocessing) -> object:
    """The scaling's settings, without the column layout the fitted encoders decide."""
    scale = preprocessing.named_steps["scale"]
    return type(scale).__name__, {
        k: repr(list(v) if isinstance(v, tuple) else v)
        for k, v in scale.get_params().items()
        if k != "layout"
    }


def check_model_settings(model, params: Params, *, model_path: str, params_path: str) -> None:
    """Refuse a model whose preprocessing was built from other settings than ``params`` give.

    The cleaning follows the params file; a model trained with other features, encodings,
    missing-value strategies or scaling would fail on, or silently misread, what it lets
    through. Both engines build the preprocessing with :func:`build_preprocessing`.
    """
    fitted = model.named_steps["preprocess"]
    # log: auto is decided on the training customers; the other settings come from params.
    expected = build_preprocessing(params.features, params.featurize, _expected_logs(fitted, params))
    columns = {name: _settings(step) for name, step, _ in expected.named_steps["encode"].transformers}
    trained = {name: _settings(step) for name, step, _ in fitted.named_steps["encode"].transformers}
    if added := [c for c in columns if c not in trained]:
        difference = f"trained without the feature '{shown_name(added[0])}' that {params_path} lists"
    elif dropped := [c for c in trained if c not in columns]:
        difference = f"trained with the feature '{shown_name(dropped[0])}', which {params_path} does not list"
    elif different := [c for c in columns if columns[c] != trained[c]]:
        difference = f"trained with feature '{shown_name(different[0])}' encoded or imputed otherwise"
    elif _scale_settings(expected) != _scale_settings(fitted):
        difference = "trained with other scaling (featurize)"
    else:
        return
    raise InputError(
        f"{model_path}: {difference}; expected a model trained with the settings of {params_path} "
        "(run dvc repro, or pass the params file it was trained with)"
    )
