"""Crash safety: every stage killed with SIGKILL right before renaming an output, then
``dvc repro`` must recover.

Every output is written through ``bankseg.io.atomic.atomic_path``: a temporary ``.<name>.<random>.tmp``
beside the target, renamed into place when complete. So wherever a stage is killed, each of
its outputs is absent (DVC removes the outputs of a stage before running it), unchanged or
complete, never half-written; and the next ``dvc repro`` gives the same results as a run that
was never interrupted.

The module works on its copy of the reference run (tests/reference_run.py: 1,500 generated
customers, 300 new ones, a cheaper elbow search). Each stage is run again with
``dvc repro -f -s <stage>`` and killed right before the rename of its first and of its last
output, with the temporary file complete: a ``sitecustomize`` module, put on ``PYTHONPATH`` by
the test only, wraps ``os.replace`` for calls from ``bankseg.io.atomic`` (the package has no
hook for this). After each kill no output differs from the reference, no DVC cache object is
half-written, and ``dvc repro`` restores the reference dvc.lock and outputs byte for byte,
``dvc status`` clean.

test_crash_safety_dvc_killed.py kills DVC itself mid-run; test_crash_safety_damaged.py
damages copies of the run (a replaced model, DVC's files cut short).
"""

from __future__ import annotations

import re
import signal

import pytest
from crash import (
    assert_no_partial_outputs,
    assert_recovers,
    forget_run,
)
from dvc_repo import run
from reference_run import (
    KILL_AT_RENAME,
    KILL_MARKER,
    STAGES,
    dvc_status,
    hook_env,
    locked_command,
    md5,
    output_files,
    temporaries_of,
    temporary_files,
)

pytestmark = pytest.mark.slow

MODEL = "models/model.skops"


# --- killed right before a rename ---------------------------------------------------------


@pytest.mark.parametrize("point", ["first", "last"])
@pytest.mark.parametrize("stage", STAGES)
def test_stage_killed_right_before_renaming_an_output(pipeline, stage, point, tmp_path):
    repo, written = pipeline.repo, pipeline.files_of(stage)
    marker = tmp_path / "killed_before_renaming"
    at = 1 if point == "first" else len(written)
    env = hook_env(pipeline.hook, **{KILL_AT_RENAME: str(at), KILL_MARKER: str(marker)})
    result = run(["dvc", "repro", "-f", "-s", stage], repo, check=False, extra_env=env)
    assert result.returncode != 0, result.stdout + result.stderr
    assert marker.exists(), f"the stage was not killed:\n{result.stdout}\n{result.stderr}"
    # DVC reports the signal itself, or 128 + 9 when its shell did not exec the command.
    assert re.search(r"exited with (-9|137)\b", result.stderr), result.stderr
    target = marker.read_text()
    assert target in written

    temporaries = assert_no_partial_outputs(pipeline)
    # DVC removed the stage's outputs before running it; those renamed before the kill are back.
    present = set(output_files(repo, pipeline.outputs[stage])) - set(temporaries)
    assert present == (set() if point == "first" else set(written) - {target})
    # The target's temporary file was complete: the kill came right before its rename.
    [temporary] = temporaries_of(repo, target)
    assert md5(temporary) == pipeline.digests[target]
    assert set(temporaries) <= {temporary.relative_to(repo).as_posix()}

    if point == "first":
        # What DVC does by itself: it checks out of its cache the outputs dvc.lock records,
        # unless some are not cached (elbow, analyze): then it runs the stage.
        restored = (
            f"Stage '{stage}' is cached" if stage in pipeline.restorable else f"Running stage '{stage}'"
        )
        assert restored in assert_recovers(pipeline).stdout
        if stage in pipeline.restorable and target in pipeline.outputs[stage]:
            # A checkout leaves the temporary beside the file (git and DVC ignore it); the
            # stage's next write of the file removes it.
            assert temporary.exists()
    else:
        forget_run(repo, stage)
        # Only the stage runs again: its outputs come out the same, so nothing after it reruns.
        assert re.findall(r"Running stage '(\w+)'", assert_recovers(pipeline).stdout) == [stage]
        # The rerun's writes removed the temporaries the killed runs left beside their targets.
        assert [t for f in written for t in temporaries_of(repo, f)] == []


def test_temporary_left_in_a_folder_output_does_not_change_it_for_dvc(pipeline, tmp_path):
    """The assign stage run by hand (not by DVC), killed before renaming its last segment file."""
    repo = pipeline.repo
    marker = tmp_path / "killed_before_renaming"
    renames = pipeline.files_of("assign")
    # The rename of the last per-segment file (the stage writes its drift metrics after it).
    at = max(i for i, f in enumerate(renames, 1) if f.startswith("data/assigned/new_by_segment/"))
    env = hook_env(pipeline.hook, **{KILL_AT_RENAME: str(at), KILL_MARKER: str(marker)})
    result = run(locked_command(repo, "assign"), repo, check=False, extra_env=env)
    assert result.returncode == -signal.SIGKILL, result.stderr
    target = marker.read_text()
    assert target.startswith("data/assigned/new_by_segment/segment_")
    [temporary] = temporaries_of(repo, target)
    assert assert_no_partial_outputs(pipeline) == [temporary.relative_to(repo).as_posix()]

    # .dvcignore keeps the temporary out of the folder's hash: DVC sees nothing to do.
    ignored = run(["dvc", "check-ignore", temporary.relative_to(repo).as_posix()], repo, check=False)
    assert ignored.returncode == 0, ignored.stdout + ignored.stderr
    assert dvc_status(repo) == {}
    # The next write of the same file removes the stale temporary.
    run(locked_command(repo, "assign"), repo)
    assert [t for t in temporary_files(repo) if t.startswith("data/assigned/")] == []
    assert "Data and pipelines are up to date" in assert_recovers(pipeline).stdout
