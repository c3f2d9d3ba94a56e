"""The Spark engine agrees with the default one, and nothing imports pyspark unless it is chosen.

The Spark tests run the stage scripts themselves (``stages.<name>.main``, in this process)
with a params file whose ``engine`` is ``spark``, on 3,000 generated customers. They share one
local Spark session (loopback only, no UI), which the stages use as the active session; they
are skipped when pyspark or Java is missing.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml
from lock_file import record_outputs
from sklearn.metrics import adjusted_rand_score

import stages.assign
import stages.elbow
import stages.featurize
import stages.train
from bankseg.data.cleaning import clean_customers
from bankseg.data.generate import generate_customers
from bankseg.engines.training import train_segments
from bankseg.io.atomic import write_csv, write_parquet
from bankseg.io.models import load_model, save_model
from bankseg.io.trust import ALLOWED_TYPES, schema_types
from bankseg.params import SparkParams, load_params
from bankseg.segmentation.choosing_k import choose_k
from bankseg.segmentation.encoding import feature_frame, fit_preprocessing
from bankseg.segmentation.kmeans import build_model
from bankseg.segmentation.sampling import seeded_sample

ROOT = Path(__file__).resolve().parent.parent
N_CUSTOMERS = 3000
# Fewer starts and K than the defaults, for both engines, to keep the module quick.
SMALL = {
    "elbow": {"n_init": 2, "k_max": 8, "n_bootstrap": 3},
    "train": {"n_init": 3},
    "stability": {"n_bootstrap": 5},
}
# The JVMs here live for seconds on small data: most of their time went to the JIT's
# optimising compiler. Its first tier alone computes the same (Java's arithmetic is strict).
JVM_OPTIONS = "-XX:TieredStopAtLevel=1"
JVM_CONFIG = {"spark.driver.extraJavaOptions": JVM_OPTIONS, "spark.executor.extraJavaOptions": JVM_OPTIONS}


def write_params(path: Path, *, master: str = "local[2]") -> Path:
    """The repository's params.yaml with the SMALL settings and ``engine: spark`` at ``master``,
    its JVMs started with JVM_OPTIONS."""
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in SMALL.items():
        raw[section] |= values
    raw["engine"] = "spark"
    raw["spark"] |= {"master": master, "config": raw["spark"]["config"] | JVM_CONFIG}
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def run_train(inputs: Path, features: Path, out: Path, params_file: Path) -> None:
    """The train stage on ``features``, with the other inputs of ``inputs``; outputs to ``out``.

    It runs in ``inputs``, the folder whose dvc.lock records the preprocessing, as DVC runs
    stages in the project folder.
    """
    with contextlib.chdir(inputs):
        stages.train.main(
            [
                *("--customers", str(inputs / "customers.parquet"), "--features", str(features)),
                *(
                    "--preprocessing",
                    str(inputs / "preprocessing.skops"),
                    "--elbow",
                    str(inputs / "elbow.json"),
                ),
                *("--reference", str(inputs / "reference.json"), "--model", str(out / "model.skops")),
                *("--segments", str(out / "segments.json"), "--metrics", str(out / "train.json")),
                *("--stability", str(out / "stability.json"), "--params", str(params_file)),
            ]
        )


def run_stages(inputs: Path, out: Path, params_file: Path) -> None:
    """featurize, elbow, train and assign, the stage scripts, on ``inputs/{customers,new}.parquet``
    and ``inputs/reference.json`` with ``params_file``; every output goes to ``out``."""
    params = ["--params", str(params_file)]
    stages.featurize.main(
        [
            *("--customers", str(inputs / "customers.parquet")),
            *(
                "--preprocessing",
                str(out / "preprocessing.skops"),
                "--features",
                str(out / "features.parquet"),
            ),
            *params,
        ]
    )
    record_outputs(out, out / "preprocessing.skops", stage="featurize")
    stages.elbow.main(
        [
            *("--features", str(out / "features.parquet"), "--scores", str(out / "elbow_scores.json")),
            *("--figure", str(out / "elbow.png"), "--metrics", str(out / "elbow.json")),
            *params,
        ]
    )
    for name in ("customers.parquet", "reference.json"):
        if not (out / name).exists():
            (out / name).write_bytes((inputs / name).read_bytes())
    run_train(out, out / "features.parquet", out, params_file)
    record_outputs(out, out / "model.skops", stage="train")
    with contextlib.chdir(out):
        stages.assign.main(
            [
                *("--model", str(out / "model.skops"), "--segments", str(out / "segments.json")),
                *("--customers", str(inputs / "customers.parquet")),
                *("--features", str(out / "features.parquet"), "--new", str(inputs / "new.parquet")),
                *("--out-customers", str(out / "assigned.csv"), "--out-new", str(out / "assigned_new.csv")),
                *("--by-segment", str(out / "by_segment"), "--drift", str(out / "drift.json")),
                *params,
            ]
        )


@pytest.mark.slow
def test_nothing_imports_pyspark_unless_the_engine_is_chosen(tmp_path, cleaned):
    """Importing every module and running a default stage leaves pyspark unimported."""
    write_parquet(cleaned.kept, tmp_path / "customers.parquet")
    modules = sorted(p.stem for p in (ROOT / "bankseg").glob("*.py"))
    engines = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "bankseg" / "engines").rglob("*.py")
    )
    assert "bankseg.engines.spark.engine" in engines
    script = (
        "import sys, importlib\n"
        f"for m in {modules!r}: importlib.import_module('bankseg.' + m)\n"
        f"for m in {engines!r}: importlib.import_module(m)\n"
        "for s in ['featurize', 'elbow', 'train', 'assign', 'analyze']: importlib.import_module('stages.' + s)\n"
        "import stages.featurize\n"
        f"sys.argv = ['featurize', '--customers', {str(tmp_path / 'customers.parquet')!r},\n"
        f"    '--preprocessing', {str(tmp_path / 'pre.skops')!r}, '--features', {str(tmp_path / 'f.parquet')!r}]\n"
        "stages.featurize.main()\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')], 'pyspark imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "f.parquet").exists()


def need_spark() -> None:
    """Skip unless pyspark and Java are installed."""
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("pyspark is not installed (python -m pip install -r requirements-spark.txt)")
    if shutil.which("java") is None:
        pytest.skip("Java 17+ is not installed (pyspark needs a JVM)")


@pytest.fixture(scope="module")
def spark():
    need_spark()
    from bankseg.engines.spark.session import spark_session

    with spark_session(SparkParams(master="local[2]", config=JVM_CONFIG)) as session:
        yield session


@pytest.fixture(scope="module")
def data(tmp_path_factory, params):
    """Prepared generated customers and a new batch, written as the prepare stage writes them."""
    folder = tmp_path_factory.mktemp("spark_engine")
    raw, _ = generate_customers(N_CUSTOMERS, seed=5)
    new_raw, _ = generate_customers(500, seed=6, first_id=100000)
    customers = clean_customers(raw, params, source="customers.csv").kept.reset_index(drop=True)
    new = clean_customers(new_raw, params, source="new.csv").kept.reset_index(drop=True)
    write_parquet(customers, folder / "customers.parquet")
    write_parquet(new, folder / "new.parquet")
    (folder / "reference.json").write_text('{"segments": {}}')
    return SimpleNamespace(folder=folder, customers=customers, new=new)


@pytest.fixture(scope="module")
def params_file(tmp_path_factory):
    """A params.yaml for the Spark stages: the SMALL settings, ``engine: spark`` on ``local[2]``."""
    return write_params(tmp_path_factory.mktemp("spark_params") / "params.yaml")


@pytest.fixture(scope="module")
def spark_params(params_file):
    return load_params(params_file)


@pytest.fixture(scope="module")
def small_params(spark_params):
    """The same settings for the default engine."""
    return replace(spark_params, engine="sklearn")


@pytest.fixture(scope="module")
def spark_run(request, spark, data, params_file):
    """The four stage scripts run on Spark on the data, in pipeline order; the folder with their outputs.

    When the standalone cluster's test is to run, its run starts first and proceeds meanwhile."""
    cluster_test = test_a_standalone_cluster_writes_the_files_of_a_local_run
    if any(getattr(item, "function", None) is cluster_test for item in request.session.items):
        request.getfixturevalue("cluster_run")
    run_stages(data.folder, data.folder, params_file)
    return data.folder


