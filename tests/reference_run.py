"""One small pipeline run shared by the end-to-end tests that start from a finished run.

The reference run (1,500 generated customers, 300 new ones, a cheaper elbow search) is made
once per test session, by whichever xdist worker needs it first, stage by stage with
``dvc repro -s <stage>`` so that each stage's renames of its outputs are logged and timed.
Every test module then works on its own copy (``reference_run``), DVC cache included: the
crash-safety tests kill stages in theirs, the experiment and plot tests branch and draw in
theirs.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from dvc_repo import clone_run, new_repo, read_lock, run, shared_folder

STAGES = ["generate", "prepare", "featurize", "elbow", "train", "assign", "analyze"]
PARAMS = {
    "generate": {"n_customers": 1500, "n_new_customers": 300},
    "elbow": {"k_max": 7, "n_init": 1, "n_bootstrap": 2},
    "train": {"n_init": 2},
}
TEMPORARY = ".*.tmp"  # the pattern of atomic_path's temporary files, as in .dvcignore

KILL_AT_RENAME = "CRASH_TEST_KILL_AT_RENAME"
KILL_MARKER = "CRASH_TEST_KILL_MARKER"
RENAME_LOG = "CRASH_TEST_RENAME_LOG"
# Imported at start-up by every Python process with its folder on PYTHONPATH (DVC and the
# stage), inert unless asked: with CRASH_TEST_RENAME_LOG it logs the time and target of each
# rename by bankseg.io.atomic; with CRASH_TEST_KILL_AT_RENAME=N the N-th of them writes its target
# to CRASH_TEST_KILL_MARKER and kills its own process instead of renaming.
SITECUSTOMIZE = f'''
import os
import signal
import sys
import time

_KILL_AT = int(os.environ.get("{KILL_AT_RENAME}", "0"))
_LOG = os.environ.get("{RENAME_LOG}")
if _KILL_AT or _LOG:
    _real_replace = os.replace
    _renames = 0

    def _replace(src, dst, *args, **kwargs):
        global _renames
        if sys._getframe(1).f_globals.get("__name__") == "bankseg.io.atomic":
            _renames += 1
            if _renames == _KILL_AT:
                with open(os.environ["{KILL_MARKER}"], "w", encoding="utf-8") as marker:
                    marker.write(os.fspath(dst))
                os.kill(os.getpid(), signal.SIGKILL)
            if _LOG:
                with open(_LOG, "a", encoding="utf-8") as log:
                    log.write(f"{{time.time()}} {{os.fspath(dst)}}\\n")
        return _real_replace(src, dst, *args, **kwargs)

    os.replace = _replace
'''


@dataclass
class Pipeline:
    """A copy of the reference run, and what that run produced."""

    repo: Path
    hook: Path  # folder holding the sitecustomize module
    outputs: dict[str, list[str]]  # stage -> its declared outputs (metrics and plots included)
    digests: dict[str, str]  # every file of every output (folders expanded) -> md5
    lock: dict  # dvc.lock
    restorable: set[str]  # stages DVC can check out of its cache instead of running them
    # stage -> seconds from starting `dvc repro -s <stage>` to its first rename, to its last
    # rename and to DVC's exit
    timeline: dict[str, tuple[float, float, float]]

    def files_of(self, stage: str) -> list[str]:
        """The files a stage writes (those in its folder outputs included)."""
        return sorted(
            f for f in self.digests for out in self.outputs[stage] if f == out or f.startswith(out + "/")
        )

    def all_outputs(self) -> list[str]:
        return [out for stage in STAGES for out in self.outputs[stage]]


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def is_temporary(path: Path) -> bool:
    return fnmatch.fnmatch(path.name, TEMPORARY)


def dvc_status(repo: Path) -> dict:
    """`dvc status` through DVC's Python API (a process per call would cost half a second)."""
    from dvc.repo import Repo

    with Repo(str(repo)) as dvc_repository:
        return dvc_repository.status()


def declared_outputs(repo: Path) -> dict[str, list[str]]:
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    return {
        name: [
            next(iter(item)) if isinstance(item, dict) else item
            for kind in ("outs", "metrics", "plots")
            for item in stage.get(kind, [])
        ]
        for name, stage in stages.items()
    }


