"""How the pipeline scales: wall time and peak memory per stage for N customers.

For each N given, the script copies the files git tracks into a temporary folder (as
``pipeline_time.py`` does), sets ``generate.n_customers`` to N and
``generate.n_new_customers`` to N / 4 (``--new-fraction``), and runs one real ``dvc repro``
from a clean state. While it runs, every stage process (``python -m stages.<name>``) is
watched: its wall time (process start to exit) and its peak resident memory (``VmHWM``
from ``/proc``, the kernel's high-water mark). DVC's own time (start-up, hashing, caching)
is the rest of the total. After the run, each stage's start-up (starting Python and
importing its modules, which every stage pays whatever N) is timed apart.

In the same run and on the same generated files it then times:

- a plain reference script doing the minimum work by hand in one process: read the needed
  columns of the CSV, drop invalid rows, encode and min-max scale the features, fit
  scikit-learn's KMeans with the pipeline's K and ``train`` settings, predict the new
  customers, average the features by segment and write the assignments;
- scoring the N generated customers from the command line (``python -m bankseg assign``).

Besides the ratio of the totals, the table gives the ratio of the work alone: the pipeline
without ``generate``, the stages' start-ups and DVC's own time, against the reference
without its start-up. Given several N, the script ends with how much
each time grows from one N to the next.

Usage::

    python benchmarks/scale.py 100000 1000000
    python benchmarks/scale.py 10000000 --no-reference

Linux only (it reads ``/proc``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline_time import (  # noqa: E402
    STAGES,
    CommandFailed,
    _env,
    machine_description,
    prepare_copy,
    work_copy,
)

ROOT = Path(__file__).resolve().parent.parent
POLL_SECONDS = 0.01
STARTUP_RUNS = 3
# What the reference script imports (see ``reference_run``).
REFERENCE_IMPORTS = "numpy, pandas, pyarrow, pyarrow.csv, sklearn.cluster, yaml"


@dataclass
class Watched:
    """One process seen while polling."""

    name: str
    start: float
    end: float
    peak_bytes: int = 0
    cpu_seconds: float = 0.0


@dataclass
class Measurement:
    wall: float
    peak_bytes: int  # the largest peak of any single process of the command
    processes: dict[str, Watched] = field(default_factory=dict)


def _peak_rss(pid: int) -> int:
    """The kernel's high-water mark of a process's resident memory, in bytes (0 if gone)."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _stage_name(cmdline: list[str]) -> str | None:
    if "--reference-run" in cmdline:
        return "reference"
    for i, arg in enumerate(cmdline[:-1]):
        if arg == "-m" and cmdline[i + 1].startswith(("stages.", "bankseg")):
            return cmdline[i + 1].removeprefix("stages.")
    return None


def run_watched(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> Measurement:
    """Run ``cmd``, polling its process tree; fail with its output if it fails."""
    log_path = cwd / f".bench-{int(time.time() * 1000)}.log"
    with open(log_path, "w") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env or _env(), stdout=log, stderr=subprocess.STDOUT)
        root = psutil.Process(proc.pid)
        watched: dict[str, Watched] = {}
        names: dict[int, str | None] = {}
        pids: dict[str, set[int]] = {}
        cpu_by_pid: dict[int, float] = {}
        overall_peak = 0
        stop = threading.Event()

        def poll() -> None:
            nonlocal overall_peak
            while not stop.is_set():
                try:
                    tree = [root, *root.children(recursive=True)]
                except psutil.NoSuchProcess:
                    tree = []
                now = time.time()
                for p in tree:
                    peak = _peak_rss(p.pid)
                    overall_peak = max(overall_peak, peak)
                    if names.get(p.pid) is None:  # until named: a shell may yet exec a stage
                        try:
                            names[p.pid] = _stage_name(p.cmdline())
                        except psutil.Error:
                            continue
                    name = names[p.pid]
                    if name is None:
                        continue
                    # A stage may pass through several processes (e.g. pyenv's shims exec
                    # python in a child): a stage's figures cover all of them.
                    w = watched.setdefault(name, Watched(name, now, now))
                    try:
                        cpu = p.cpu_times()
                        cpu_by_pid[p.pid] = cpu.user + cpu.system
                        w.cpu_seconds = sum(cpu_by_pid[q] for q in pids.get(name, set()) | {p.pid})
                    except psutil.Error:
                        pass
                    pids.setdefault(name, set()).add(p.pid)
                    w.end = now
                    w.peak_bytes = max(w.peak_bytes, peak)
                stop.wait(POLL_SECONDS)

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        returncode = proc.wait()
        wall = time.perf_counter() - start
        stop.set()
        thread.join()
    output = log_path.read_text(errors="replace")
    log_path.unlink()
    if returncode != 0:
        raise CommandFailed(f"`{' '.join(cmd)}` exited with {returncode}\n{output[-4000:]}")
    processes = {w.name: w for w in sorted(watched.values(), key=lambda w: w.start)}
    return Measurement(wall, overall_peak, processes)


