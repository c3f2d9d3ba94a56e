"""The crash-safety tests' fixtures: each test file works on its own copy of the reference run
(tests/reference_run.py), brought back to that run's state after every test."""

from __future__ import annotations

import pytest
from crash import matches_reference
from dvc_repo import dvc
from reference_run import Pipeline, reference_run


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """The test module's copy of the reference run."""
    return reference_run(tmp_path_factory, "crash")


@pytest.fixture(autouse=True)
def restored_reference(request: pytest.FixtureRequest):
    """After each test, the module's repository as the reference run left it, even when the
    test failed half-way, so that one failure does not fail the tests after it."""
    yield
    if "pipeline" not in request.fixturenames:
        return
    pipeline = request.getfixturevalue("pipeline")
    if matches_reference(pipeline):
        return
    # A forced run of every stage rewrites dvc.lock, whatever state the failure left it in.
    (pipeline.repo / "dvc.lock").unlink(missing_ok=True)
    (pipeline.repo / ".dvc/tmp/rwlock").unlink(missing_ok=True)
    dvc("repro", "-f", cwd=pipeline.repo)
    assert matches_reference(pipeline), "the module's repository could not be restored"
