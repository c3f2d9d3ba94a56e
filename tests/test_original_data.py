"""End-to-end: the original proof of concept's files go through ``dvc repro`` unedited.

``data.raw`` and ``data.new`` point at the seed files themselves (see ``seed_data.py``); every
other setting is the default params.yaml. Skipped when the seed folder is not available.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from dvc_repo import commit_all, dvc, new_repo, read_json, read_lock, set_params
from seed_data import N_TEST, N_TRAIN, TEST, TRAIN, md5, pipeline_input, read_seed_csv, require_seed
from test_pipeline import (
    PERSONAL_COLUMNS,
    _personal_data_pattern,
    search_outputs,
)

pytestmark = pytest.mark.slow

FEATURES = ["age", "networth", "sip_amount", "income_slab", "risk_id", "sip_status", "has_demat_account"]


def read_assigned(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"customer_id": str})


def data_param(repo, key: str) -> str:
    return yaml.safe_load((repo / "params.yaml").read_text())["data"][key]


@pytest.fixture(scope="module")
def seed():
    return require_seed(TRAIN, TEST)


@pytest.fixture(scope="module")
def seed_md5(seed) -> dict[str, str]:
    """Hashes of the seed files before the run."""
    return {name: md5(seed / name) for name in (TRAIN, TEST)}


@pytest.fixture(scope="module")
def repo(seed, seed_md5, tmp_path_factory):
    """A copy of the repository after ``dvc repro`` with the seed files as data.raw and data.new."""
    copy = new_repo(tmp_path_factory.mktemp("original_data"))
    inputs = {"raw": pipeline_input(seed / TRAIN, copy), "new": pipeline_input(seed / TEST, copy)}
    set_params(copy, {"data": inputs})
    commit_all(copy, "the proof of concept's files as input")
    dvc("repro", cwd=copy)
    return copy


@pytest.fixture(scope="module")
def train_raw(seed) -> pd.DataFrame:
    return read_seed_csv(seed / TRAIN)


@pytest.fixture(scope="module")
def test_raw(seed) -> pd.DataFrame:
    return read_seed_csv(seed / TEST)


def test_the_seed_files_are_read_as_they_are(repo, seed, seed_md5):
    # About half the addresses hold a line break: more physical lines than records.
    with open(seed / TRAIN, "rb") as f:
        assert sum(1 for _ in f) > N_TRAIN + 1
    assert {name: md5(seed / name) for name in seed_md5} == seed_md5, "the run changed a seed file"
    lock = read_lock(repo)
    deps = {d["path"]: d["md5"] for d in lock["stages"]["prepare"]["deps"]}
    # DVC hashed exactly the seed files' bytes as prepare's inputs.
    assert deps[data_param(repo, "raw")] == seed_md5[TRAIN]
    assert deps[data_param(repo, "new")] == seed_md5[TEST]
    assert "Data and pipelines are up to date" in dvc("status", cwd=repo).stdout


def test_every_training_row_is_accounted_for(repo, train_raw):
    assert len(train_raw) == N_TRAIN and train_raw["customer_id"].is_unique
    quality = read_json(repo / "metrics/data_quality.json")["customers"]
    assert quality["rows_read"] == N_TRAIN, quality
    assert quality["rows_kept"] + quality["rows_rejected"] == N_TRAIN, quality

    assigned = read_assigned(repo / "data/assigned/customers.csv")
    rejected = pd.read_csv(repo / "data/prepared/rejected.csv", dtype=str, keep_default_na=False)
    rejected_ids = rejected.loc[rejected["file"] == data_param(repo, "raw"), "customer_id"]
    assert len(assigned) == quality["rows_kept"] and len(rejected_ids) == quality["rows_rejected"]
    assert assigned["customer_id"].is_unique
    assert sorted([*assigned["customer_id"], *rejected_ids]) == sorted(train_raw["customer_id"])


def test_multi_line_addresses_do_not_shift_any_field(repo, train_raw):
    """Every kept customer's features are the values of its own record in the seed file."""
    prepared = pd.read_parquet(repo / "data/prepared/customers.parquet").set_index("customer_id")
    raw = train_raw.set_index("customer_id").loc[prepared.index]
    for column in ["age", "networth", "sip_amount"]:
        np.testing.assert_array_equal(prepared[column].to_numpy(), raw[column].astype(float).to_numpy())
    for column in FEATURES[3:]:
        assert (prepared[column].astype(str) == raw[column]).all(), column


