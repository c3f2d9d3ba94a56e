"""End-to-end: experiments with ``dvc exp``, and a pull request gated by ``dvc metrics diff``.

In a copy of the reference run (tests/reference_run.py), a git repository: commit,
change a param on a branch, rerun, and check what ``dvc metrics diff`` and the gate report;
then queue two experiments, run them with ``dvc queue start`` and find both in
``dvc exp show --json``.
"""

from __future__ import annotations

import json
import re
import time
import warnings
from pathlib import Path

import pytest
import yaml
from dvc_repo import commit_all, dvc, git, read_json, run
from reference_run import reference_run

pytestmark = pytest.mark.slow

# The columns that matter in `dvc exp show`, as the README gives them.
KEEP = (
    "Experiment|Created|State|n_clusters|silhouette|calinski_harabasz|davies_bouldin|"
    "mean_ari|smallest_segment_share|rows_rejected|scaler"
)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    copy = reference_run(tmp_path_factory, "experiments").repo  # after `dvc repro`
    commit_all(copy, "pipeline run")
    git("branch", "-M", "main", cwd=copy)
    assert git("status", "--porcelain", cwd=copy).stdout == ""
    return copy


def _gate(repo: Path, *args: str):
    return run(["python", "-m", "bankseg", "gate", *args], repo, check=False)


def test_gate_passes_on_the_unchanged_pipeline(repo):
    result = _gate(repo, "--rev", "main")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All 5 checks passed." in result.stdout


def test_a_branch_that_lowers_quality_is_reported_and_fails_the_gate(repo):
    k_main = read_json(repo / "metrics/train.json")["n_clusters"]
    git("checkout", "-q", "-b", "two-segments", cwd=repo)
    try:
        dvc("exp", "run", "-S", "train.n_clusters=2", cwd=repo)  # rewrites params.yaml and reruns
        commit_all(repo, "two segments")

        table = dvc("metrics", "diff", "main", "--md", cwd=repo).stdout
        assert re.search(rf"\| metrics/train\.json\s*\| n_clusters\s*\| {k_main}\s*\| 2\s*\|", table), table
        params = dvc("params", "diff", "main", "--md", cwd=repo).stdout
        assert re.search(r"train\.n_clusters\s*\| auto\s*\| 2", params), params

        result = _gate(repo, "--rev", "main")
        assert result.returncode == 1, result.stdout + result.stderr
        old = read_json(repo / "metrics/train.json")["silhouette"]
        assert re.search(
            r"\| silhouette \| [\d.]+ \| " + re.escape(f"{old:.4g}") + r" \|.*\*\*FAIL\*\*", result.stdout
        )
        assert "**1 of 5 checks failed.**" in result.stdout
    finally:
        git("checkout", "-q", "main", cwd=repo)
        dvc("checkout", "--force", cwd=repo)


def _wait_for_queue(repo: Path, timeout: float = 600) -> None:
    """Wait until no experiment is queued or running.

    DVC's queue worker has stopped on a loaded machine with an experiment still queued
    ("Worker status: 0 active, 0 idle"); as a user would, the queue is started again then,
    with a warning, once the stall has lasted 20 s."""
    deadline = time.monotonic() + timeout
    stalled_since = None
    while time.monotonic() < deadline:
        status = dvc("queue", "status", cwd=repo).stdout
        if not re.search(r"\b(Queued|Running)\b", status):
            return
        if "Running" in status or "0 active, 0 idle" not in status:
            stalled_since = None
        elif stalled_since is None:
            stalled_since = time.monotonic()
        elif time.monotonic() - stalled_since > 20:
            warnings.warn(
                f"DVC's queue worker stopped with experiments queued; started again:\n{status}", stacklevel=2
            )
            dvc("queue", "start", "-j", "1", cwd=repo)
            stalled_since = None
        time.sleep(2)
    pytest.fail(f"experiments still queued or running after {timeout} s:\n{status}")


def test_queued_experiments_run_and_show_up(repo):
    for k in (3, 4):
        dvc("exp", "run", "--queue", "-S", f"train.n_clusters={k}", cwd=repo)
    dvc("queue", "start", "-j", "1", cwd=repo)
    _wait_for_queue(repo)

    shown = json.loads(dvc("exp", "show", "--json", cwd=repo).stdout)
    found = {}
    for commit in shown:
        for exp in commit.get("experiments") or []:
            for rev in exp.get("revs", []):
                data = rev.get("data") or {}
                k = (
                    data.get("params", {})
                    .get("params.yaml", {})
                    .get("data", {})
                    .get("train", {})
                    .get("n_clusters")
                )
                metrics = data.get("metrics", {}).get("metrics/train.json", {}).get("data", {})
                if k is not None and metrics:
                    found[k] = metrics
    assert set(found) >= {3, 4}, json.dumps(shown)[:2000]
    for k in (3, 4):
        assert found[k]["n_clusters"] == k
        assert 0 < found[k]["smallest_segment_share"] <= 1 / k
    # The README's view: only the columns that matter, sorted by silhouette.
    table = dvc(
        "exp", "show", "--drop", ".*", "--keep", KEEP, "--sort-by", "silhouette", "--md", cwd=repo
    ).stdout
    header = table.splitlines()[0]
    for column in ("n_clusters", "silhouette", "calinski_harabasz", "davies_bouldin", "mean_ari"):
        assert column in header, header
    assert "segment_sizes" not in header and "psi" not in header
    assert yaml.safe_load((repo / "params.yaml").read_text())["train"]["n_clusters"] == "auto"
