"""Time the DVC pipeline, stage by stage, on a fresh copy of the repository.

The script copies the files git tracks into a temporary folder, removes ``dvc.lock`` and every
output the pipeline declares (a clean state), and then:

1. runs ``dvc repro --single-item --force <stage>`` for each stage in DAG order, timing each
   call (so each time includes DVC's own start-up, hashing and caching of that stage);
2. runs a full ``dvc repro --force`` and times it as a whole.

Usage::

    python benchmarks/pipeline_time.py                      # params.yaml as committed
    python benchmarks/pipeline_time.py --n-customers 50000  # override generate.n_customers
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
STAGES = ["generate", "prepare", "featurize", "elbow", "train", "assign", "analyze"]


class CommandFailed(RuntimeError):
    pass


def _env() -> dict[str, str]:
    env = os.environ.copy()
    env["DVC_NO_ANALYTICS"] = "1"
    # `dvc` and the stages' `python` are this interpreter's, started directly: not a version
    # manager's shim (pyenv's adds about 0.07 s to every command), not another Python.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("GIT_AUTHOR_NAME", "benchmark")
    env.setdefault("GIT_AUTHOR_EMAIL", "benchmark@example.invalid")
    env.setdefault("GIT_COMMITTER_NAME", "benchmark")
    env.setdefault("GIT_COMMITTER_EMAIL", "benchmark@example.invalid")
    return env


def run(cmd: list[str], cwd: Path) -> float:
    """Run ``cmd`` and return its wall time in seconds; raise with its output on failure."""
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise CommandFailed(
            f"`{' '.join(cmd)}` exited with {result.returncode}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
        )
    return elapsed


def copy_tracked_files(source: Path, dest: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=source, capture_output=True, check=True)
    for rel in filter(None, listed.stdout.decode().split("\0")):
        path = source / rel
        if path.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest / rel)


def declared_outputs(repo: Path) -> list[str]:
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    paths = []
    for stage in stages.values():
        for kind in ("outs", "metrics", "plots"):
            for item in stage.get(kind, []):
                paths.append(next(iter(item)) if isinstance(item, dict) else item)
    return paths


def prepare_copy(source: Path, dest: Path, site_cache: Path, generate: dict | None = None, **top) -> dict:
    """Copy the repository to ``dest`` in a clean state; return its ``generate`` params.

    ``generate`` updates the generate section of params.yaml, ``top`` top-level params
    (``engine="spark"``).
    """
    copy_tracked_files(source, dest)
    run(["git", "init", "-q"], dest)
    run(["git", "add", "-A"], dest)
    run(["git", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "benchmark copy"], dest)
    # Keep DVC's per-repository site cache in the temporary folder, not in /var/tmp.
    (dest / ".dvc" / "config.local").write_text(
        f"[core]\n    site_cache_dir = {site_cache}\n    check_update = false\n"
    )

    params_path = dest / "params.yaml"
    params = yaml.safe_load(params_path.read_text())
    params["generate"].update(generate or {})
    params.update(top)
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))

    (dest / "dvc.lock").unlink(missing_ok=True)
    for rel in declared_outputs(dest):
        path = dest / rel
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    return params["generate"]


@contextmanager
def work_copy(prefix: str, keep: bool, tmp: Path | None = None) -> Iterator[Path]:
    """A temporary folder with an empty ``repo`` folder in it, removed after unless ``keep``."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix, dir=tmp))
    (workdir / "repo").mkdir()
    try:
        yield workdir
    finally:
        if keep:
            print(f"kept the copy in {workdir / 'repo'}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    dvc_version = subprocess.run(
        ["dvc", "--version"], capture_output=True, text=True, env=_env()
    ).stdout.strip()
    return (
        f"machine: {platform.platform()}\n"
        f"cpu:     {os.cpu_count()} CPUs ({usable} usable), {cpu}\n"
        f"python:  {platform.python_version()}, dvc {dvc_version}"
    )


def print_table(generate: dict, stage_times: dict[str, float], full: float, machine: str) -> None:
    rows = [(stage, f"{seconds:.2f}") for stage, seconds in stage_times.items()]
    total = sum(stage_times.values())
    totals = [("sum of the stages", f"{total:.2f}"), ("full dvc repro --force", f"{full:.2f}")]
    width = max(len(label) for label, _ in rows + totals)
    line = f"{'-' * width}  {'-' * 8}"
    print()
    print(
        f"bankseg pipeline, {generate['n_customers']:,} customers + {generate['n_new_customers']:,} new "
        f"(seed {generate['seed']})"
    )
    print(machine)
    print()
    print(f"{'stage':<{width}}  {'seconds':>8}")
    print(line)
    for label, value in rows:
        print(f"{label:<{width}}  {value:>8}")
    print(line)
    for label, value in totals:
        print(f"{label:<{width}}  {value:>8}")
    print()
    print("Each stage time is one `dvc repro --single-item --force <stage>` call, DVC overhead included.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(
            "Time `dvc repro` per stage and in total on a fresh copy of the repository's "
            "git-tracked files (dvc.lock and all outputs removed first)."
        )
    )
    parser.add_argument(
        "--n-customers",
        type=int,
        metavar="N",
        help="override generate.n_customers (default: the value in params.yaml)",
    )
    parser.add_argument("--repo", type=Path, default=ROOT, help="repository to copy (default: %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy and print its path")
    args = parser.parse_args(argv)
    if args.n_customers is not None and args.n_customers < 1:
        parser.error("--n-customers must be at least 1")

    with work_copy("bankseg-bench-", args.keep) as workdir:
        repo = workdir / "repo"
        try:
            generate = prepare_copy(
                args.repo.resolve(),
                repo,
                workdir / "dvc-site-cache",
                {} if args.n_customers is None else {"n_customers": args.n_customers},
            )
            stage_times = {}
            for stage in STAGES:
                print(f"running {stage} ...", file=sys.stderr, flush=True)
                stage_times[stage] = run(["dvc", "repro", "--single-item", "--force", stage], repo)
            print("running the full pipeline ...", file=sys.stderr, flush=True)
            full = run(["dvc", "repro", "--force"], repo)
            print_table(generate, stage_times, full, machine_description())
        except CommandFailed as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
