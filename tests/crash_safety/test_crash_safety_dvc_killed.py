"""Crash safety: DVC, its shell and the stage killed together while ``dvc repro`` runs a stage.

As a terminal kills its process group: as soon as the stage's first output is in place (while
it writes the others), and after its last one while DVC records the run (hashes, cache,
dvc.lock). On the module's copy of the reference run (tests/reference_run.py), after each
kill no output differs from the reference, no DVC cache object is half-written, and
``dvc repro`` restores the reference dvc.lock and outputs byte for byte, ``dvc status`` clean.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import dvc_repo
import pytest
from crash import (
    assert_cache_objects_intact,
    assert_no_partial_outputs,
    assert_recovers,
)
from reference_run import (
    STAGES,
    is_temporary,
    output_files,
)

pytestmark = pytest.mark.slow

MODEL = "models/model.skops"


# --- DVC killed at a moment of the stage's run --------------------------------------------


def _file_identity(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns


def _wait_until_written(process: subprocess.Popen, paths: list[Path], count: int, timeout: float) -> bool:
    """Wait until ``count`` of ``paths`` are new files (DVC first removes the old ones)."""
    before = {path: _file_identity(path) for path in paths}
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        new = [path for path in paths if _file_identity(path) not in (None, before[path])]
        if len(new) >= count:
            return True
        time.sleep(0.002)
    return False


@pytest.mark.parametrize("moment", ["while writing", "while DVC records the run"])
@pytest.mark.parametrize("stage", STAGES)
def test_dvc_killed_while_running_a_stage(pipeline, stage, moment):
    """DVC, the shell and the stage killed together, as a terminal kills its process group.

    "while writing": as soon as the stage's first output is in place (some stages take tenths
    of a second between their first and last rename); "while DVC records the run": once all
    are, a third of the time DVC took after them in the reference run (hashes, cache, lock).
    """
    repo = pipeline.repo
    first, last, end = pipeline.timeline[stage]
    files = [repo / f for f in pipeline.files_of(stage)]
    process = subprocess.Popen(
        ["dvc", "repro", "-f", "-s", stage],
        cwd=repo,
        env=dvc_repo.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    start = time.monotonic()
    count = 1 if moment == "while writing" else len(files)
    if _wait_until_written(process, files, count, timeout=3 * end + 10) and moment != "while writing":
        time.sleep((end - last) / 3)
    killed_at = time.monotonic() - start
    finished = process.poll() is not None
    with contextlib.suppress(ProcessLookupError):  # the group is gone if DVC had finished
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    present = set(output_files(repo, pipeline.outputs[stage])) & set(pipeline.digests)
    print(  # shown with -rP: where the kill landed
        f"{stage} killed {moment} after {killed_at:.2f}s (reference: writes {first:.2f}-{last:.2f}s, "
        f"end {end:.2f}s): "
        + ("DVC had finished" if finished else f"{len(present)}/{len(files)} files in place")
    )

    temporaries = assert_no_partial_outputs(pipeline)
    assert all(is_temporary(Path(t)) for t in temporaries)
    assert_cache_objects_intact(repo)
    assert_recovers(pipeline)
