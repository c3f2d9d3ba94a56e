"""Featurize on Spark: exact statistics, the scikit-learn preprocessing, the scaled features."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from bankseg.engines.spark.session import SparkFeatures, double_schema, map_frames
from bankseg.errors import InputError
from bankseg.features import FeatureScaler
from bankseg.params import FeatureParams, FeaturizeParams
from bankseg.segmentation.encoding import (
    build_preprocessing,
    choose_log,
    encoded_layout,
    feature_frame,
    report_logs,
    warn_grouped_values,
)

log = logging.getLogger(__name__)


def _exact_median(column: str) -> Any:
    from pyspark.sql import functions as F

    value = F.col(column).cast("double")
    return F.percentile(F.when(~F.isnan(value), value), F.lit(0.5))


def _most_frequent(df: Any, column: str) -> Any:
    """The most frequent non-missing value; ties go to the smallest, as in scikit-learn."""
    from pyspark.sql import functions as F

    counts = df.where(F.col(column).isNotNull()).groupBy(column).count()
    top = counts.orderBy(F.desc("count"), F.asc(column)).first()
    if top is None:
        raise InputError(f"featurize: column {column!r} has no value to impute with")
    return top[0]


def _imputation_values(df: Any, features: FeatureParams) -> dict[str, Any]:
    from pyspark.sql import functions as F

    values: dict[str, Any] = {}
    numeric = {f.column for f in features.numeric}
    aggregates = []
    for column, strategy in features.missing.items():
        if strategy == "median":
            aggregates.append(_exact_median(column).alias(column))
        elif strategy == "mean":
            value = F.col(column).cast("double")
            aggregates.append(F.avg(F.when(~F.isnan(value), value)).alias(column))
        elif strategy == "zero":
            values[column] = 0.0
        elif strategy == "most_frequent":
            found = _most_frequent(df, column)
            values[column] = float(found) if column in numeric else found
    if aggregates:
        values |= {k: float(v) for k, v in df.agg(*aggregates).first().asDict().items()}
    return values


def _log_choices(df: Any, features: FeatureParams, skew_threshold: float) -> dict[str, str | None]:
    """``log`` of every numeric feature, decided as :func:`bankseg.segmentation.encoding.log_choice` decides it."""
    from pyspark.sql import functions as F

    auto = [f.column for f in features.numeric if f.log == "auto"]
    logs = {f.column: "log1p" if f.log is True else None for f in features.numeric}
    if not auto:
        return logs
    aggregates = []
    for column in auto:
        value = F.col(column).cast("double")
        kept = F.when(~F.isnan(value), value)
        aggregates += [F.skewness(kept), F.min(kept), F.max(kept), F.count(kept)]
    row = df.agg(*aggregates).first()
    for i, column in enumerate(auto):
        skewness, low, high, n = row[4 * i : 4 * i + 4]
        if n >= 3 and low != high and skewness is not None:
            logs[column] = choose_log(float(skewness), skew_threshold)
    return logs


def _frequent_values(counts: dict[str, int], *, min_frequency: float, max_categories: int) -> set[str]:
    """The values a one-hot encoder gives columns of their own, as scikit-learn's
    OneHotEncoder decides it: values rarer than ``min_frequency`` of the rows are infrequent;
    then, when more than ``max_categories`` columns would remain (one for the infrequent), the
    ``max_categories - 1`` most frequent, equal counts going to the later value in sorted
    order (a stable sort of the sorted values by count). ``counts`` is in sorted order of the values.
    """
    values = list(counts)
    n_rows = sum(counts.values())
    infrequent = {v for v in values if min_frequency and counts[v] < min_frequency * n_rows}
    if max_categories < len(values) - len(infrequent) + 1:
        keep = max_categories - 1
        order = np.argsort(np.array([counts[v] for v in values]), kind="mergesort")
        infrequent |= {values[i] for i in (order[:-keep] if keep else order)}
    return set(values) - infrequent


def _copies(n_frequent: int, n_rare: int, min_frequency: float) -> int:
    """How many times each frequent value appears in the example frame (rare ones: once), so
    that the encoder finds the rare ones below ``min_frequency`` and no frequent one."""
    if not min_frequency:
        return 2
    # m >= f (m F + R) and f (m F + R) > 1, with f F < 1 whenever R > 0.
    need = min_frequency * n_rare / (1 - min_frequency * n_frequent) if n_rare else 0.0
    return max(2, int(np.ceil(need)) + 1, int(np.ceil(1 / min_frequency)) + 1)


def _example_frame(
    df: Any, features: FeatureParams, featurize: FeaturizeParams, imputed: dict[str, Any]
) -> pd.DataFrame:
    """A few rows holding every category value: fitting the encoders on them sets their
    categories, and the rare values of a one-hot feature share a column as on all customers."""
    columns: dict[str, list] = {}
    for f in features.numeric:
        columns[f.column] = [float(imputed.get(f.column, 0.0))]
    for f in features.categorical:
        if f.encoding == "onehot":
            found = {r[0]: int(r[1]) for r in df.groupBy(f.column).count().collect()}
            counts = dict(sorted((str(v), n) for v, n in found.items() if v is not None))
            if None in found and f.column in imputed:  # gaps the encoder sees as the imputed value
                counts[str(imputed[f.column])] += found[None]
            frequent = _frequent_values(
                counts, min_frequency=featurize.min_frequency, max_categories=featurize.max_categories
            )
            m = _copies(len(frequent), len(counts) - len(frequent), featurize.min_frequency)
            columns[f.column] = [v for v in counts for _ in range(m if v in frequent else 1)]
        else:
            columns[f.column] = [imputed.get(f.column, f.order[0] if f.order else "No")]
    n = max(len(v) for v in columns.values())
    return pd.DataFrame({c: v + [v[-1]] * (n - len(v)) for c, v in columns.items()})


def _set_imputers(encode: Any, imputed: dict[str, Any]) -> None:
    for column, value in imputed.items():
        steps = getattr(encode.named_transformers_[column], "named_steps", {})
        if "impute" in steps:
            imputer = steps["impute"]
            imputer.statistics_ = np.array([value], dtype=imputer.statistics_.dtype)


def _fit_scaler(scale: FeatureScaler, encoded: Any, names: list[str]) -> None:
    """Fit the scaling from exact Spark aggregates of the encoded columns: the statistics of
    :func:`bankseg.features.column_stats`, given to the scaler's own :meth:`~bankseg.features.FeatureScaler.fit_stats`."""
    from pyspark.sql import functions as F

    cols = [f"f{i}" for i in range(len(names))]
    aggregates = [F.avg(c) for c in cols] + [F.var_pop(c) for c in cols]
    aggregates += [F.min(c) for c in cols] + [F.max(c) for c in cols]
    row = np.array(encoded.agg(*aggregates).first(), dtype="float64").reshape(4, len(cols))
    stats = dict(zip(("mean", "var", "min", "max"), row, strict=True))
    if scale.uses_quantiles():  # exact percentiles (pyspark.ml's RobustScaler approximates them)
        found = encoded.agg(*[F.percentile(c, F.array(*map(F.lit, (0.25, 0.5, 0.75)))) for c in cols]).first()
        quantiles = np.array([list(v) for v in found], dtype="float64")
        stats["q25"], stats["median"], stats["q75"] = quantiles.T
    scale.fit_stats(stats, names=names)


