"""Shared fixtures for the unit tests: settings, small generated customer bases, a tiny model."""

from __future__ import annotations

import copy
import os
import sys
from dataclasses import replace
from pathlib import Path

# Every Python process the tests start (DVC, each stage, the command line) imports the package:
# with bytecode caching turned off (PYTHONDONTWRITEBYTECODE, set by some container images),
# each would compile it again from source, and each pytest-xdist worker would rewrite the
# test modules' asserts again. Caching is turned back on for this run and its processes.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

# The run has two workers per core, so a process's own threads only compete with the other
# workers' for the same cores, and OpenMP's (scikit-learn's k-means) and OpenBLAS's spin while
# they wait for work. Every process of the run (DVC's stages included) uses one thread of
# each, unless the environment already says how many; test_run_copies.py runs the pipeline
# again on another number of threads and checks that no output changes.
for _threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")

import gc  # noqa: E402

from bankseg.startup import loading_libraries  # noqa: E402

# The libraries load with the garbage collector off, then are frozen (bankseg/startup.py);
# pytest_collection_finish freezes what collecting the tests loaded as well.
with loading_libraries():
    import matplotlib
    import scipy.special  # noqa: F401  (before pandas and scikit-learn: see bankseg/io/models.py)

    matplotlib.use("Agg")  # tests never need a display

    import numpy as np
    import pandas as pd
    import pytest
    import yaml
    from hypothesis import HealthCheck, settings
    from lock_file import record_outputs
    from long_files import LONG_FILES
    from sklearn.datasets import make_blobs

    from bankseg.data.cleaning import clean_customers
    from bankseg.data.generate import generate_customers
    from bankseg.io.atomic import write_json
    from bankseg.io.models import save_model
    from bankseg.params import load_params
    from bankseg.segmentation.encoding import fit_preprocessing
    from bankseg.segmentation.kmeans import build_model, fit_kmeans

ROOT = Path(__file__).resolve().parent.parent
PARAMS_FILE = ROOT / "params.yaml"
_RAW_PARAMS = yaml.safe_load(PARAMS_FILE.read_text(encoding="utf-8"))

# Hypothesis (tests/test_properties.py): the same examples on every run, no example database.
# The default profile keeps the property tests to about a minute; HYPOTHESIS_PROFILE=deep runs
# five times as many examples. Timings on a shared machine are noisy: no deadline.
_HYPOTHESIS = dict(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
settings.register_profile("default", max_examples=100, **_HYPOTHESIS)
settings.register_profile("deep", max_examples=500, **_HYPOTHESIS)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_configure(config: pytest.Config) -> None:
    # pytest-xdist (--dist loadfile) would otherwise hand out the files with the most tests
    # first, whatever their length, undoing the LONG_FILES order of pytest_collection_modifyitems.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """Workers for ``-n auto``: two per core, unless PYTEST_XDIST_AUTO_NUM_WORKERS says (then
    pytest-xdist's own hook reads it). Most tests spend much of their time waiting for the
    processes they start (DVC's stages, the command line, servers, a browser), so one worker
    per core leaves the cores idle a good part of the run (docs/development.md)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return 2 * cores


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order


def pytest_collection_finish(session: pytest.Session) -> None:
    """The test modules and what they imported stay for the whole run: frozen, the garbage
    collector leaves them out of its collections, as bankseg/startup.py does for a stage."""
    gc.freeze()


# Sizes of the four planted blobs: all different, so the canonical ids are unambiguous.
BLOB_SIZES = [400, 300, 200, 100]
BLOB_CENTERS = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def params():
    """The repository's own params.yaml, validated."""
    return load_params(PARAMS_FILE)


@pytest.fixture
def raw_params() -> dict:
    """params.yaml as plain data, a fresh copy per test so a test can break one value."""
    return copy.deepcopy(_RAW_PARAMS)


@pytest.fixture(scope="session")
def _generated() -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate_customers(1500, seed=11)


@pytest.fixture
def customers(_generated) -> pd.DataFrame:
    """1,500 generated raw customers (27 text columns), a fresh copy per test."""
    return _generated[0].copy()


@pytest.fixture
def personas(_generated) -> pd.DataFrame:
    return _generated[1].copy()


@pytest.fixture(scope="session")
def cleaned(_generated, params):
    """The generated customers after cleaning (do not modify: shared by the session)."""
    return clean_customers(_generated[0], params, source="customers.csv")


@pytest.fixture(scope="session")
def fitted(cleaned, params):
    """(preprocessing, scaled features) fitted on the cleaned generated customers."""
    return fit_preprocessing(cleaned.kept, params.features, params.featurize)


@pytest.fixture(scope="session")
def trained(cleaned, fitted, params):
    """(model pipeline, kmeans) with 5 segments on the cleaned generated customers."""
    preprocessing, X = fitted
    kmeans = fit_kmeans(X, n_clusters=5, params=replace(params.train, n_init=4))
    return build_model(preprocessing, kmeans), kmeans


@pytest.fixture(scope="session")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """Four well-separated 2-D blobs of 400, 300, 200 and 100 points, and the true blob of each."""
    X, y = make_blobs(
        n_samples=BLOB_SIZES, centers=BLOB_CENTERS, cluster_std=0.8, n_features=2, random_state=0
    )
    return X, y


@pytest.fixture
def make_raw():
    """Build a raw customer frame (text, like a CSV) from rows of overrides of one valid customer.

    ``make_raw({"customer_id": "1"}, {"customer_id": "2", "age": "abc"})``
    """

    def build(*rows: dict) -> pd.DataFrame:
        records = []
        for i, overrides in enumerate(rows):
            record = {
                "customer_id": str(i + 1),
                "customer_name": f"Name {i}",
                "customer_pan_card_no": f"PAN{i:07d}",
                "age": "30",
                "networth": "100000",
                "sip_amount": "0",
                "income_slab": "Low",
                "risk_id": "1",
                "sip_status": "No",
                "has_demat_account": "No",
                "account_type": "Savings",
                "kyc_status": "Verified",
            }
            record.update(overrides)
            records.append(record)
        return pd.DataFrame(records)

    return build


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, params) -> Path:
    """A folder with a small trained model, its segment names, params.yaml and new customers.

    model.skops (3 segments, trained on 600 generated customers) and the dvc.lock that
    records it, segments.json, params.yaml (a copy of the repository's), new.csv (200
    generated customers, ids from 50000).
    """
    folder = tmp_path_factory.mktemp("tiny_model")
    raw, _ = generate_customers(600, seed=3)
    kept = clean_customers(raw, params, source="train.csv").kept
    preprocessing, X = fit_preprocessing(kept, params.features, params.featurize)
    kmeans = fit_kmeans(X, n_clusters=3, params=replace(params.train, n_init=2))
    save_model(build_model(preprocessing, kmeans), folder / "model.skops")
    record_outputs(folder, folder / "model.skops")
    write_json(
        {"segments": {str(i): {"name": f"Segment name {i}"} for i in range(3)}}, folder / "segments.json"
    )
    (folder / "params.yaml").write_text(PARAMS_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    new, _ = generate_customers(200, seed=9, first_id=50000)
    new.to_csv(folder / "new.csv", index=False)
    return folder
