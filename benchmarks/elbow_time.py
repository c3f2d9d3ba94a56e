"""Time the elbow stage (all six criteria) on N generated customers.

Generates N customers with the built-in generator, cleans and featurizes them with the
repository's params.yaml (in this process, not timed), writes the features to a temporary
Parquet file, then runs the real stage command ``python -m stages.elbow`` on it and prints
its wall time, peak memory and suggestion.

Usage::

    python benchmarks/elbow_time.py                    # 1,000,000 customers
    python benchmarks/elbow_time.py --n-customers 200000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bankseg.data.cleaning import clean_customers  # noqa: E402
from bankseg.data.generate import generate_customers  # noqa: E402
from bankseg.params import load_params  # noqa: E402
from bankseg.segmentation.encoding import fit_preprocessing  # noqa: E402

CHUNK = 200_000


def features_of(n: int, params) -> pd.DataFrame:
    """Scaled features of ``n`` generated customers (generated in chunks of distinct seeds)."""
    parts = []
    for start in range(0, n, CHUNK):
        raw, _ = generate_customers(min(CHUNK, n - start), seed=start + 1, first_id=start)
        parts.append(clean_customers(raw, params, source="generated").kept)
    customers = pd.concat(parts, ignore_index=True)
    _, X = fit_preprocessing(customers, params.features, params.prepare.missing, params.featurize)
    return X


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n-customers", type=int, default=1_000_000)
    args = parser.parse_args()
    params = load_params(ROOT / "params.yaml")

    start = time.perf_counter()
    X = features_of(args.n_customers, params)
    print(
        f"generated and featurized {len(X):,} customers x {X.shape[1]} features in {time.perf_counter() - start:.1f} s"
    )

    with tempfile.TemporaryDirectory(prefix="bankseg-elbow-") as tmp:
        tmp = Path(tmp)
        X.to_parquet(tmp / "features.parquet")
        cmd = [
            sys.executable, "-m", "stages.elbow", "--features", str(tmp / "features.parquet"),
            "--scores", str(tmp / "elbow.json"), "--figure", str(tmp / "elbow.png"), "--metrics", str(tmp / "metrics.json"),
        ]  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        subprocess.run(
            cmd, cwd=ROOT, check=True, capture_output=True, env=os.environ | {"DVC_NO_ANALYTICS": "1"}
        )
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        metrics = json.loads((tmp / "metrics.json").read_text())

    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, numpy {np.__version__}")
    print(
        f"elbow stage on {args.n_customers:,} customers (sweep sample {metrics['sample_size']:,}, "
        f"K {params.elbow.k_min}-{params.elbow.k_max}, all criteria): {seconds:.1f} s wall, "
        f"peak memory {max(peak, before) / 1024:.0f} MB"
    )
    print(f"suggested K = {metrics['suggested_k']} ({metrics['reason']})")
    print("choices: " + ", ".join(f"{k} {v}" for k, v in metrics["choices"].items()))


if __name__ == "__main__":
    main()