@pytest.fixture(scope="module")
def sklearn_run(data, small_params):
    """The default engine on the same customers: preprocessing, features, suggested K, segments."""
    params = small_params
    preprocessing, X = fit_preprocessing(data.customers, params.features, params.featurize)
    el = params.elbow
    _, suggestion = choose_k(X.to_numpy()[seeded_sample(len(X), el.sample_size, el.random_state)], el)
    k = suggestion["suggested_k"]
    trained = train_segments(X, data.customers, preprocessing, {"segments": {}}, params, n_clusters=k)
    return SimpleNamespace(preprocessing=preprocessing, X=X, k=k, trained=trained)


@pytest.mark.spark
@pytest.mark.slow
def test_spark_features_equal_the_default_engines(spark_run, sklearn_run, data, params):
    features = pd.read_parquet(spark_run / "features.parquet")
    assert list(features.columns) == list(sklearn_run.X.columns)
    np.testing.assert_allclose(features.to_numpy(), sklearn_run.X.to_numpy(), rtol=0, atol=1e-9)
    # The saved preprocessing is a scikit-learn Pipeline that scales new customers the same way.
    new = feature_frame(data.new, params.features)
    again = load_model(spark_run / "preprocessing.skops", root=spark_run).transform(new)
    expected = sklearn_run.preprocessing.transform(new)
    np.testing.assert_allclose(np.asarray(again), np.asarray(expected), rtol=0, atol=1e-9)


