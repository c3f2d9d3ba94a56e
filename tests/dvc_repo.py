"""Helpers for end-to-end tests: a throwaway copy of the repository run with the real DVC."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml
from filelock import FileLock

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parent.parent

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "pipeline test",
    "GIT_AUTHOR_EMAIL": "pipeline-test@example.invalid",
    "GIT_COMMITTER_NAME": "pipeline test",
    "GIT_COMMITTER_EMAIL": "pipeline-test@example.invalid",
}


def env() -> dict[str, str]:
    """The environment for DVC and git in tests: no analytics, no debug tracebacks."""
    result = os.environ.copy()
    result.update(GIT_IDENTITY)
    result["DVC_NO_ANALYTICS"] = "1"
    result.pop("BANKSEG_DEBUG", None)
    return result


def run(
    cmd: list[str],
    cwd: Path,
    *,
    check: bool = True,
    timeout: float = 900,
    extra_env: dict | None = None,
    own_process: bool = False,
) -> subprocess.CompletedProcess:
    """Run a command; on failure, fail the test showing its stdout and stderr.

    ``dvc`` runs through its own entry point in this process (``dvc_here``) unless
    ``own_process``; other commands in a subprocess (``timeout`` applies to those)."""
    environment = env() | (extra_env or {})
    if cmd[0] == "dvc" and not own_process:
        result = dvc_here(cmd[1:], cwd, environment)
    else:
        result = subprocess.run(
            cmd, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout
        )
    if check and result.returncode != 0:
        pytest.fail(
            f"`{' '.join(cmd)}` in {cwd} exited with {result.returncode}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}",
            pytrace=False,
        )
    return result


def dvc(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    return run(["dvc", *args], cwd, check=check)


@contextlib.contextmanager
def _environment(variables: dict[str, str]):
    saved = os.environ.copy()
    os.environ.clear()
    os.environ.update(variables)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _standard_streams_to(out: Path, err: Path):
    """File descriptors 1 and 2 (where the stages DVC runs write) and sys.stdout, sys.stderr
    and DVC's log handlers (where DVC writes) go to ``out`` and ``err`` inside the block."""
    import dvc.logger

    handlers = [
        handler
        for name in ("dvc", "dvc_objects", "dvc_data")
        for handler in logging.getLogger(name).handlers
        if isinstance(handler, dvc.logger.LoggerHandler)
    ]
    streams = [(handler, handler.stream, handler.formatter.log_colors) for handler in handlers]
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(out, "w", encoding="utf-8") as stdout, open(err, "w", encoding="utf-8") as stderr:
        os.dup2(stdout.fileno(), 1)
        os.dup2(stderr.fileno(), 2)
        for handler in handlers:
            # DVC sends warnings and errors to stderr, the rest to stdout; no colours in files.
            handler.setStream(stderr if handler.level >= logging.WARNING else stdout)
            handler.formatter.log_colors = False
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                yield
        finally:
            stdout.flush()
            stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            for handler, stream, colors in streams:
                handler.setStream(stream)
                handler.formatter.log_colors = colors


def dvc_here(args: list[str], cwd: Path, environment: dict[str, str]) -> subprocess.CompletedProcess:
    """``dvc <args>`` in ``cwd`` through DVC's own entry point (``dvc.cli.main``, what the
    ``dvc`` command runs) in this process, as DVC's own tests do: the stages it runs are
    processes of their own as always, but DVC's start-up (a second or more per command) is
    paid once per test process. Its exit status, stdout and stderr as a finished process's."""
    from dvc.cli import main

    # DVC_TEST: what DVC's tests set, so that DVC writes JSON to the sys.stdout of the moment.
    with tempfile.TemporaryDirectory() as folder:
        out, err = Path(folder, "stdout"), Path(folder, "stderr")
        with (
            _environment(environment | {"DVC_TEST": "1"}),
            contextlib.chdir(cwd),
            _standard_streams_to(out, err),
        ):
            returncode = main(list(args))
        return subprocess.CompletedProcess(["dvc", *args], returncode, out.read_text(), err.read_text())