def restorable_stages(repo: Path) -> set[str]:
    """Stages DVC restores from its cache rather than run again: no `outs` with cache: false."""
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    return {
        name
        for name, stage in stages.items()
        if not any(
            isinstance(o, dict) and not next(iter(o.values())).get("cache", True) for o in stage["outs"]
        )
    }


def output_files(repo: Path, outputs: list[str]) -> dict[str, Path]:
    """Relative path -> path of every file now in ``outputs``, temporaries in folders included."""
    files = {}
    for out in outputs:
        path = repo / out
        if path.is_dir():
            files |= {p.relative_to(repo).as_posix(): p for p in sorted(path.rglob("*")) if p.is_file()}
        elif path.exists():
            files[out] = path
    return files


def temporary_files(repo: Path) -> list[str]:
    """Temporary files of atomic writes anywhere in the workspace (outside .dvc and .git)."""
    return sorted(
        p.relative_to(repo).as_posix()
        for p in repo.rglob(TEMPORARY)
        if p.relative_to(repo).parts[0] not in (".dvc", ".git")
    )


def temporaries_of(repo: Path, target: str) -> list[Path]:
    return sorted((repo / target).parent.glob(f".{Path(target).name}.*.tmp"))


def locked_command(repo: Path, stage: str) -> list[str]:
    """The stage's command as DVC runs it (dvc.lock has it with the ${...} values filled in)."""
    return shlex.split(read_lock(repo)["stages"][stage]["cmd"])


def hook_env(hook: Path, **variables: str) -> dict[str, str]:
    pythonpath = os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))
    return {"PYTHONPATH": pythonpath} | variables


def _build(folder: Path) -> None:
    """The reference run in ``folder/repo``; ``folder/timeline.json`` holds each stage's timing."""
    repo = new_repo(folder, PARAMS)
    hook = folder / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)

    # Compiled beforehand, so that the reference run's timeline is that of the later runs.
    subprocess.run(["python", "-m", "compileall", "-q", "bankseg", "stages"], cwd=repo, check=True)
    outputs = declared_outputs(repo)
    timeline = {}
    for stage in STAGES:  # one uninterrupted run, stage by stage to time each
        log = folder / f"renames-{stage}.log"
        start = time.time()
        # DVC in a process of its own: test_crash_safety_dvc_killed.py times its kills by this.
        run(
            ["dvc", "repro", "-s", stage],
            repo,
            extra_env=hook_env(hook, **{RENAME_LOG: str(log)}),
            own_process=True,
        )
        end = time.time()
        renames = [line.split(" ", 1) for line in log.read_text().splitlines()]
        written = {target for _, target in renames}
        assert len(written) == len(renames), f"{stage} writes a file twice"
        assert written == set(output_files(repo, outputs[stage])), f"{stage} writes other files"
        timeline[stage] = (float(renames[0][0]) - start, float(renames[-1][0]) - start, end - start)
    assert dvc_status(repo) == {}
    assert restorable_stages(repo) == {"generate", "prepare", "featurize", "train", "assign"}
    assert temporary_files(repo) == []
    (folder / "timeline.json").write_text(json.dumps(timeline))


def reference_run(tmp_path_factory: pytest.TempPathFactory, name: str) -> Pipeline:
    """A copy of the session's reference run, for one test module to change as it likes."""
    shared = shared_folder(tmp_path_factory, "reference-run", _build)
    repo = clone_run(shared / "repo", tmp_path_factory.mktemp(name) / "repo")
    outputs = declared_outputs(repo)
    files = output_files(repo, [out for stage in STAGES for out in outputs[stage]])
    timeline = json.loads((shared / "timeline.json").read_text())
    return Pipeline(
        repo=repo,
        hook=shared / "hook",
        outputs=outputs,
        digests={f: md5(p) for f, p in files.items()},
        lock=read_lock(repo),
        restorable=restorable_stages(repo),
        timeline={stage: tuple(times) for stage, times in timeline.items()},
    )