def startup_seconds(imports: str, cwd: Path) -> float:
    """Median wall time of starting Python and importing ``imports`` (a stage's fixed cost)."""
    times = []
    for _ in range(STARTUP_RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {imports}"], cwd=cwd, env=_env(), check=True)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


# --- the reference: the minimum work by hand, in one process ------------------------------


def reference_run(repo: Path, n_clusters: int, out: Path) -> None:
    """Read, clean, encode, scale, fit K-means, predict, profile, write: nothing else."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv
    from sklearn.cluster import KMeans

    params = yaml.safe_load((repo / "params.yaml").read_text())
    features = params["features"]
    id_column = params["data"]["id_column"]
    numeric = list(features["numeric"])
    categorical = features["categorical"]
    usecols = [id_column, *numeric, *categorical]

    def read(path: Path) -> pd.DataFrame:
        df = pd.read_csv(path, usecols=usecols, dtype=str, keep_default_na=False, na_values=[""])
        for column in numeric:
            df[column] = pd.to_numeric(df[column], errors="coerce")
        ok = df[id_column].notna()
        for column, (low, high) in params["prepare"]["ranges"].items():
            ok &= ~(df[column] < low) & ~(df[column] > high if high is not None else False)
        return df[ok & ~df[id_column].duplicated()].reset_index(drop=True)

    def encode(df: pd.DataFrame, fill: dict) -> np.ndarray:
        columns = []
        for column, spec in features["numeric"].items():
            values = df[column].fillna(fill[column]).to_numpy(dtype="float64")
            columns.append(np.log1p(values) if spec.get("log") else values)
        for column, spec in categorical.items():
            values = df[column].fillna(fill[column])
            if spec["encoding"] == "onehot":
                columns += [(values == v).to_numpy(dtype="float64") for v in fill[column + "_values"]]
            else:
                order = ["No", "Yes"] if spec["encoding"] == "yes_no" else [str(v) for v in spec["order"]]
                columns.append(
                    values.map({v: float(i) for i, v in enumerate(order)}).to_numpy(dtype="float64")
                )
        return np.column_stack(columns)

    customers = read(repo / params["data"]["raw"])
    fill = {c: customers[c].median() for c in numeric}
    for column, spec in categorical.items():
        fill[column] = customers[column].mode().iloc[0]
        if spec["encoding"] == "onehot":
            fill[column + "_values"] = sorted(customers[column].dropna().unique())
    X = encode(customers, fill)
    low, high = X.min(axis=0), X.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    lo, hi = params["featurize"]["feature_range"]
    X = lo + (X - low) / span * (hi - lo)
    train = params["train"]
    kmeans = KMeans(
        n_clusters=n_clusters,
        n_init=train["n_init"],
        max_iter=train["max_iter"],
        tol=train["tol"],
        algorithm=train["algorithm"],
        random_state=train["random_state"],
    ).fit(X)
    new = read(repo / params["data"]["new"])
    new_labels = kmeans.predict(lo + (encode(new, fill) - low) / span * (hi - lo))
    profile = customers[numeric].assign(segment=kmeans.labels_).groupby("segment").agg(["mean", "median"])
    out.mkdir(parents=True, exist_ok=True)
    for name, frame, labels in (("customers", customers, kmeans.labels_), ("new", new, new_labels)):
        table = pa.table({id_column: frame[id_column].to_numpy(), "segment": labels})
        pacsv.write_csv(table, out / f"{name}.csv")
    (out / "profile.txt").write_text(profile.to_string())


# --- report -------------------------------------------------------------------------------


def _gb(n_bytes: int) -> str:
    return f"{n_bytes / 1e9:.2f}"


def print_report(n: int, n_new: int, k: int, pipeline: Measurement, reference: Measurement | None,
                 cli: Measurement | None, startup: dict[str, float], machine: str) -> None:  # fmt: skip
    """The table; ``startup``: each stage's (and the reference's) start-up time, measured apart."""

    def started(name: str) -> str:
        return f"{startup[name]:.1f}" if name in startup else ""

    stage_sum = cpu_sum = 0.0
    rows = []
    for stage in STAGES:
        w = pipeline.processes.get(stage)
        if w is None:
            rows.append((stage, "-", "-", "-", "-"))
            continue
        stage_sum += w.end - w.start
        cpu_sum += w.cpu_seconds
        rows.append(
            (stage, f"{w.end - w.start:.1f}", started(stage), f"{w.cpu_seconds:.1f}", _gb(w.peak_bytes))
        )
    dvc = pipeline.wall - stage_sum
    rows.append(("dvc itself (start-up, hashing, caching)", f"{dvc:.1f}", "", "", ""))
    stage_startups = sum(startup.get(s, 0.0) for s in STAGES if s in pipeline.processes)
    rows.append(
        (
            "**whole pipeline (`dvc repro`)**",
            f"**{pipeline.wall:.1f}**",
            f"{stage_startups:.1f}" if startup else "",
            f"{cpu_sum:.1f}",
            f"**{_gb(pipeline.peak_bytes)}**",
        )
    )
    for label, name, m in (
        ("reference script (one process)", "reference", reference),
        (f"`python -m bankseg assign`, {n:,} rows", "bankseg", cli),
    ):
        if m is not None:
            cpu = sum(w.cpu_seconds for w in m.processes.values())
            rows.append((label, f"{m.wall:.1f}", started(name), f"{cpu:.1f}", _gb(m.peak_bytes)))
    if reference is not None:
        rows.append(("pipeline / reference", f"{pipeline.wall / reference.wall:.1f}x", "", "", ""))
        if "generate" in pipeline.processes:
            # The reference reads the files `generate` wrote: on a bank's own file there is
            # nothing to generate.
            without = _without_generate(pipeline)
            rows.append(
                ("pipeline without generate / reference", f"{without / reference.wall:.1f}x", "", "", "")
            )
            if startup:
                # The work alone: without generate, the start-ups and DVC's own time on the
                # pipeline's side, without its one start-up on the reference's.
                work = without - (stage_startups - startup.get("generate", 0.0)) - dvc
                reference_work = reference.wall - startup["reference"]
                rows.append(
                    (
                        "pipeline's work (without generate, start-ups, dvc) / reference's work",
                        _ratio(work, reference_work),
                        "",
                        "",
                        "",
                    )
                )
    print()
    print(f"### {n:,} customers + {n_new:,} new, K = {k}")
    print()
    print("| step | wall s | of which start-up s | CPU s | peak RSS GB |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    if startup:
        print(
            "start-up: starting Python and importing the step's modules, nothing else "
            f"(median of {STARTUP_RUNS} runs of `python -c 'import ...'`, measured after the run)"
        )
    print(machine.replace("\n", "  \n"))
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    sys.stdout.flush()


def _ratio(a: float, b: float) -> str:
    """``a / b`` as "2.0x", or "-" where ``b`` is within the noise of timing (a tenth of a second)."""
    return f"{a / b:.1f}x" if b >= 0.1 else "-"


def _without_generate(pipeline: Measurement) -> float:
    generate = pipeline.processes.get("generate")
    return pipeline.wall - (0.0 if generate is None else generate.end - generate.start)


def print_growth(timings: list[tuple[int, float, float]]) -> None:
    """How much each time grows from one N to the next: ``(N, pipeline without generate, reference)``."""
    for (n0, pipe0, ref0), (n1, pipe1, ref1) in itertools.pairwise(timings):
        print(
            f"from {n0:,} to {n1:,} customers the pipeline without generate takes {pipe1 - pipe0:.1f} s "
            f"more and the reference {ref1 - ref0:.1f} s more: {_ratio(pipe1 - pipe0, ref1 - ref0)}"
        )


def bench(n: int, args: argparse.Namespace, machine: str, timings: list[tuple[int, float, float]]) -> int:
    """Run and report one N; append ``(N, pipeline without generate, reference)`` to ``timings``."""
    n_new = max(1, int(n * args.new_fraction))
    with work_copy("bankseg-scale-", args.keep, args.tmp) as workdir:
        repo = workdir / "repo"
        try:
            generate = {"n_customers": n, "n_new_customers": n_new}
            prepare_copy(args.repo.resolve(), repo, workdir / "dvc-site-cache", generate)
            print(f"{n:,} customers: dvc repro in {repo} ...", file=sys.stderr, flush=True)
            pipeline = run_watched(["dvc", "repro"], repo)
            k = json.loads((repo / "metrics" / "train.json").read_text())["n_clusters"]
            reference = cli = None
            if not args.no_reference:
                print(f"{n:,} customers: reference script ...", file=sys.stderr, flush=True)
                reference = run_watched(
                    [sys.executable, str(Path(__file__).resolve()), "--reference-run", str(repo), str(k)],
                    repo,
                )
            if not args.no_cli:
                print(f"{n:,} customers: python -m bankseg assign ...", file=sys.stderr, flush=True)
                cli = run_watched(
                    [
                        sys.executable,
                        "-m",
                        "bankseg",
                        "assign",
                        "data/raw/customers.csv",
                        str(workdir / "scored.csv"),
                    ],
                    repo,
                )
            startup = {}
            if not args.no_startup:
                print(f"{n:,} customers: start-up times ...", file=sys.stderr, flush=True)
                startup = {s: startup_seconds(f"stages.{s}", repo) for s in STAGES}
                if reference is not None:
                    startup["reference"] = startup_seconds(REFERENCE_IMPORTS, repo)
                if cli is not None:
                    startup["bankseg"] = startup_seconds("bankseg.__main__", repo)
            print_report(n, n_new, k, pipeline, reference, cli, startup, machine)
            if reference is not None:
                timings.append((n, _without_generate(pipeline), reference.wall))
        except CommandFailed as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--reference-run"]:
        reference_run(Path(argv[1]), int(argv[2]), Path(argv[1]) / "reference-out")
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n_customers", type=int, nargs="+", metavar="N", help="customers to generate")
    parser.add_argument(
        "--new-fraction", type=float, default=0.25, help="new customers per customer (%(default)s)"
    )
    parser.add_argument("--repo", type=Path, default=ROOT, help="repository to copy (default: %(default)s)")
    parser.add_argument("--tmp", type=Path, default=None, help="folder for the temporary copies")
    parser.add_argument("--no-reference", action="store_true", help="skip the reference script")
    parser.add_argument("--no-cli", action="store_true", help="skip command-line scoring")
    parser.add_argument("--no-startup", action="store_true", help="skip timing each step's start-up")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copies")
    args = parser.parse_args(argv)
    if min(args.n_customers) < 1000:
        parser.error("N must be at least 1000")
    machine = machine_description() + f"\nmemory:  {psutil.virtual_memory().total / 2**30:.0f} GiB"
    status = 0
    timings: list[tuple[int, float, float]] = []
    for n in sorted(args.n_customers):
        status |= bench(n, args, machine, timings)
    print_growth(timings)
    return status


if __name__ == "__main__":
    sys.exit(main())