@pytest.mark.spark
@pytest.mark.slow
def test_spark_elbow_suggests_the_same_k(spark_run, sklearn_run):
    assert json.loads((spark_run / "elbow.json").read_text())["suggested_k"] == sklearn_run.k


@pytest.mark.spark
@pytest.mark.slow
def test_spark_segments_agree_with_the_default_engines(spark_run, sklearn_run, data, params):
    train = json.loads((spark_run / "train.json").read_text())
    assert train["n_clusters"] == sklearn_run.k
    assigned = pd.read_csv(spark_run / "assigned.csv", dtype={params.data.id_column: str})
    assert (
        assigned[params.data.id_column].tolist() == data.customers[params.data.id_column].astype(str).tolist()
    )
    assert adjusted_rand_score(assigned["segment"], sklearn_run.trained.kmeans.labels_) >= 0.95
    # Same ids and names by the same rules, so the segments file reads the same.
    spark_segments = json.loads((spark_run / "segments.json").read_text())["segments"]
    names = {k: v["name"] for k, v in spark_segments.items()}
    assert names == {str(k): v for k, v in sklearn_run.trained.names.items()}


@pytest.mark.spark
@pytest.mark.slow
def test_spark_model_is_plain_scikit_learn_and_scores_new_customers(spark_run, sklearn_run, data, params):
    from bankseg.segmentation.assignment import label_customers

    model = load_model(spark_run / "model.skops", root=spark_run)
    assert type(model).__module__.startswith("sklearn")
    names = {
        int(k): v["name"]
        for k, v in json.loads((spark_run / "segments.json").read_text())["segments"].items()
    }
    expected = label_customers(model, names, data.new, params)
    assigned = pd.read_csv(spark_run / "assigned_new.csv", dtype={params.data.id_column: str})
    assert assigned["segment"].tolist() == expected["segment"].tolist()
    reference = build_model(sklearn_run.preprocessing, sklearn_run.trained.kmeans)
    by_default = label_customers(reference, sklearn_run.trained.names, data.new, params)
    assert adjusted_rand_score(assigned["segment"], by_default["segment"]) >= 0.95
    drift = json.loads((spark_run / "drift.json").read_text())
    assert drift["n_new"] == len(data.new)


@pytest.mark.spark
@pytest.mark.slow
def test_spark_models_hold_only_the_types_the_loader_allows(spark, spark_run, data, spark_params, tmp_path):
    """The Spark engine's preprocessing (with every scaler) and model load under the same
    allowlist of types as the default engine's: the same scaling class, fitted from Spark's sums."""
    from bankseg.engines.spark.featurize import fit_preprocessing as spark_preprocessing
    from bankseg.engines.spark.session import read_parquet

    def types(path):
        with zipfile.ZipFile(path) as archive:
            return schema_types(json.loads(archive.read("schema.json")))

    found = types(spark_run / "preprocessing.skops") | types(spark_run / "model.skops")
    customers = read_parquet(spark, data.folder / "customers.parquet")
    for scaler in ("standard", "robust", "minmax"):
        featurize = replace(spark_params.featurize, scaler=scaler)
        preprocessing, _ = spark_preprocessing(customers, features=spark_params.features, featurize=featurize)
        save_model(preprocessing, tmp_path / f"{scaler}.skops")
        found |= types(tmp_path / f"{scaler}.skops")
    assert found <= ALLOWED_TYPES
    assert "bankseg.features.FeatureScaler" in found


