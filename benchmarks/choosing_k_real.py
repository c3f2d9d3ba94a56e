"""Measure the criteria for choosing K on real customer files and on the built-in customers.

The features are the pipeline's own: each data set is cleaned and featurized with its params
(``examples/bank-marketing/params.yaml``, ``examples/credit-cards/params.yaml`` and the
project's ``params.yaml``) by :mod:`bankseg.data.cleaning` and :func:`bankseg.segmentation.encoding.fit_preprocessing`.

Then runs :func:`bankseg.segmentation.choosing_k.sweep` for each data set, each number of bootstrap
resamples and several seeds, and prints per K the quality criteria, the stability (mean and
spread across seeds for each number of resamples), the seconds per sweep, and the K that each
``elbow.method`` suggests. On the built-in customers it also prints the adjusted Rand index
of a K-means fit at the suggested K against the planted personas.

The real files are read from ``../shared/real/`` (seen from the project's root) or the
folder given with ``--real``; without them only the built-in customers are measured. This
prints figures; it tests nothing.

Usage::

    python benchmarks/choosing_k_real.py
    python benchmarks/choosing_k_real.py --datasets bank --bootstraps 5 20 --seeds 0 1
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bankseg.data.cleaning import clean_customers, needed_columns  # noqa: E402
from bankseg.data.generate import generate_customers  # noqa: E402
from bankseg.data.reading import read_customers  # noqa: E402
from bankseg.params import K_METHODS, ElbowParams, load_params  # noqa: E402
from bankseg.segmentation.choosing_k import suggest_k, sweep  # noqa: E402
from bankseg.segmentation.encoding import fit_preprocessing, log_choices  # noqa: E402
from bankseg.segmentation.sampling import seeded_sample  # noqa: E402

REAL = ROOT.parent / "shared" / "real"  # the real files stay outside the project
K_MIN, K_MAX = 2, 10
N_INIT = 5
SILHOUETTE_SAMPLE = 5000
SAMPLE_SIZE = 20000


def pipeline_features(params_file: Path, raw: pd.DataFrame, source: str) -> tuple[np.ndarray, list[str]]:
    """The scaled features ``featurize`` makes of ``raw`` with the params of ``params_file``,
    and the numeric columns it takes the log of."""
    params = load_params(params_file)
    kept = clean_customers(raw, params, source=source).kept
    logs = log_choices(kept, params.features, params.featurize.skew_threshold)
    _, X = fit_preprocessing(kept, params.features, params.featurize)
    return X.to_numpy(), [c for c, choice in logs.items() if choice]


def real_file(folder: Path, example: str, file: str) -> tuple[np.ndarray, list[str]]:
    params = load_params(ROOT / "examples" / example / "params.yaml")
    raw = read_customers(folder / file, needed_columns(params))
    return pipeline_features(ROOT / "examples" / example / "params.yaml", raw, file)


def bank_marketing(folder: Path) -> tuple[np.ndarray, list[str]]:
    """Who the customers are; not the campaign-call fields nor the outcome."""
    return real_file(folder, "bank-marketing", "bank-marketing-full.csv")


def card_holders(folder: Path) -> tuple[np.ndarray, list[str]]:
    return real_file(folder, "credit-cards", "credit-card-holders.csv")


def built_in(n: int = 20000, seed: int = 42) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Features of the generated customers (cleaned as ``prepare`` cleans them) and their
    planted personas."""
    customers, personas = generate_customers(n, seed=seed)
    params = load_params(ROOT / "params.yaml")
    kept = clean_customers(customers, params, source="customers.csv").kept
    X, logged = pipeline_features(ROOT / "params.yaml", customers, "customers.csv")
    by_id = personas.set_index("customer_id")["persona"]
    truth = by_id.loc[kept["customer_id"].astype(int)].to_numpy()
    return X, logged, truth


def run_sweeps(X: np.ndarray, bootstraps: list[int], seeds: list[int]) -> dict[tuple[int, int], tuple]:
    """``(n_bootstrap, seed) -> (scores, seconds)``: one sweep each, on one fixed sample of rows.

    The rows are drawn once (seed 0) so that the spread across seeds is the criteria's own
    noise (starts and resamples), not a change of customers.
    """
    rows = X[seeded_sample(len(X), SAMPLE_SIZE, 0)]
    results = {}
    for n_bootstrap in bootstraps:
        for seed in seeds:
            start = time.perf_counter()
            scores = sweep(
                rows,
                k_min=K_MIN,
                k_max=K_MAX,
                n_init=N_INIT,
                random_state=seed,
                silhouette_sample=SILHOUETTE_SAMPLE,
                n_bootstrap=n_bootstrap,
            )
            results[n_bootstrap, seed] = scores, time.perf_counter() - start
    return results


