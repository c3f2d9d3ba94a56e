"""``python -m bankseg migration --from HEAD`` as a user runs it: in a git + DVC repository
whose committed run is compared with a rerun that made other segments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from dvc_repo import commit_all, dvc, env, read_json, set_params
from reference_run import reference_run

pytestmark = pytest.mark.slow  # a pipeline rerun and DVC reading a git revision

ROOT = Path(__file__).resolve().parent.parent


def _migration(repo: Path, *args: str) -> subprocess.CompletedProcess:
    environment = env() | {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))
    }
    return subprocess.run(
        [sys.executable, "-m", "bankseg", "migration", *args],
        cwd=repo,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def rerun(tmp_path_factory) -> Path:
    """The reference run committed, then retrained with one segment more (not yet committed)."""
    repo = reference_run(tmp_path_factory, "migration").repo
    commit_all(repo, "first quarter's segments")
    k = read_json(repo / "metrics/train.json")["n_clusters"]
    set_params(repo, {"train": {"n_clusters": k + 1}})
    dvc("repro", "assign", cwd=repo)
    return repo


def test_migration_from_head_reports_who_moved(rerun):
    result = _migration(rerun, "--from", "HEAD", "--min-customers", "20")
    assert result.returncode == 0, result.stderr
    out = rerun / "reports" / "migration"
    metrics = read_json(rerun / "metrics" / "migration.json")
    customers = len(pd.read_csv(rerun / "data/assigned/customers.csv"))
    assert metrics["customers"] == {"earlier": customers, "later": customers, "in_both": customers}
    assert metrics["joined"] == metrics["left"] == 0
    assert metrics["matched_by"] == "centre"
    # One segment more: at least one segment of the rerun has no counterpart, and it is said.
    assert metrics["unmatched_segments"]["later"] >= 1
    assert metrics["stayed"] + metrics["moved"] == customers and metrics["moved"] > 0
    for name in metrics["unmatched"]["later"]:
        assert f"segment {name!r} of the workspace" in result.stderr
        assert f"**{name}**" in (out / "summary.md").read_text()
    transitions = pd.read_csv(out / "transitions.csv")
    assert transitions["customers"].sum() == customers
    flows = sorted(out.glob("flow_*.csv"))
    assert flows
    for flow in flows:
        frame = pd.read_csv(flow, dtype=str)
        assert list(frame.columns) == ["customer_id", "from_segment", "to_segment"]
        assert len(frame) >= 20
    largest = metrics["largest_moves"]["1"]
    noun = "customer" if largest["customers"] == 1 else "customers"
    sentence = f"{largest['customers']:,} {noun} moved from **{largest['from']}** to **{largest['to']}**"
    assert sentence in (out / "summary.md").read_text()


def test_migration_reruns_write_the_same_bytes(rerun):
    assert _migration(rerun, "--from", "HEAD").returncode == 0
    out = rerun / "reports" / "migration"
    files = sorted(out.iterdir()) + [rerun / "metrics" / "migration.json"]
    before = {f: f.read_bytes() for f in files}
    result = _migration(rerun, "--from", "HEAD")
    assert result.returncode == 0, result.stderr
    assert {
        f: f.read_bytes() for f in sorted(out.iterdir()) + [rerun / "metrics" / "migration.json"]
    } == before


def test_migration_diff_of_its_metrics_with_dvc(rerun):
    assert _migration(rerun, "--from", "HEAD").returncode == 0
    shown = dvc("metrics", "show", "metrics/migration.json", "--json", cwd=rerun).stdout
    data = json.loads(shown)[""]["data"]["metrics/migration.json"]["data"]
    assert data["share_stayed"] == read_json(rerun / "metrics" / "migration.json")["share_stayed"]


def test_an_unknown_revision_or_one_without_outputs_is_one_error_line(rerun, tmp_path):
    result = _migration(rerun, "--from", "no-such-rev", "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --from no-such-rev: unknown Git revision 'no-such-rev'"
    ]
    assert not (tmp_path / "out").exists()
    # The first commit holds another run's dvc.lock, whose outputs this repository never had.
    result = _migration(rerun, "--from", "HEAD~1", "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --from HEAD~1: data/assigned/customers.csv is neither in git nor in the DVC cache at that "
        "revision; expected a revision where the pipeline ran, its outputs in the cache (dvc pull, or dvc "
        "repro there)"
    ]
