"""End-to-end: the real ``dvc repro`` on a temporary copy of the repository.

One module-scoped run (4,000 generated customers, 1,000 new ones) feeds every test. What
works on copies of a run (a forced rerun, an experiment, a DVC remote) is in
test_run_copies.py, on the smaller reference run.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from dvc_repo import dvc, new_repo, read_json, run
from sklearn.metrics import adjusted_rand_score

pytestmark = pytest.mark.slow

STAGE_ORDER = ["generate", "prepare", "featurize", "elbow", "train", "assign", "analyze"]
ASSIGNED_COLUMNS = ["customer_id", "segment", "segment_name", "distance"]
MODEL = "models/model.skops"
# Identifiers long enough not to match other values by chance (the 6-digit KYC number is not).
PERSONAL_COLUMNS = [
    "customer_name",
    "customer_pan_card_no",
    "customer_adhar_card_no",
    "mobile_no",
    "address",
    "date_of_birth",
    "demat_account_no",
    "crn_unique_id",
]
# Folders whose every file must be free of personal data (PNG images are not searched).
CHECKED_FOLDERS = ["data/prepared", "data/features", "data/assigned", "models", "metrics", "plots", "reports"]
BINARY_SUFFIXES = {".png"}


def read_assigned(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"customer_id": str})


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A copy of the repository after a full ``dvc repro`` with 4,000 + 1,000 customers."""
    copy = new_repo(
        tmp_path_factory.mktemp("pipeline"), {"generate": {"n_customers": 4000, "n_new_customers": 1000}}
    )
    dvc("repro", cwd=copy)
    return copy


@pytest.fixture(scope="module")
def segment_names(repo) -> dict[int, str]:
    data = read_json(repo / "models/segments.json")
    return {int(k): v["name"] for k, v in data["segments"].items()}


# --- outputs -----------------------------------------------------------------------------


def _declared_outputs(repo: Path) -> list[str]:
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    paths = []
    for stage in stages.values():
        for kind in ("outs", "metrics", "plots"):
            for item in stage.get(kind, []):
                paths.append(next(iter(item)) if isinstance(item, dict) else item)
    return paths


def test_every_declared_output_exists(repo, segment_names):
    expected = [
        "data/prepared/customers.parquet",
        "data/prepared/new_customers.parquet",
        "data/prepared/rejected.csv",
        "data/features/customers.parquet",
        "data/assigned/customers.csv",
        "data/assigned/new_customers.csv",
        "models/preprocessing.skops",
        "models/model.skops",
        "models/segments.json",
        "metrics/data_quality.json",
        "metrics/elbow.json",
        "metrics/train.json",
        "metrics/segments.json",
        "metrics/stability.json",
        "metrics/drift.json",
        "plots/elbow.json",
        "plots/elbow.png",
        "plots/segment_profile.png",
        "plots/distributions.png",
        "plots/projection.png",
        "reports/segments.md",
        "reports/segments.html",
    ]
    declared = _declared_outputs(repo)
    assert set(expected) <= set(declared) | {"data/assigned/new_by_segment"}
    missing = [p for p in sorted(set(expected) | set(declared)) if not (repo / p).exists()]
    assert not missing, f"outputs missing after dvc repro: {missing}"
    empty = [p for p in expected if (repo / p).stat().st_size == 0]
    assert not empty, f"empty outputs: {empty}"

    by_segment = repo / "data/assigned/new_by_segment"
    assert by_segment.is_dir()
    assert sorted(p.name for p in by_segment.iterdir()) == sorted(f"segment_{i}.csv" for i in segment_names)
    for png in (repo / "plots").glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png


def test_second_repro_has_nothing_to_do(repo):
    out = dvc("repro", cwd=repo).stdout
    skipped = all(f"Stage '{name}' didn't change" in out for name in STAGE_ORDER)
    assert "Data and pipelines are up to date" in out or skipped, out
    assert "Running stage" not in out, out

    status = dvc("status", cwd=repo).stdout
    assert "Data and pipelines are up to date" in status, status
    assert json.loads(dvc("status", "--json", cwd=repo).stdout) == {}


# --- results -----------------------------------------------------------------------------


def test_auto_k_recovers_the_planted_personas(repo):
    assert yaml.safe_load((repo / "params.yaml").read_text())["train"]["n_clusters"] == "auto"
    personas = pd.read_csv(repo / "data/raw/customers_personas.csv", dtype={"customer_id": str})
    n_personas = personas["persona"].nunique()
    train = read_json(repo / "metrics/train.json")
    assert train["n_clusters"] == n_personas, (train, read_json(repo / "metrics/elbow.json"))
    assert read_json(repo / "metrics/elbow.json")["suggested_k"] == n_personas

    assigned = read_assigned(repo / "data/assigned/customers.csv")
    joined = assigned.merge(personas, on="customer_id", how="inner", validate="one_to_one")
    assert len(joined) == len(assigned)
    ari = adjusted_rand_score(joined["persona"], joined["segment"])
    assert ari >= 0.8, f"adjusted Rand index {ari:.3f}\n{pd.crosstab(joined['persona'], joined['segment'])}"


