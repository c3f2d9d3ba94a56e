"""Crash safety on damaged copies of the reference run: a replaced model, DVC's files cut short.

The assign stage is given a replaced model (also with dvc.lock edited to match it), as
whoever controls DVC's storage could; and DVC's own files are cut short as a kill can leave
them. Each test works on a fresh copy of the module's copy of the reference run
(tests/reference_run.py).
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import numpy as np
import pytest
from dvc_repo import clone_run, dvc, output_hashes, read_lock, run_stage
from hostile_models import PAYLOADS, assert_runs_code
from reference_run import (
    Pipeline,
    dvc_status,
    md5,
    output_files,
    temporary_files,
)
from sklearn.cluster import KMeans

from bankseg.io.models import save_model

pytestmark = pytest.mark.slow

MODEL = "models/model.skops"


# --- a tampered model --------------------------------------------------------------------

ASSIGNED = ["data/assigned/customers.csv", "data/assigned/new_customers.csv", "data/assigned/new_by_segment"]


@pytest.fixture
def run_copy(pipeline, tmp_path) -> Path:
    """A copy of the module's run, DVC cache included, to damage."""
    return clone_run(pipeline.repo, tmp_path / "repo")


def _assigned_state(repo: Path) -> dict[str, tuple[str, int]]:
    return {f: (md5(p), p.stat().st_mtime_ns) for f, p in output_files(repo, ASSIGNED).items()}


def _error_lines(result: subprocess.CompletedProcess) -> list[str]:
    assert "Traceback" not in result.stdout + result.stderr
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


def _assert_assigned_absent_or_reference(pipeline: Pipeline, repo: Path) -> None:
    """DVC removes a stage's outputs before running it: none may come from a refused model."""
    after = output_files(repo, ASSIGNED)
    assert {f: md5(p) for f, p in after.items()} == {f: pipeline.digests[f] for f in after}


def _cache_object(repo: Path, md5: str) -> Path:
    return repo / ".dvc/cache/files/md5" / md5[:2] / md5[2:]


def _replace_model(repo: Path, kind: str, replaced: str, marker: Path) -> bytes:
    """Put a model of ``kind`` in place of models/model.skops (and of ``replaced``), as whoever
    controls DVC's storage could; dvc.lock, in git, stays as it is."""
    model = repo / MODEL
    if kind == "another model":  # of our types, fitted on other data
        X = np.random.default_rng(0).normal(size=(60, 8))
        save_model(KMeans(n_clusters=3, n_init=1, random_state=0).fit(X), model)
        payload = model.read_bytes()
    else:
        payload = PAYLOADS[kind](marker, model.read_bytes())
        assert_runs_code(kind, payload, marker)  # loaded the unsafe way, it runs
    model.write_bytes(payload)
    if replaced in ("model and its .sha256", "model and its DVC cache object"):
        # The file the pipeline used to check models against, made to match.
        digest = hashlib.sha256(payload).hexdigest()
        (repo / (MODEL + ".sha256")).write_text(f"{digest}  model.skops\n")
    if replaced == "model and its DVC cache object":
        cached = _cache_object(repo, output_hashes(repo)[MODEL])
        cached.chmod(0o644)
        cached.write_bytes(payload)
    return payload


REPLACED = ["model", "model and its .sha256", "model and its DVC cache object"]


