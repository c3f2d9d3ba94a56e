"""Time the pipeline with ``engine: spark``, stage by stage, on a fresh copy of the repository.

Like ``pipeline_time.py`` (whose helpers it uses), but with ``engine: spark`` (pyspark and
Java 17+ needed) and each stage run once. Each time includes DVC's and Spark's start-up.

Usage::

    python benchmarks/spark_time.py --n-customers 1000000
    SPARK_MASTER=spark://host:7077 python benchmarks/spark_time.py   # on a cluster
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline_time import (  # noqa: E402
    ROOT,
    STAGES,
    CommandFailed,
    machine_description,
    prepare_copy,
    run,
    work_copy,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time `dvc repro` per stage with engine: spark.")
    parser.add_argument("--n-customers", type=int, metavar="N", help="override generate.n_customers")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copy and print its path")
    args = parser.parse_args(argv)
    with work_copy("bankseg-spark-bench-", args.keep) as workdir:
        repo = workdir / "repo"
        try:
            generate = prepare_copy(
                ROOT,
                repo,
                workdir / "dvc-site-cache",
                {} if args.n_customers is None else {"n_customers": args.n_customers},
                engine="spark",
            )
            times = {}
            for stage in STAGES:
                print(f"running {stage} ...", file=sys.stderr, flush=True)
                times[stage] = run(["dvc", "repro", "--single-item", "--force", stage], repo)
                print(f"  {stage}: {times[stage]:.1f} s", file=sys.stderr, flush=True)
            spark_total = sum(times[s] for s in ("featurize", "elbow", "train", "assign"))
            print(f"\nbankseg pipeline, engine: spark, {generate['n_customers']:,} customers")
            print(machine_description() + "\n")
            for stage, seconds in times.items():
                print(f"{stage:<10} {seconds:8.1f} s")
            print(f"{'all':<10} {sum(times.values()):8.1f} s (the Spark stages: {spark_total:.1f} s)")
        except CommandFailed as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