def test_every_criterion_records_its_choice_and_the_segments_are_stable(repo):
    elbow = read_json(repo / "metrics/elbow.json")
    criteria = {"knee", "silhouette", "calinski_harabasz", "davies_bouldin", "gap", "stability", "consensus"}
    assert set(elbow["choices"]) == criteria | {"stable_silhouette"}
    assert elbow["method"] == "stable_silhouette" and elbow["structure"] is True
    assert elbow["at_edge"] is False and elbow["warnings"] == []
    scores = read_json(repo / "plots/elbow.json")
    assert {"inertia", "silhouette", "gap", "gap_se", "stability"} <= set(scores[0])
    stability = read_json(repo / "metrics/stability.json")
    jaccard = {seg: s["jaccard"] for seg, s in stability["segments"].items()}
    assert min(jaccard.values()) >= 0.9, jaccard
    assert stability["n_unstable"] == 0 and stability["mean_ari"] >= 0.9
    report = (repo / "reports/segments.md").read_text()
    assert "## How these segments were chosen and how sure we are" in report and "| **no** |" not in report


def test_new_batch_from_the_same_generator_shows_no_drift(repo):
    drift = read_json(repo / "metrics/drift.json")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    features = set(params["features"]["numeric"]) | set(params["features"]["categorical"])
    assert set(drift["psi"]) == features
    assert drift["max_psi"] < 0.1 and drift["warnings"] == []
    assert (
        abs(sum(drift["new_share"].values()) - 1) < 1e-3
        and max(map(abs, drift["share_change"].values())) < 0.05
    )


@pytest.mark.parametrize(
    ("assigned_file", "prepared_file"),
    [
        ("data/assigned/customers.csv", "data/prepared/customers.parquet"),
        ("data/assigned/new_customers.csv", "data/prepared/new_customers.parquet"),
    ],
)
def test_assigned_files_label_every_prepared_customer_once(repo, segment_names, assigned_file, prepared_file):
    assigned = read_assigned(repo / assigned_file)
    assert list(assigned.columns) == ASSIGNED_COLUMNS
    prepared_ids = pd.read_parquet(repo / prepared_file, columns=["customer_id"])["customer_id"].astype(str)
    assert not assigned["customer_id"].duplicated().any()
    assert sorted(assigned["customer_id"]) == sorted(prepared_ids)
    assert set(assigned["segment"]) <= set(segment_names)
    assert (assigned["segment_name"] == assigned["segment"].map(segment_names)).all()
    assert np.isfinite(assigned["distance"]).all() and (assigned["distance"] >= 0).all()