@pytest.mark.parametrize(
    ("kind", "replaced"),
    [("another model", "model"), *((kind, replaced) for kind in PAYLOADS for replaced in REPLACED)],
)
def test_assign_stage_refuses_a_replaced_model(pipeline, run_copy, tmp_path, kind, replaced):
    repo = run_copy
    marker = tmp_path / "created-by-the-model"
    _replace_model(repo, kind, replaced, marker)
    recorded = pipeline.digests[MODEL]
    before = _assigned_state(repo)

    # The stage's command run by hand (in this process): refused, the outputs left as they were.
    result = run_stage(repo, "assign")
    assert result.returncode == 2, result.stderr
    [line] = _error_lines(result)
    assert line == (
        f"error: {MODEL}: MD5 {md5(repo / MODEL)[:12]}... does not match {recorded[:12]}... recorded in "
        "dvc.lock (an output of stage train); refusing to load it (run dvc repro to rebuild it, or dvc "
        "checkout to restore the recorded file)"
    )
    assert _assigned_state(repo) == before
    assert [t for t in temporary_files(repo) if t.startswith("data/assigned/")] == []
    assert not marker.exists(), "the replaced model was loaded"

    # DVC reruns assign alone for its changed dependency: refused, nothing from that model.
    result = dvc("repro", "-s", "assign", cwd=repo, check=False)
    assert result.returncode != 0
    assert _error_lines(result) == [line]
    assert "failed to reproduce 'assign'" in result.stderr
    _assert_assigned_absent_or_reference(pipeline, repo)
    assert not marker.exists(), "the replaced model was loaded"

    # The error's advice, `dvc repro`, restores train's output from DVC's cache, then assign's;
    # a cache object that does not match its name is not used: train runs again instead.
    out = dvc("repro", cwd=repo).stdout
    if replaced == "model and its DVC cache object":
        assert "Running stage 'train'" in out, out
    else:
        assert "Stage 'train' is cached" in out, out
    assert output_hashes(repo) == output_hashes(pipeline.repo)
    assert md5(repo / MODEL) == recorded
    assert _assigned_state(repo).keys() == {
        f for f in pipeline.files_of("assign") if f.startswith("data/assigned/")
    }
    _assert_assigned_absent_or_reference(pipeline, repo)
    assert dvc_status(repo) == {}
    assert not marker.exists()


@pytest.mark.parametrize("kind", PAYLOADS)
def test_assign_stage_refuses_a_hostile_model_even_when_dvc_lock_records_it(
    pipeline, run_copy, tmp_path, kind
):
    """dvc.lock edited to record the replaced model's MD5 (as an MD5 collision would make it):
    the skops archive names a type we never save, the pickle is no skops archive; refused
    before anything is built, by hand and under `dvc repro`."""
    repo = run_copy
    marker = tmp_path / "created-by-the-model"
    payload = _replace_model(repo, kind, "model", marker)
    lock_text = (repo / "dvc.lock").read_text()
    (repo / "dvc.lock").write_text(
        lock_text.replace(pipeline.digests[MODEL], hashlib.md5(payload).hexdigest())
    )
    expected = {
        "skops": f"error: {MODEL}: holds types the pipeline never saves (builtins.open); refusing to load it",
        "pickle": f"error: {MODEL}: not a model file the pipeline writes (a skops archive): File is not a "
        "zip file; refusing to load it",
    }[kind]
    before = _assigned_state(repo)

    result = run_stage(repo, "assign")  # by hand, in this process
    assert result.returncode == 2, result.stderr
    assert _error_lines(result) == [expected]
    assert _assigned_state(repo) == before

    # dvc.lock records the file as both train's output and assign's dependency: DVC sees
    # nothing to do, and runs the stage when told to.
    assert "Stage 'assign' didn't change" in dvc("repro", "-s", "assign", cwd=repo).stdout
    result = dvc("repro", "-f", "-s", "assign", cwd=repo, check=False)
    assert result.returncode != 0
    assert _error_lines(result) == [expected]
    _assert_assigned_absent_or_reference(pipeline, repo)
    assert not marker.exists(), "the hostile model was loaded"


# --- DVC's own files cut short by a kill ---------------------------------------------------


def test_dvc_files_cut_short(pipeline, run_copy):
    """What DVC does when a kill cut dvc.lock or .dvc/tmp/rwlock short, and the remedy."""
    repo = run_copy

    # The lock of DVC's read/write locks, left empty: every `dvc repro` fails until removed.
    rwlock = repo / ".dvc/tmp/rwlock"
    rwlock.parent.mkdir(exist_ok=True)
    rwlock.write_text("")
    result = dvc("repro", cwd=repo, check=False)
    assert result.returncode != 0
    assert "Unable to read RWLock-file '.dvc/tmp/rwlock'" in result.stderr, result.stderr
    rwlock.unlink()

    # dvc.lock left empty (killed before its buffered writes reached the file): DVC refuses it;
    # without it, `dvc repro` restores or reruns every stage and writes the same lock.
    (repo / "dvc.lock").write_bytes(b"")
    result = dvc("repro", cwd=repo, check=False)
    assert result.returncode != 0
    assert "dvc.lock' validation failed" in result.stderr, result.stderr
    (repo / "dvc.lock").unlink()
    dvc("repro", cwd=repo)
    assert read_lock(repo) == pipeline.lock
    files = output_files(repo, pipeline.all_outputs())
    assert {f: md5(p) for f, p in files.items()} == pipeline.digests
    assert dvc_status(repo) == {}
