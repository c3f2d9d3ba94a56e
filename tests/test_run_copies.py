"""End-to-end on copies of the reference run (tests/reference_run.py): a model replaced in a DVC
remote, an experiment with a fixed K, and a forced rerun on another number of threads.

Each test clones the module's copy of the run, DVC cache included, and changes only its clone.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import dvc_repo
import pandas as pd
import pytest
import yaml
from dvc_repo import clone_run, commit_all, dvc, git, output_hashes, read_json, run
from hostile_models import assert_runs_code, skops_payload
from reference_run import reference_run

pytestmark = pytest.mark.slow

MODEL = "models/model.skops"
THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")  # scikit-learn's OpenMP, numpy's BLAS


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return reference_run(tmp_path_factory, "copies").repo


def read_assigned(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"customer_id": str})


# --- a model fetched from a DVC remote --------------------------------------------------


def test_a_model_replaced_in_the_dvc_remote_is_not_loaded(repo, tmp_path):
    """The run pushed to a DVC remote (a local folder), the model's object there replaced by a
    hostile one (tests/hostile_models.py), then pulled into a fresh clone: the model the
    command line would load is never that object, and the marker it creates never appears."""
    origin = clone_run(repo, tmp_path / "origin")
    remote = tmp_path / "remote"
    dvc("remote", "add", "-d", "storage", str(remote), cwd=origin)
    commit_all(origin, "pipeline run, with its DVC remote")
    dvc("push", cwd=origin)
    recorded = output_hashes(origin)[MODEL]
    stored = remote / "files/md5" / recorded[:2] / recorded[2:]
    marker = tmp_path / "created-by-the-model"
    payload = skops_payload(marker, stored.read_bytes())
    assert_runs_code("skops", payload, marker)
    stored.chmod(0o644)
    stored.write_bytes(payload)

    fresh = tmp_path / "fresh"
    git("clone", "-q", str(origin), str(fresh), cwd=tmp_path)
    dvc_repo.use_private_site_cache(fresh, tmp_path / "dvc-site-cache")
    pulled = dvc("pull", cwd=fresh, check=False)
    result = run(
        ["python", "-m", "bankseg", "assign", "data/raw/new_customers.csv", "out.csv"], fresh, check=False
    )
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = result.stderr.splitlines()
    if (fresh / MODEL).exists():  # DVC delivered the replaced object: dvc.lock refuses it
        assert (fresh / MODEL).read_bytes() == payload
        assert line.startswith(f"error: {MODEL}: MD5 {hashlib.md5(payload).hexdigest()[:12]}... does not ")
    else:  # DVC checks what it downloads against the object's name and leaves the model out
        assert pulled.returncode != 0 and MODEL in pulled.stderr, pulled.stderr
        assert line == f"error: {MODEL}: model not found; run the pipeline first (dvc repro)"
    assert not (fresh / "out.csv").exists()
    assert not marker.exists(), "the model from the remote was loaded"

    # `dvc repro` rebuilds the model dvc.lock records; then it loads.
    dvc("repro", cwd=fresh)
    assert hashlib.md5((fresh / MODEL).read_bytes()).hexdigest() == recorded
    run(["python", "-m", "bankseg", "assign", "data/raw/new_customers.csv", "out.csv"], fresh)
    assert git("status", "--porcelain", "dvc.lock", cwd=fresh).stdout == ""  # as committed
    assert not marker.exists()


# --- experiments ------------------------------------------------------------------------


def test_experiment_with_fixed_k_changes_the_metrics(repo, tmp_path):
    copy = clone_run(repo, tmp_path / "repo")
    # Every output DVC tracks is git-ignored through the .gitignore files it wrote.
    ignored = run(["git", "check-ignore", "data/raw/customers.csv", "models/model.skops"], copy).stdout
    assert ignored.split() == ["data/raw/customers.csv", "models/model.skops"]
    commit_all(copy, "pipeline run with auto K")
    assert git("status", "--porcelain", cwd=copy).stdout == ""
    k_before = read_json(copy / "metrics/train.json")["n_clusters"]
    assert k_before != 4, "choose another K for this test"

    dvc("exp", "run", "-S", "train.n_clusters=4", cwd=copy)

    assert yaml.safe_load((copy / "params.yaml").read_text())["train"]["n_clusters"] == 4
    assert read_json(copy / "metrics/train.json")["n_clusters"] == 4
    assert len(read_json(copy / "models/segments.json")["segments"]) == 4
    assert set(read_assigned(copy / "data/assigned/customers.csv")["segment"]) == {0, 1, 2, 3}

    table = dvc("metrics", "diff", cwd=copy).stdout
    assert re.search(r"metrics/train\.json\s+n_clusters\s+" + str(k_before) + r"\s+4\b", table), table
    diff = json.loads(dvc("metrics", "diff", "--json", cwd=copy).stdout)
    assert diff["metrics/train.json"]["n_clusters"] == {"old": k_before, "new": 4, "diff": 4 - k_before}


# --- determinism -------------------------------------------------------------------------


def test_forced_rerun_on_other_threads_gives_byte_identical_outputs(repo, tmp_path):
    """`dvc repro -f` again, with another number of OpenMP and BLAS threads than the run's
    (one, tests/conftest.py), changes no hash."""
    copy = clone_run(repo, tmp_path / "repo")
    threads = {name: "1" if os.environ.get(name) == "2" else "2" for name in THREADS}
    env = dvc_repo.env() | threads
    result = subprocess.run(
        ["dvc", "repro", "-f"], cwd=copy, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr
    before, after = output_hashes(repo), output_hashes(copy)
    assert sorted(p for p in before if before[p] != after.get(p)) == []
    assert (copy / "dvc.lock").read_text() == (repo / "dvc.lock").read_text()


# --- the model in DVC's model registry ---------------------------------------------------


def test_the_model_is_found_by_name_in_the_registry(repo, tmp_path):
    """dvc.yaml's ``artifacts:`` names the model: once a version is registered with gto (as the
    docs say), dvc.api finds its path and revision by name, and the bytes read there are the
    model that dvc.lock records."""
    clone = clone_run(repo, tmp_path / "registry")
    commit_all(clone, "pipeline run")
    run(["gto", "register", "customer-segments", "--version", "v1.0.0"], clone)
    shown = dvc_api(
        "import dvc.api, json, hashlib;"
        "found = dvc.api.artifacts_show('customer-segments', repo='.');"
        "data = dvc.api.read(found['path'], rev=found['rev'], repo='.', mode='rb');"
        "print(json.dumps({**found, 'md5': hashlib.md5(data).hexdigest()}))",
        clone,
    )
    head = git("rev-parse", "HEAD", cwd=clone).stdout.strip()
    assert shown == {"rev": head, "path": MODEL, "md5": output_hashes(clone)[MODEL]}


def dvc_api(code: str, cwd: Path) -> dict:
    """Run ``code`` with ``python -c`` in ``cwd`` (a user's script) and parse the JSON it prints."""
    return json.loads(run([sys.executable, "-c", code], cwd).stdout)