def fit_preprocessing(
    customers: Any, *, features: FeatureParams, featurize: FeaturizeParams
) -> tuple[Pipeline, SparkFeatures]:
    """The fitted preprocessing Pipeline from Spark statistics, and the scaled features in Spark.

    Returns the Pipeline (the same object the default engine saves) and the scaled features
    of the ``customers`` (a Spark DataFrame) with their names.
    """
    customers = customers.select(*features.columns)
    if customers.limit(1).count() == 0:
        raise InputError("featurize: no customers to fit the preprocessing on")
    imputed = _imputation_values(customers, features)
    logs = _log_choices(customers, features, featurize.skew_threshold)
    report_logs(features, logs)
    preprocessing = build_preprocessing(features, featurize, logs)
    encode, scaler = preprocessing.named_steps["encode"], preprocessing.named_steps["scale"]
    encode.fit(feature_frame(_example_frame(customers, features, featurize, imputed), features))
    warn_grouped_values(preprocessing, featurize)
    _set_imputers(encode, imputed)
    scaler.set_params(layout=encoded_layout(encode, features))
    names = [str(n) for n in encode.get_feature_names_out()]
    schema = double_schema(len(names))

    def encoded_batch(pdf: pd.DataFrame) -> pd.DataFrame:
        out = np.asarray(encode.transform(feature_frame(pdf, features)), dtype="float64")
        return pd.DataFrame(out, columns=schema.fieldNames())

    encoded = map_frames(customers, encoded_batch, schema).persist()
    try:
        _fit_scaler(scaler, encoded, names)

        def scaled_batch(pdf: pd.DataFrame) -> pd.DataFrame:
            frame = pd.DataFrame(pdf.to_numpy(), columns=names)
            out = np.asarray(scaler.transform(frame), dtype="float64")
            return pd.DataFrame(out, columns=schema.fieldNames())

        return preprocessing, SparkFeatures(map_frames(encoded, scaled_batch, schema), names)
    except Exception:
        encoded.unpersist()
        raise