def test_every_new_customer_is_assigned(repo, test_raw):
    assert len(test_raw) == N_TEST and test_raw["customer_id"].is_unique
    quality = read_json(repo / "metrics/data_quality.json")["new_customers"]
    assert quality["rows_read"] == N_TEST and quality["rows_kept"] == N_TEST, quality
    assigned = read_assigned(repo / "data/assigned/new_customers.csv")
    assert sorted(assigned["customer_id"]) == sorted(test_raw["customer_id"])
    by_segment = pd.concat(
        read_assigned(path) for path in sorted((repo / "data/assigned/new_by_segment").glob("*.csv"))
    )
    assert sorted(by_segment["customer_id"]) == sorted(test_raw["customer_id"])


def test_copied_customers_get_their_training_segment(repo, train_raw, test_raw):
    """The test file's rows are copies of training rows: same features, same segment."""
    ids = test_raw["customer_id"].astype(int)
    assert (ids.min(), ids.max()) == (635, 7720)
    copies = train_raw.set_index("customer_id").loc[test_raw["customer_id"], FEATURES]
    for column in FEATURES:  # the same values, though numbers may be written differently (0 / 0.0)
        if column in ("age", "networth", "sip_amount"):
            assert np.array_equal(copies[column].astype(float), test_raw[column].astype(float)), column
        else:
            assert (copies[column].to_numpy() == test_raw[column].to_numpy()).all(), column

    training = read_assigned(repo / "data/assigned/customers.csv")
    new = read_assigned(repo / "data/assigned/new_customers.csv")
    joined = new.merge(training, on="customer_id", suffixes=("", "_training"), validate="one_to_one")
    assert len(joined) == N_TEST
    differ = joined[joined["segment"] != joined["segment_training"]]
    assert differ.empty, f"{len(differ)} copied customers in another segment:\n{differ.head()}"
    assert (joined["segment_name"] == joined["segment_name_training"]).all()
    assert np.allclose(joined["distance"], joined["distance_training"], rtol=0, atol=1e-6)


def _seed_personal_values(train: pd.DataFrame, rejected_ids: set[str], n: int = 300) -> dict[str, list[str]]:
    """Personal values of about ``n`` seed customers: every rejected one, then a seeded sample."""
    first = train[train["customer_id"].isin(rejected_ids)]
    rest = train.drop(index=first.index).sample(n=max(0, n - len(first)), random_state=0)
    rows = pd.concat([first, rest])
    values = {}
    for column in PERSONAL_COLUMNS:
        # Demat numbers are written "4465113346.0" in the training file and "4465113346" in the test file.
        cleaned = rows[column].str.strip().str.replace(r"^(\d+)\.0$", r"\1", regex=True)
        distinct = cleaned.drop_duplicates()
        # Long enough not to match by chance: 10- and 12-digit numbers, "First Lastname", dates.
        values[column] = distinct[distinct.str.len() >= 10].tolist()
        assert len(values[column]) >= 50, f"too few {column} values to check: {values[column]}"
    return values


def test_no_personal_data_in_any_output(repo, seed, train_raw):
    rejected = pd.read_csv(repo / "data/prepared/rejected.csv", dtype=str, keep_default_na=False)
    values = _seed_personal_values(train_raw, set(rejected["customer_id"]))
    pattern = _personal_data_pattern(values)
    # The search must find the values where they are: in the seed file.
    in_seed = set(pattern.findall((seed / TRAIN).read_text(encoding="utf-8")))
    for column, vs in values.items():
        assert set(vs) <= in_seed, f"{column}: the search does not find {sorted(set(vs) - in_seed)[:3]}"

    checked, leaks = search_outputs(repo, pattern)
    assert leaks == {}, f"personal data found: {leaks}"
    for must in (
        "data/prepared/customers.parquet",
        "data/prepared/new_customers.parquet",
        "data/prepared/rejected.csv",
        "data/assigned/new_customers.csv",
        "models/model.skops",
        "reports/segments.md",
    ):
        assert must in checked
