"""Stage prepare on a user's single export: no id column, no separate new customers, gaps
that are kept or dropped, and rejected rows compared with kept ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.slow  # seconds per test: subprocesses, apps or searches

ROOT = Path(__file__).resolve().parent.parent


def _params(folder: Path, raw: str) -> None:
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"] = {"raw": raw, "new": raw, "id_column": None}
    params["features"] = {
        "numeric": {"age": {"range": [18, 100]}, "income": {"missing": "drop"}},
        "categorical": {"job": {"encoding": "onehot"}},
    }
    params["outcomes"] = {"defaulted": {"positive": "yes"}}
    params["prepare"] |= {"personal_columns": [], "profile_columns": [], "missing_values": ["unknown"]}
    params["elbow"]["k_max"] = 4
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def _run(folder: Path) -> subprocess.CompletedProcess:
    args = [
        "--raw", "customers.csv", "--new", "customers.csv",
        "--out-customers", "out/customers.parquet", "--out-new", "out/new.parquet",
        "--rejected", "out/rejected.csv", "--metrics", "out/quality.json",
    ]  # fmt: skip
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "stages.prepare", *args], cwd=folder, env=env, capture_output=True, text=True
    )


@pytest.fixture
def run(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    income = rng.lognormal(10, 1, n).round(0).astype(object)
    defaulted = np.where(rng.random(n) < 0.2, "yes", "no")
    gaps = np.arange(n) % 10 == 0  # 10 % without an income, all of them in default
    income[gaps] = ""
    defaulted[gaps] = "yes"
    job = np.where(np.arange(n) % 7 == 0, "unknown", rng.choice(["clerk", "manager", "driver"], n))
    raw = pd.DataFrame({"age": rng.integers(20, 70, n), "income": income, "job": job, "defaulted": defaulted})
    raw.to_csv(tmp_path / "customers.csv", index=False)
    _params(tmp_path, "customers.csv")
    (tmp_path / "out").mkdir()
    return tmp_path, _run(tmp_path), raw


def test_a_file_without_ids_is_numbered_by_record_and_without_new_customers_the_batch_is_empty(run):
    folder, result, raw = run
    assert result.returncode == 0, result.stderr
    kept = pd.read_parquet(folder / "out" / "customers.parquet")
    assert list(kept.columns) == ["record", "age", "income", "job", "defaulted"]
    expected = [str(i + 1) for i in range(len(raw)) if raw["income"][i] != ""]
    assert kept["record"].tolist() == expected
    new = pd.read_parquet(folder / "out" / "new.parquet")
    assert len(new) == 0 and list(new.columns) == list(kept.columns)
    quality = json.loads((folder / "out" / "quality.json").read_text())
    assert quality["new_customers"] is None
    # "unknown" is a gap, and a one-hot gap is a value of its own
    assert (kept["job"] == "missing").sum() == (raw["job"] == "unknown").sum() - (
        (raw["job"] == "unknown") & (raw["income"] == "")
    ).sum()


def test_rejected_rows_that_default_more_are_reported_as_selective(run):
    folder, result, raw = run
    quality = json.loads((folder / "out" / "quality.json").read_text())["customers"]
    comparison = quality["rejected_vs_kept"]
    entry = comparison["outcomes"]["defaulted"]
    assert entry["rejected_rate"] == 1.0
    assert entry["kept_rate"] == pytest.approx(
        (raw["defaulted"][raw["income"] != ""] == "yes").mean(), abs=1e-4
    )
    assert entry["selective"] and comparison["selective"] == ["defaulted"]
    assert "the rows rejected by the cleaning differ from the kept ones in defaulted" in result.stderr
    assert "100% among rejected rows" in result.stderr