@pytest.mark.spark
@pytest.mark.slow
def test_collect_rows_takes_the_seeded_sample_in_file_order(spark, data):
    from bankseg.engines.spark.session import collect_rows, read_parquet

    positions = seeded_sample(len(data.customers), 100, 7)
    df = read_parquet(spark, data.folder / "customers.parquet")
    rows = collect_rows(df, positions, len(data.customers))
    assert rows["customer_id"].tolist() == data.customers["customer_id"].iloc[positions].tolist()
    assert df.columns == list(data.customers.columns)


@pytest.mark.spark
@pytest.mark.slow
def test_single_files_written_like_the_default_engines(spark, data, tmp_path):
    """Spark's output is written as one file, as write_csv and write_parquet write; also with no rows."""
    import pyarrow.parquet as pq

    from bankseg.engines.spark.session import read_parquet, write_single_csv, write_single_parquet

    risky = spark.createDataFrame([("=1+1", 1), ("ok", 2)], ["text", "n"])
    write_single_csv(risky, tmp_path / "risky.csv")
    write_csv(risky.toPandas(), tmp_path / "risky_default.csv")
    assert (tmp_path / "risky.csv").read_bytes() == (tmp_path / "risky_default.csv").read_bytes()
    assert (tmp_path / "risky.csv").read_text().splitlines()[1] == '"\'=1+1",1'

    none = read_parquet(spark, data.folder / "new.parquet").limit(0)
    write_single_csv(none, tmp_path / "none.csv")
    assert (tmp_path / "none.csv").read_text().splitlines() == [",".join(f'"{c}"' for c in none.columns)]
    write_single_parquet(none.select("age", "networth"), tmp_path / "none.parquet", ["a", "b"])
    table = pq.read_table(tmp_path / "none.parquet")
    assert (table.num_rows, table.column_names) == (0, ["a", "b"])
    assert not list(tmp_path.glob(".*"))  # no temporary file or Spark folder left behind


@pytest.mark.spark
@pytest.mark.slow
def test_spark_train_writes_the_same_files_whatever_the_partitions(spark, spark_run, params_file, tmp_path):
    """Spark's k-means|| draws its starts per partition, so more cores reading a file take
    another path; the model and the other outputs must not show it."""
    import pyarrow.parquet as pq

    from bankseg.engines.spark.session import read_features

    features = tmp_path / "features.parquet"
    pq.write_table(pq.read_table(spark_run / "features.parquet"), features, row_group_size=300)
    spark.conf.set("spark.sql.files.maxPartitionBytes", "4096")
    try:
        rows = read_features(spark, features)[0].rdd.glom().map(len).collect()
        assert sum(1 for n in rows if n) >= 5, rows  # the rows are spread over many partitions
        run_train(spark_run, features, tmp_path, params_file)
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    for name in ("model.skops", "segments.json", "train.json", "stability.json"):
        assert (tmp_path / name).read_bytes() == (spark_run / name).read_bytes(), name


@contextlib.contextmanager
def standalone_cluster(folder: Path, spark_class: Path) -> Iterator[str]:
    """A Spark standalone master and one worker with two cores, on loopback only: the
    ``spark://host:7077`` kind of cluster ``spark.master`` points at. Yields the master's URL."""
    # SPARK_LOCAL_IP also keeps the web pages on loopback.
    env = os.environ | {"SPARK_LOCAL_IP": "127.0.0.1", "SPARK_DAEMON_JAVA_OPTS": JVM_OPTIONS}
    started: list[subprocess.Popen] = []

    def start(name: str, args: list[str], ready: str) -> re.Match:
        log = folder / f"{name}.log"
        with log.open("w") as handle:
            process = subprocess.Popen(
                [str(spark_class), *args],
                stdout=handle,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        started.append(process)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            found = re.search(ready, log.read_text(errors="replace"))
            if found:
                return found
            assert process.poll() is None, f"the {name} stopped:\n{log.read_text()[-3000:]}"
            time.sleep(0.2)
        raise AssertionError(f"the {name} did not start in 120 s:\n{log.read_text()[-3000:]}")

    loopback = ["--host", "127.0.0.1", "--port", "0", "--webui-port", "0"]
    try:
        url = start(
            "master",
            ["org.apache.spark.deploy.master.Master", *loopback],
            r"Starting Spark master at (spark://\S+)",
        ).group(1)
        worker = ["org.apache.spark.deploy.worker.Worker", url, *loopback, "--cores", "2", "--memory", "2g"]
        start("worker", [*worker, "--work-dir", str(folder / "work")], "Successfully registered with master")
        yield url
    finally:
        for process in started:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)