def git(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run(["git", *args], cwd)


def use_private_site_cache(repo: Path, site_cache: Path) -> None:
    """Keep DVC's per-repository site cache out of /var/tmp (config.local is git-ignored)."""
    (repo / ".dvc" / "config.local").write_text(f"[core]\n    site_cache_dir = {site_cache}\n")


def init_git(repo: Path) -> None:
    git("init", "-q", cwd=repo)
    git("config", "user.name", GIT_IDENTITY["GIT_AUTHOR_NAME"], cwd=repo)
    git("config", "user.email", GIT_IDENTITY["GIT_AUTHOR_EMAIL"], cwd=repo)
    git("config", "commit.gpgsign", "false", cwd=repo)


def commit_all(repo: Path, message: str) -> None:
    git("add", "-A", cwd=repo)
    git("commit", "-q", "--allow-empty", "-m", message, cwd=repo)


def copy_tracked_files(dest: Path, source: Path = ROOT) -> None:
    """Copy the files git tracks in ``source`` (as they are in its working tree) to ``dest``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=source, capture_output=True, check=True, env=env()
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        origin = source / rel
        if not origin.is_file():  # tracked but deleted in the working tree
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(origin, target)


def set_params(repo: Path, updates: dict[str, dict]) -> None:
    """Update sections of the copy's params.yaml (a shallow update per section)."""
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for section, values in updates.items():
        params[section].update(values)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def new_repo(base: Path, params: dict[str, dict] | None = None) -> Path:
    """A git repository under ``base`` holding a copy of the project, params updated, committed."""
    copy = base / "repo"
    copy.mkdir()
    copy_tracked_files(copy)
    init_git(copy)
    use_private_site_cache(copy, base / "dvc-site-cache")
    if params:
        set_params(copy, params)
    commit_all(copy, "copy of the repository")
    return copy


def clone_run(repo: Path, dest: Path) -> Path:
    """Copy a repository that has run, DVC cache included, without DVC's lock and temp files."""
    shutil.copytree(
        repo, dest, symlinks=True, ignore=lambda d, names: ["tmp"] if Path(d).name == ".dvc" else []
    )
    use_private_site_cache(dest, dest.parent / "dvc-site-cache")
    return dest


def read_json(path: Path):
    return json.loads(path.read_text())


def read_lock(repo: Path) -> dict:
    """The repository's dvc.lock, read with libyaml's parser (a seventh of the pure-Python
    parser's time on the default run's lock, which tests read after most DVC commands)."""
    return yaml.load((repo / "dvc.lock").read_text(), Loader=yaml.CSafeLoader)


def output_hashes(repo: Path) -> dict[str, str]:
    """Path -> md5 of every stage output recorded in the repository's dvc.lock."""
    lock = read_lock(repo)
    return {out["path"]: out["md5"] for stage in lock["stages"].values() for out in stage.get("outs", [])}


def stage_command(cmd: str, raw_params: dict) -> list[str]:
    """A stage's command as dvc.yaml gives it, ``${section.key}`` filled in from the params."""
    while "${" in cmd:
        start = cmd.index("${")
        end = cmd.index("}", start)
        value = raw_params
        for part in cmd[start + 2 : end].split("."):
            value = value[part]
        cmd = cmd[:start] + str(value) + cmd[end + 1 :]
    return shlex.split(cmd)


def run_stage(repo: Path, name: str) -> subprocess.CompletedProcess:
    """Run stage ``name`` of ``repo``'s dvc.yaml as ``dvc repro`` would, but in this process.

    The command (``python -m stages.<name> ...``, with the repository's params filled in) runs
    through the stages' own entry point, in ``repo``: a user mistake ends it with exit status 2
    and one ``error:`` line on stderr, where its log lines go too. No DVC and no new Python
    process: a fraction of a second instead of seconds, for tests of what the stage itself does.
    """
    from bankseg.errors import run_entry_point

    stage = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"][name]
    python, flag, module, *args = stage_command(
        stage["cmd"], yaml.safe_load((repo / "params.yaml").read_text())
    )
    assert (python, flag) == ("python", "-m"), stage["cmd"]
    main = importlib.import_module(module).main
    stdout, stderr = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(stderr)  # what run_entry_point's logging.basicConfig sets up
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    returncode = 0
    try:
        with contextlib.chdir(repo), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            run_entry_point(lambda: main(args))
    except SystemExit as exit_:
        returncode = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    return subprocess.CompletedProcess(
        [python, flag, module, *args], returncode, stdout.getvalue(), stderr.getvalue()
    )


def shared_folder(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder made once per test session by ``build(folder)``, whichever xdist worker asks
    first; the others wait for it. Read it, or copy it to change it: it is shared."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder, above each worker's own
    folder = base / "shared" / name
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{folder}.lock"):
        if not (folder / ".complete").exists():
            shutil.rmtree(folder, ignore_errors=True)  # what a failed attempt left
            folder.mkdir()
            build(folder)
            (folder / ".complete").touch()
    return folder