def report(name: str, results: dict, bootstraps: list[int], seeds: list[int], truth=None, X=None) -> None:
    first = results[bootstraps[0], seeds[0]][0].set_index("k")
    table = first[["silhouette", "calinski_harabasz", "davies_bouldin", "gap"]].copy()
    table.columns = ["sil", "CH", "DB", "gap"]
    for n_bootstrap in bootstraps:
        runs = pd.concat([results[n_bootstrap, s][0].set_index("k")["stability"] for s in seeds], axis=1)
        table[f"stab{n_bootstrap}"] = runs.mean(axis=1)
        table[f"±{n_bootstrap}"] = runs.max(axis=1) - runs.min(axis=1)
    print(
        f"\n== {name}: criteria per K (quality at seed {seeds[0]}; stability: mean over seeds {seeds}, ± = max - min)"
    )
    print(table.round({"sil": 3, "CH": 0, "DB": 3, "gap": 3} | {c: 3 for c in table.columns[4:]}).to_string())
    print("n_bootstrap: seconds per sweep (mean), largest spread of stability over K")
    for n_bootstrap in bootstraps:
        seconds = np.mean([results[n_bootstrap, s][1] for s in seeds])
        print(f"  {n_bootstrap:>3}: {seconds:6.1f} s   spread {table[f'±{n_bootstrap}'].max():.3f}")
    print("suggested K (stability there) per method, n_bootstrap x seed:")
    for method in K_METHODS:
        cells = []
        for n_bootstrap in bootstraps:
            picks = []
            for seed in seeds:
                s = suggest_k(results[n_bootstrap, seed][0], method)
                edge = "!" if s.get("at_edge") else ""
                picks.append(f"{s['suggested_k']}{edge}({s.get('stability_at_k', float('nan')):.2f})")
            cells.append(f"B{n_bootstrap}: " + " ".join(picks))
        print(f"  {method:<18} " + " | ".join(cells))
    method, n_bootstrap = load_params(ROOT / "params.yaml").elbow.method, ElbowParams.n_bootstrap
    if (n_bootstrap, seeds[0]) in results:
        suggestion = suggest_k(results[n_bootstrap, seeds[0]][0], method)
        print(
            f"params.yaml's method {method}, n_bootstrap {n_bootstrap}, seed {seeds[0]}: {suggestion['reason']}"
        )
        for warning in suggestion["warnings"]:
            print(f"  warning: {warning}")
    if truth is not None:
        aris = []
        for k in range(K_MIN, K_MAX + 1):
            labels = KMeans(n_clusters=k, n_init=10, random_state=42).fit_predict(X)
            aris.append(f"K={k} {adjusted_rand_score(truth, labels):.3f}")
        print("ARI against the planted personas (K-means n_init 10 on all rows): " + ", ".join(aris))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", nargs="+", default=["built-in", "bank", "cards"])
    parser.add_argument("--bootstraps", nargs="+", type=int, default=[5, 10, 20, 40])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--real", type=Path, default=REAL, help="folder of the real files (default ../shared/real)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, numpy {np.__version__}")
    print(
        f"sweep: K {K_MIN}-{K_MAX}, n_init {N_INIT}, silhouette on {SILHOUETTE_SAMPLE:,}, up to {SAMPLE_SIZE:,} rows"
    )
    loaders = {"bank": bank_marketing, "cards": card_holders}
    for name in args.datasets:
        truth = None
        if name == "built-in":
            X, logged, truth = built_in()
        elif not args.real.is_dir():
            print(f"\n== {name}: skipped, the real files are absent (no folder {args.real.resolve()})")
            continue
        else:
            X, logged = loaders[name](args.real)
        print(f"\n{name}: {len(X):,} rows x {X.shape[1]} features; logged: {', '.join(logged) or 'none'}")
        results = run_sweeps(X, args.bootstraps, args.seeds)
        report(name, results, args.bootstraps, args.seeds, truth=truth, X=X if truth is not None else None)


if __name__ == "__main__":
    main()