def run_on_cluster(
    inputs: Path, folder: Path, spark_class: Path, stopping: threading.Event
) -> SimpleNamespace:
    """run_stages on ``inputs`` in a subprocess, against a standalone cluster started for it in
    ``folder``: the master's URL, the subprocess's return code and log, the outputs' folder.
    Each stage script starts its own session from the params. Stops early when ``stopping`` is set."""
    with standalone_cluster(folder, spark_class) as url:
        params_file = write_params(folder / "params.yaml", master=url)
        out = folder / "out"
        out.mkdir()
        script = (
            "import logging, sys\n"
            "from pathlib import Path\n"
            f"sys.path.insert(0, {str(ROOT / 'tests')!r})\n"
            "from test_spark_engine import run_stages\n"
            "logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')\n"
            "run_stages(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))\n"
        )
        log = folder / "stages.log"
        with log.open("w") as handle:
            process = subprocess.Popen(
                [sys.executable, "-c", script, str(inputs), str(out), str(params_file)],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=handle,
                env=os.environ | {"SPARK_LOCAL_IP": "127.0.0.1"},
            )
        deadline = time.monotonic() + 900
        while process.poll() is None:
            if stopping.wait(0.5) or time.monotonic() > deadline:
                process.kill()
                process.wait()
        return SimpleNamespace(url=url, returncode=process.returncode, log=log.read_text(), out=out)


@pytest.fixture(scope="module")
def cluster_run(data, tmp_path_factory):
    """run_on_cluster on the data, in a thread: the cluster's JVMs start and the stages run
    while the module's other work proceeds. A future of its result."""
    need_spark()
    import pyspark  # here: importing it in two threads at once can fail half-way

    spark_class = Path(pyspark.__file__).parent / "bin" / "spark-class"
    folder = tmp_path_factory.mktemp("standalone_cluster")
    stopping = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(run_on_cluster, data.folder, folder, spark_class, stopping)
        try:
            yield future
        finally:
            stopping.set()


@pytest.mark.spark
@pytest.mark.slow
def test_a_standalone_cluster_writes_the_files_of_a_local_run(cluster_run, spark_run):
    """``spark.master: spark://...``: executors in their own processes, fed by a worker, give
    the files the local session gave. Each stage script starts its own session from the params."""
    run = cluster_run.result()
    assert run.returncode == 0, run.log[-3000:]
    assert run.log.count(f"on Spark at {run.url}") == 4, run.log[-3000:]
    names = sorted(p.name for p in run.out.iterdir() if p.is_file())
    different = [name for name in names if (run.out / name).read_bytes() != (spark_run / name).read_bytes()]
    assert "assigned.csv" in names and "model.skops" in names and "dvc.lock" in names
    assert not different, different


@pytest.mark.spark
@pytest.mark.slow
def test_spark_groups_the_rarest_one_hot_values_as_the_default_engine(spark, data, small_params, tmp_path):
    """With more values than featurize.max_categories, ties at the cut included, both engines
    give the same columns and the same features."""
    from bankseg.engines.spark.featurize import fit_preprocessing as spark_fit_preprocessing
    from bankseg.engines.spark.session import read_parquet

    counts = {"A": 500, "B": 400, "C": 300, "D": 300, "E": 300} | {f"rare{i}": 10 for i in range(20)}
    customers = data.customers.head(sum(counts.values())).copy()
    customers["account_type"] = [v for v, n in counts.items() for _ in range(n)]
    write_parquet(customers, tmp_path / "many.parquet")
    params = replace(small_params, featurize=replace(small_params.featurize, max_categories=5))
    preprocessing, X = fit_preprocessing(customers, params.features, params.featurize)
    spark_preprocessing, scaled = spark_fit_preprocessing(
        read_parquet(spark, str(tmp_path / "many.parquet")),
        features=params.features,
        featurize=params.featurize,
    )
    names = scaled.names
    assert names == list(X.columns)
    assert "account_type_C" not in names and "account_type_D" in names  # the later of equal counts
    again = spark_preprocessing.transform(feature_frame(customers, params.features))
    np.testing.assert_allclose(np.asarray(again), X.to_numpy(), rtol=0, atol=1e-9)