def test_new_customers_split_by_segment(repo, segment_names):
    new = read_assigned(repo / "data/assigned/new_customers.csv")
    parts = []
    for segment, name in segment_names.items():
        part = read_assigned(repo / f"data/assigned/new_by_segment/segment_{segment}.csv")
        assert list(part.columns) == ASSIGNED_COLUMNS
        assert (part["segment"] == segment).all()
        assert (part["segment_name"] == name).all()
        parts.append(part)
    together = pd.concat(parts).sort_values("customer_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(together, new.sort_values("customer_id").reset_index(drop=True))


def test_segment_names_are_distinct_and_match_the_report(repo, segment_names):
    assert len(set(segment_names.values())) == len(segment_names)
    report = (repo / "reports/segments.md").read_text()
    for segment, name in segment_names.items():
        assert f"## {segment} · {name}" in report


# --- personal data -----------------------------------------------------------------------


def _personal_values(repo: Path, n: int = 80) -> dict[str, list[str]]:
    """Personal values of about ``n`` customers: every rejected one (the likeliest leak), then a sample."""
    raw = pd.read_csv(repo / "data/raw/customers.csv", dtype=str, keep_default_na=False)
    rejected = pd.read_csv(repo / "data/prepared/rejected.csv", dtype=str, keep_default_na=False)
    rejected_ids = set(rejected.loc[rejected["file"] == "data/raw/customers.csv", "customer_id"])
    assert rejected_ids, "the generated data should have a few invalid rows"
    first = raw[raw["customer_id"].isin(rejected_ids)]
    rest = raw.drop(index=first.index).sample(n=max(0, n - len(first)), random_state=0)
    rows = pd.concat([first, rest])
    values = {}
    for column in PERSONAL_COLUMNS:
        distinct = rows[column].str.strip().drop_duplicates()
        # Long enough not to match by chance: 10- and 12-digit numbers, "First Lastname".
        values[column] = distinct[distinct.str.len() >= 10].tolist()
        assert len(values[column]) >= 20, f"too few {column} values to check: {values[column]}"
    return values


def _personal_data_pattern(values: dict[str, list[str]]) -> re.Pattern:
    needles = sorted({v for vs in values.values() for v in vs}, key=len, reverse=True)
    # A digit (or letter) right before or after would make it part of another token.
    return re.compile("(?<![0-9A-Za-z])(?:" + "|".join(map(re.escape, needles)) + ")(?![0-9A-Za-z])")


def _searchable_text(path: Path) -> str:
    """File content as text: raw bytes, plus the decoded table for Parquet files."""
    text = path.read_bytes().decode("latin-1")
    if path.suffix == ".parquet":
        table = pd.read_parquet(path)
        text += "\n" + ",".join(map(str, table.columns)) + "\n" + table.to_csv(index=False)
    return text


def search_outputs(repo: Path, pattern: re.Pattern) -> tuple[list[str], dict[str, list[str]]]:
    """Every searched output file, and those where ``pattern`` matches (first five matches)."""
    checked, leaks = [], {}
    for folder in CHECKED_FOLDERS:
        for path in sorted((repo / folder).rglob("*")):
            if not path.is_file() or path.suffix in BINARY_SUFFIXES:
                continue
            checked.append(path.relative_to(repo).as_posix())
            found = sorted(set(pattern.findall(_searchable_text(path))))
            if found:
                leaks[checked[-1]] = found[:5]
    return checked, leaks


def test_no_personal_data_in_any_output(repo):
    values = _personal_values(repo)
    pattern = _personal_data_pattern(values)
    # The search must find the values where they are: in the raw export.
    in_raw = set(pattern.findall((repo / "data/raw/customers.csv").read_text()))
    for column, vs in values.items():
        assert set(vs) <= in_raw, f"{column}: the search does not find {sorted(set(vs) - in_raw)[:3]}"

    checked, leaks = search_outputs(repo, pattern)
    assert leaks == {}, f"personal data found: {leaks}"
    for must in ("data/prepared/customers.parquet", "data/prepared/rejected.csv", "models/model.skops"):
        assert must in checked


# --- the command line --------------------------------------------------------------------


def _assign_cli(repo: Path, source: Path, out: Path) -> pd.DataFrame:
    run(["python", "-m", "bankseg", "assign", str(source), str(out)], repo)
    return read_assigned(out).set_index("customer_id")


def test_a_customers_segment_does_not_depend_on_the_others_in_the_file(repo, tmp_path):
    raw_path = repo / "data/raw/new_customers.csv"
    raw = pd.read_csv(raw_path, dtype=str, keep_default_na=False)
    assert raw.shape[1] == 27
    scored_by_stage = read_assigned(repo / "data/assigned/new_customers.csv").set_index("customer_id")

    valid = raw[raw["customer_id"].isin(scored_by_stage.index) & ~raw["customer_id"].duplicated(keep=False)]
    blanks = (valid[["age", "networth", "sip_amount", "income_slab"]] == "").any(axis=1)
    # Some rows with a value to impute (imputation must use the training customers) ...
    with_blank = valid[blanks].head(5)
    # ... and the rest spread over the file.
    complete = valid[~blanks]
    spread = complete.iloc[np.linspace(0, len(complete) - 1, 20 - len(with_blank)).astype(int)]
    twenty = pd.concat([with_blank, spread]).sort_index()
    assert len(twenty) == 20 and twenty["customer_id"].is_unique
    ids = twenty["customer_id"].tolist()

    others = complete.drop(index=spread.index).head(200).copy()
    assert len(others) == 200
    others["networth"] = (others["networth"].astype(float) * 1000).round(2).astype(str)
    others["age"] = "99"
    others["customer_id"] = [f"extreme-{i}" for i in range(len(others))]
    with_extremes = pd.concat([others.iloc[:100], twenty, others.iloc[100:]])

    small_path = tmp_path / "twenty.csv"
    extreme_path = tmp_path / "twenty_and_extremes.csv"
    twenty.to_csv(small_path, index=False, quoting=csv.QUOTE_ALL)
    with_extremes.to_csv(extreme_path, index=False, quoting=csv.QUOTE_ALL)
    reread = pd.read_csv(small_path, dtype=str, keep_default_na=False)
    assert list(reread.columns) == list(raw.columns)
    assert reread["address"].tolist() == twenty["address"].tolist()  # multi-line addresses survive

    whole = _assign_cli(repo, raw_path, tmp_path / "whole_out.csv")
    small = _assign_cli(repo, small_path, tmp_path / "twenty_out.csv")
    extreme = _assign_cli(repo, extreme_path, tmp_path / "extremes_out.csv")

    assert len(small) == 20
    assert len(extreme) == 220, "the extreme rows must be scored, not rejected"
    # The command line agrees with the assign stage on the whole file.
    assert sorted(whole.index) == sorted(scored_by_stage.index)
    for name, result in [("assign stage", scored_by_stage), ("20 rows", small), ("20 + extremes", extreme)]:
        expected, got = whole.loc[ids], result.loc[ids]
        assert (got["segment"] == expected["segment"]).all(), f"{name}:\n{expected.join(got, rsuffix='_got')}"
        assert (got["segment_name"] == expected["segment_name"]).all(), name
        assert np.allclose(got["distance"], expected["distance"], rtol=0, atol=2e-6), (
            f"{name}:\n{expected.join(got, rsuffix='_got')}"
        )
