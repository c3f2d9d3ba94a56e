"""Stage featurize on Spark: exact statistics, the scikit-learn preprocessing, the scaled features."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from bankseg.errors import InputError
from bankseg.features import build_preprocessing, feature_frame, warn_grouped_values
from bankseg.io import (
    save_model,
)
from bankseg.params import Params
from bankseg.spark_engine import (
    assemble,
    double_schema,
    map_frames,
    read_parquet,
    run_stage,
    write_single_parquet,
)

log = logging.getLogger(__name__)

# --- featurize ---------------------------------------------------------------------------


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


def _imputation_values(df: Any, params: Params) -> dict[str, Any]:
    from pyspark.sql import functions as F

    values: dict[str, Any] = {}
    numeric = {f.column for f in params.features.numeric}
    aggregates = []
    for column, strategy in params.prepare.missing.items():
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


def _frequent_values(counts: dict[str, int], max_categories: int) -> set[str]:
    """The values a one-hot encoder with ``max_categories`` gives columns of their own.

    As scikit-learn's OneHotEncoder decides it: with at least ``max_categories`` values, the
    ``max_categories - 1`` most frequent, equal counts going to the later value in sorted
    order (a stable sort of the sorted values by count); otherwise every value.
    ``counts`` is in sorted order of the values.
    """
    values = list(counts)
    if len(values) < max_categories:
        return set(values)
    order = np.argsort(np.array(list(counts.values())), kind="mergesort")
    return {values[i] for i in order[len(values) - (max_categories - 1) :]}


def _example_frame(df: Any, params: Params, imputed: dict[str, Any]) -> pd.DataFrame:
    """A few rows holding every category value: fitting the encoders on them sets their
    categories, and the rarest values of a one-hot feature share a column as on all customers."""
    from pyspark.sql import functions as F

    columns: dict[str, list] = {}
    for f in params.features.numeric:
        columns[f.column] = [float(imputed.get(f.column, 0.0))]
    for f in params.features.categorical:
        if f.encoding == "onehot":
            found = df.where(F.col(f.column).isNotNull()).groupBy(f.column).count().collect()
            counts = dict(sorted((str(r[0]), int(r[1])) for r in found))
            frequent = _frequent_values(counts, params.featurize.max_categories)
            # Frequent values twice, the others once: the encoder groups the same values.
            columns[f.column] = [v for v in counts for _ in range(2 if v in frequent else 1)]
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


def _fit_scaler(scaler: Any, encoded: Any, names: list[str], n_rows: int) -> None:
    """Set a scikit-learn scaler's fitted attributes from exact Spark aggregates."""
    from pyspark.sql import functions as F
    from sklearn.preprocessing._data import _handle_zeros_in_scale

    cols = [f"f{i}" for i in range(len(names))]
    scaler.n_features_in_ = len(names)
    scaler.feature_names_in_ = np.asarray(names, dtype=object)
    kind = type(scaler).__name__
    if kind == "MinMaxScaler":
        from pyspark.ml.feature import MinMaxScaler

        fitted = MinMaxScaler(inputCol="features", outputCol="scaled").fit(assemble(encoded))
        low, high = fitted.originalMin.toArray(), fitted.originalMax.toArray()
        data_range = high - low
        scale = (scaler.feature_range[1] - scaler.feature_range[0]) / _handle_zeros_in_scale(
            data_range, copy=True
        )
        scaler.n_samples_seen_ = n_rows
        scaler.data_min_, scaler.data_max_, scaler.data_range_ = low, high, data_range
        scaler.scale_ = scale
        scaler.min_ = scaler.feature_range[0] - low * scale
    elif kind == "StandardScaler":
        # pyspark.ml's StandardScaler divides by the sample standard deviation; scikit-learn
        # by the population one: the exact aggregates keep the two engines equal.
        row = encoded.agg(*[F.avg(c) for c in cols], *[F.var_pop(c) for c in cols]).first()
        mean, var = np.array(row[: len(cols)], dtype="float64"), np.array(row[len(cols) :], dtype="float64")
        scaler.n_samples_seen_ = np.int64(n_rows)
        scaler.mean_, scaler.var_ = mean, var
        scaler.scale_ = _handle_zeros_in_scale(np.sqrt(var), copy=True)
    else:  # RobustScaler: exact percentiles (pyspark.ml's RobustScaler approximates them)
        q_low, q_high = scaler.quantile_range
        row = encoded.agg(
            *[F.percentile(c, F.array(*map(F.lit, (q_low / 100, 0.5, q_high / 100)))) for c in cols]
        )
        quantiles = np.array([list(v) for v in row.first()], dtype="float64")
        scaler.center_ = quantiles[:, 1]
        scaler.scale_ = _handle_zeros_in_scale(quantiles[:, 2] - quantiles[:, 0], copy=False)


def fit_preprocessing(spark: Any, customers: Any, params: Params) -> tuple[Pipeline, Any, list[str]]:
    """The fitted preprocessing Pipeline from Spark statistics, and the scaled features in Spark.

    Returns the Pipeline (the same object the default engine saves), the scaled features as
    a Spark DataFrame with columns ``f0, f1, ...`` and the feature names.
    """
    features = params.features
    customers = customers.select(*features.columns)
    n_rows = customers.count()
    if n_rows == 0:
        raise InputError("featurize: no customers to fit the preprocessing on")
    imputed = _imputation_values(customers, params)
    preprocessing = build_preprocessing(features, params.prepare.missing, params.featurize)
    encode, scaler = preprocessing.named_steps["encode"], preprocessing.named_steps["scale"]
    encode.fit(feature_frame(_example_frame(customers, params, imputed), features))
    warn_grouped_values(preprocessing, params.featurize)
    _set_imputers(encode, imputed)
    names = [str(n) for n in encode.get_feature_names_out()]
    schema = double_schema(len(names))

    def encoded_batch(pdf: pd.DataFrame) -> pd.DataFrame:
        out = np.asarray(encode.transform(feature_frame(pdf, features)), dtype="float64")
        return pd.DataFrame(out, columns=schema.fieldNames())

    encoded = map_frames(customers, encoded_batch, schema).persist()
    try:
        _fit_scaler(scaler, encoded, names, n_rows)

        def scaled_batch(pdf: pd.DataFrame) -> pd.DataFrame:
            frame = pd.DataFrame(pdf.to_numpy(), columns=names)
            out = np.asarray(scaler.transform(frame), dtype="float64")
            return pd.DataFrame(out, columns=schema.fieldNames())

        scaled = map_frames(encoded, scaled_batch, schema)
        return preprocessing, scaled, names
    except Exception:
        encoded.unpersist()
        raise


def run_featurize(spark: Any, args: Any, params: Params) -> None:
    customers = read_parquet(spark, args.customers)
    preprocessing, scaled, names = fit_preprocessing(spark, customers, params)
    write_single_parquet(scaled, args.features, names)
    save_model(preprocessing, args.preprocessing)


def run(args: Any, params: Params) -> None:
    run_stage(run_featurize, args, params)
