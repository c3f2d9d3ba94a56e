"""What the crash-safety tests check after a kill, on their copy of the reference run."""

from __future__ import annotations

import shutil
import subprocess
import warnings
from pathlib import Path

import yaml
from dvc_repo import dvc, read_lock
from reference_run import (
    STAGES,
    Pipeline,
    dvc_status,
    is_temporary,
    md5,
    output_files,
)


def matches_reference(pipeline: Pipeline) -> bool:
    files = output_files(pipeline.repo, pipeline.all_outputs())
    digests = {f: md5(p) for f, p in files.items() if not is_temporary(p)}
    try:
        return digests == pipeline.digests and read_lock(pipeline.repo) == pipeline.lock
    except (FileNotFoundError, yaml.YAMLError):
        return False


def assert_no_partial_outputs(pipeline: Pipeline) -> list[str]:
    """Every output file is absent or identical to the reference run. Returns the temporaries
    found inside folder outputs (.dvcignore must keep them out of DVC's hash of the folder)."""
    problems, temporaries = [], []
    for rel, path in output_files(pipeline.repo, pipeline.all_outputs()).items():
        if is_temporary(path):
            temporaries.append(rel)
        elif rel not in pipeline.digests:
            problems.append(f"{rel}: not written by the reference run")
        elif md5(path) != pipeline.digests[rel]:
            problems.append(f"{rel}: {path.stat().st_size} bytes, differs from the reference run")
    assert problems == [], "half-written or changed outputs after the kill"
    return temporaries


def assert_cache_objects_intact(repo: Path) -> None:
    """No object in DVC's cache is half-written: the md5 of each is its name."""
    bad = []
    for obj in (repo / ".dvc/cache/files/md5").glob("*/*"):
        name = (obj.parent.name + obj.name).removesuffix(".dir")
        if len(name) == 32 and all(c in "0123456789abcdef" for c in name) and md5(obj) != name:
            bad.append(obj.relative_to(repo).as_posix())
    assert bad == []


def forget_run(repo: Path, stage: str) -> None:
    """Make the next `dvc repro` really run ``stage``, as after a kill during its first run.

    Otherwise DVC checks out of its cache the outputs dvc.lock records for the stage's
    unchanged dependencies (or those of the run cache) instead of running the stage.
    The stage's entry is cut out of the text: DVC writes YAML 1.2, where ``Yes:`` is a text,
    and a round trip through PyYAML (YAML 1.1) would turn it into ``true:``, changing the
    params recorded for the later stages, which would then rerun as well.
    """
    lines = (repo / "dvc.lock").read_text().splitlines(keepends=True)
    start = lines.index(f"  {stage}:\n")
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].startswith("  ") and lines[i][2] != " "),
        len(lines),
    )
    (repo / "dvc.lock").write_text("".join(lines[:start] + lines[end:]))
    assert stage not in read_lock(repo)["stages"] and len(read_lock(repo)["stages"]) == len(STAGES) - 1
    shutil.rmtree(repo / ".dvc/cache/runs", ignore_errors=True)


# DVC writes dvc.lock and .dvc/tmp/rwlock in place, not atomically: killed while writing one,
# it leaves it cut short and its next command fails until the file is removed (the README's
# remedy; test_dvc_files_cut_short shows both). A kill while DVC records a run hits dvc.lock
# now and then (in about one run of this module in three): recovered here with a warning.
DVC_FILE_CUT_SHORT = {
    "dvc.lock' is invalid": "dvc.lock",
    "dvc.lock' validation failed": "dvc.lock",
    "Unable to read RWLock-file": ".dvc/tmp/rwlock",
}


def repro_after_kill(repo: Path) -> subprocess.CompletedProcess:
    for _ in range(len(DVC_FILE_CUT_SHORT)):
        result = dvc("repro", cwd=repo, check=False)
        cut_short = {file for message, file in DVC_FILE_CUT_SHORT.items() if message in result.stderr}
        if result.returncode == 0 or not cut_short:
            break
        error = next(line for line in result.stderr.splitlines() if line.strip())
        message = f"DVC was killed writing {', '.join(sorted(cut_short))} ({error}): removed to recover"
        print(message)  # shown with -rP
        warnings.warn(message, stacklevel=2)
        for file in cut_short:
            (repo / file).unlink()
    assert result.returncode == 0, f"dvc repro failed\n{result.stdout}\n{result.stderr}"
    return result


def assert_recovers(pipeline: Pipeline) -> subprocess.CompletedProcess:
    """`dvc repro` completes and restores the reference dvc.lock and outputs; status is clean."""
    repo = pipeline.repo
    result = repro_after_kill(repo)
    # DVC notices the lock entries of a killed DVC process and removes them by itself.
    assert "is busy" not in result.stderr
    files = output_files(repo, pipeline.all_outputs())
    assert {f: md5(p) for f, p in files.items()} == pipeline.digests
    assert read_lock(repo) == pipeline.lock
    assert dvc_status(repo) == {}
    assert_cache_objects_intact(repo)
    return result
