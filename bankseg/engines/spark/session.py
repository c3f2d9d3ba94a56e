"""The Spark session, reading and writing, and K-means for the Apache Spark engine (``engine: spark``).

Spark does the work that grows with the number of customers: the encoding and scaling
statistics, the scaled features, the seeded sample of the K sweep, the K-means fit and the
scoring of every customer. What it learns is exported as the same scikit-learn
objects the default engine saves, so ``models/preprocessing.skops`` and
``models/model.skops`` are ordinary scikit-learn Pipelines: the ``assign`` command, the
reports and ``analyze`` need no Spark.

- Statistics are exact aggregates (min, max, mean, population variance, exact percentiles
  with numpy's linear interpolation, most frequent value with ties to the smallest), so the
  scaling equals scikit-learn's. The rows are transformed by the fitted scikit-learn
  preprocessing itself, run on the executors, so both engines give the same features.
- Criteria that need pairwise distances or refits (silhouette, Calinski-Harabasz,
  Davies-Bouldin, gap, stability) and segment names are computed with scikit-learn and
  pandas on seeded samples collected to the driver: the same rows the default engine uses,
  so the values are comparable (and equal when the sample holds every customer).
- Segment ids follow the same rules: canonical order, then the reference segments
  (:func:`bankseg.segmentation.kmeans.canonical_order`, :func:`bankseg.segmentation.kmeans.reference_order`).

pyspark is imported here only, inside functions: nothing imports it unless the engine is
chosen. Rows keep the order of the input file (a single Parquet file read in order), which
is what keeps the features aligned with the prepared customers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bankseg.errors import InputError
from bankseg.io.blocks import csv_block_writer, parquet_block_writer
from bankseg.params import SparkParams

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
ROW = "_bankseg_row"
INSTALL_HINT = (
    "engine: spark needs pyspark and Java 17+: python -m pip install -r requirements-spark.txt "
    "(or pip install 'bankseg[spark]')"
)


# --- session -----------------------------------------------------------------------------


def master_url(params: SparkParams) -> str:
    """The Spark master: the ``SPARK_MASTER`` environment variable, else ``spark.master``."""
    return os.environ.get("SPARK_MASTER") or params.master


def _package_zip(folder: Path) -> Path:
    """The bankseg package as a zip for the executors (they run its preprocessing and scoring)."""
    source = Path(__file__).resolve().parents[2]
    target = folder / "bankseg.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(source.rglob("*.py")):
            archive.write(path, Path("bankseg") / path.relative_to(source))
    return target


@contextlib.contextmanager
def spark_session(params: SparkParams) -> Iterator[Any]:
    """A Spark session for ``params`` (local and loopback-only for local masters), stopped after.

    When a session is already active in this process (a notebook's, or the one tests share),
    it is used as it is and left running: its owner stops it.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise InputError(INSTALL_HINT) from exc
    active = SparkSession.getActiveSession()
    if active is not None:
        log.info("using the active Spark session at %s", active.sparkContext.master)
        yield active
        return
    master = master_url(params)
    local = master.startswith("local")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # pyspark 4.3 warns that it does not fully support pandas 3; what bankseg uses works.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    warnings.filterwarnings("ignore", message="The copy keyword is deprecated", module="pyspark")
    settings = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    if local:
        os.environ.setdefault("SPARK_LOCAL_IP", LOOPBACK)
        settings |= {
            "spark.driver.host": LOOPBACK,
            "spark.driver.bindAddress": LOOPBACK,
            "spark.sql.shuffle.partitions": "2",
        }
    builder = SparkSession.builder.master(master).appName("bankseg")
    for key, value in (settings | dict(params.config)).items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start: no Java, or the master is unreachable
        raise InputError(
            f"engine: spark could not start Spark at {master!r} ({exc}); {INSTALL_HINT}"
        ) from exc
    spark.sparkContext.setLogLevel("ERROR")
    folder = Path(tempfile.mkdtemp(prefix="bankseg-spark-"))
    try:
        spark.sparkContext.addPyFile(str(_package_zip(folder)))
        yield spark
    finally:
        spark.stop()
        shutil.rmtree(folder, ignore_errors=True)


# --- reading, writing, rows --------------------------------------------------------------


def read_parquet(spark: Any, path: str | Path) -> Any:
    """A Parquet file as a Spark DataFrame, by absolute URI (workers must see the same path)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found; run the pipeline first (dvc repro)")
    return spark.read.parquet(path.resolve().as_uri())


class SparkFeatures(NamedTuple):
    """Scaled features in Spark, with columns ``f0, f1, ...`` (any name is safe in Spark), and
    the feature names those columns stand for."""

    frame: Any
    names: list[str]


def read_features(spark: Any, path: str | Path) -> SparkFeatures:
    """The scaled features written by featurize."""
    df = read_parquet(spark, path)
    names = list(df.columns)
    return SparkFeatures(df.toDF(*[f"f{i}" for i in range(len(names))]), names)


def _spark_parts(df: Any, folder: Path, fmt: str = "parquet") -> list[Path]:
    df.write.mode("overwrite").format(fmt).save(folder.resolve().as_uri())
    return sorted(folder.glob(f"part-*.{fmt}"))


def _batches(df: Any, folder: Path, names: list[str] | None = None) -> Iterator[pa.Table]:
    """Write ``df`` with Spark into ``folder`` and read it back in order, batch by batch."""
    for part in _spark_parts(df, folder):
        for batch in pq.ParquetFile(part).iter_batches(batch_size=1 << 16):
            table = pa.Table.from_batches([batch]).replace_schema_metadata(None)
            yield table.rename_columns(names) if names else table


@contextlib.contextmanager
def _spark_tables(df: Any, path: str | Path, names: list[str] | None = None) -> Iterator[Iterator[pa.Table]]:
    """``df``'s batches in order, which Spark writes into a temporary folder beside ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{path.name}-spark-", dir=path.parent))
    try:
        yield _batches(df, folder / "parts", names)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _write_single(
    df: Any,
    path: str | Path,
    block_writer: Callable,
    empty: Callable[[], Any],
    names: list[str] | None = None,
) -> None:
    """``df`` as one file through ``block_writer`` (of :mod:`bankseg.io`), or ``empty()`` for no rows."""
    with _spark_tables(df, path, names) as tables, block_writer(path) as write:
        wrote = False
        for table in tables:
            write(table)
            wrote = True
        if not wrote:
            write(empty())


def write_single_parquet(df: Any, path: str | Path, names: list[str]) -> None:
    """Write ``df`` as one Parquet file (the default engine's format), columns renamed to ``names``."""
    _write_single(
        df,
        path,
        parquet_block_writer,
        lambda: pa.table({n: pa.array([], pa.float64()) for n in names}),
        names,
    )


def write_single_csv(df: Any, path: str | Path) -> None:
    """Write ``df`` as one CSV file like :func:`bankseg.io.atomic.write_csv` (formulas neutralised)."""
    _write_single(df, path, csv_block_writer, lambda: df.limit(0).toPandas())


def collect_rows(df: Any, positions: np.ndarray, n_rows: int) -> pd.DataFrame:
    """The rows of ``df`` at ``positions`` (in file order), as pandas, with a clean index.

    Every partition's first global row number comes from a count per partition; each
    partition then keeps its wanted rows. Partitions of a file read are the same in both
    passes.
    """
    from pyspark.sql import functions as F

    positions = np.asarray(positions, dtype="int64")
    if len(positions) == n_rows:
        return df.toPandas()
    counts = dict(df.groupBy(F.spark_partition_id().alias("p")).count().collect())
    offsets, start = {}, 0
    for p in range(df.rdd.getNumPartitions()):
        offsets[p] = start
        start += counts.get(p, 0)
    wanted = positions
    from pyspark.sql.types import LongType, StructField, StructType

    # A new schema: StructType.add would change the DataFrame's cached one in place.
    schema = StructType([*df.schema.fields, StructField(ROW, LongType())])

    def keep(batches):
        from pyspark import TaskContext

        at = offsets[TaskContext.get().partitionId()]
        for pdf in batches:
            rows = np.arange(at, at + len(pdf))
            at += len(pdf)
            mask = np.isin(rows, wanted)
            if mask.any():
                yield pdf[mask].assign(**{ROW: rows[mask]})

    sample = df.mapInPandas(keep, schema).toPandas().sort_values(ROW)
    return sample.drop(columns=ROW).reset_index(drop=True)


def map_frames(df: Any, function: Any, schema: Any) -> Any:
    """``function`` (pandas to pandas) applied to every batch of rows, on the executors."""

    def apply(batches):
        for pdf in batches:
            yield function(pdf)

    return df.mapInPandas(apply, schema)


def double_schema(n: int) -> Any:
    from pyspark.sql.types import DoubleType, StructField, StructType

    return StructType([StructField(f"f{i}", DoubleType()) for i in range(n)])


def assemble(df: Any) -> Any:
    from pyspark.ml.feature import VectorAssembler

    return VectorAssembler(inputCols=df.columns, outputCol="features").transform(df).select("features")


# --- K-means on Spark --------------------------------------------------------------------


def spark_kmeans(vectors: Any, k: int, *, seed: int, max_iter: int, tol: float, n_init: int = 1):
    """The best of ``n_init`` pyspark.ml K-means fits (k-means|| starts, seeds ``seed + i``)."""
    from pyspark.ml.clustering import KMeans as SparkKMeans

    best = None
    for i in range(n_init):
        model = SparkKMeans(
            k=k, seed=seed + i, initMode="k-means||", maxIter=max_iter, tol=tol, featuresCol="features"
        ).fit(vectors)
        if best is None or model.summary.trainingCost < best.summary.trainingCost:
            best = model
    return best
