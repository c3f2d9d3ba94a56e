"""The end-to-end tests' DVC in the test process (``dvc_here`` in tests/dvc_repo.py) gives
what the ``dvc`` command gives: exit status, DVC's messages and the stage's own output."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from dvc_repo import dvc_here, env, init_git, run, use_private_site_cache

pytestmark = pytest.mark.slow

# A stage that writes to both streams, then fails with exit status 3 unless a file "ok" exists.
STAGE = """
import pathlib, sys
print("stage says hello")
print("stage complains", file=sys.stderr)
if not pathlib.Path("ok").exists():
    sys.exit(3)
pathlib.Path("out.txt").write_text("done")
"""


@pytest.fixture
def repo(tmp_path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    init_git(repo)
    run(["dvc", "init", "-q"], repo, own_process=True)
    use_private_site_cache(repo, tmp_path / "site-cache")
    (repo / "stage.py").write_text(STAGE)
    stages = {"talk": {"cmd": f"{sys.executable} stage.py", "deps": ["stage.py"], "outs": ["out.txt"]}}
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))
    return repo


def test_a_failing_stage_gives_the_same_status_and_output_in_the_test_process(repo):
    here = dvc_here(["repro"], repo, env())
    process = run(["dvc", "repro"], repo, check=False, own_process=True)
    assert here.returncode == process.returncode != 0
    for result in (here, process):
        assert "Running stage 'talk'" in result.stdout
        assert "stage says hello" in result.stdout
        assert "stage complains" in result.stderr
        assert "failed to reproduce 'talk'" in result.stderr
        assert "\x1b[" not in result.stdout + result.stderr  # no colours


def test_a_stage_run_in_the_test_process_is_recorded_and_status_is_clean(repo):
    (repo / "ok").touch()
    assert dvc_here(["repro"], repo, env()).returncode == 0
    assert (repo / "out.txt").read_text() == "done"
    assert dvc_here(["status", "--json"], repo, env()).stdout.strip() == "{}"
    assert run(["dvc", "status", "--json"], repo, own_process=True).stdout.strip() == "{}"
