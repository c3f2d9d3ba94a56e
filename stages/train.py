"""Stage train: fit K-means, keep segment ids and names of the reference, measure stability."""

import argparse

from bankseg.errors import run_entry_point
from bankseg.startup import loading_libraries


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", required=True)
    parser.add_argument("--features", required=True)
    parser.add_argument("--preprocessing", required=True)
    parser.add_argument("--elbow", required=True)
    parser.add_argument("--reference", required=True, help="segments whose ids and names persist")
    parser.add_argument("--model", required=True)
    parser.add_argument("--segments", required=True)
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--stability", required=True)
    parser.add_argument("--params", default="params.yaml", help="the settings (default: %(default)s)")
    args = parser.parse_args(argv)

    with loading_libraries():
        from pathlib import Path

        import scipy.special  # noqa: F401  (first: see bankseg/io/models.py)

        from bankseg.engines import engine_for
        from bankseg.engines.training import check_reference, resolve_n_clusters, warn, warn_unstable
        from bankseg.io.atomic import read_json, write_json
        from bankseg.io.models import load_model, save_model
        from bankseg.params import load_params
        from bankseg.paths import check_args
        from bankseg.segmentation.kmeans import build_model

    check_args(
        args,
        inputs=["customers", "features", "preprocessing", "elbow", "reference"],
        outputs=["model", "segments", "metrics", "stability"],
        params=args.params,
    )
    params = load_params(args.params)

    n_clusters = resolve_n_clusters(params.train.n_clusters, read_json(args.elbow))
    reference = check_reference(read_json(args.reference), args.reference)
    # DVC runs the stage in the project folder, where dvc.lock records the preprocessing.
    preprocessing = load_model(args.preprocessing, root=Path.cwd(), stage="train")
    with engine_for(params) as engine:
        trained = engine.train(
            features=args.features,
            customers=args.customers,
            preprocessing=preprocessing,
            reference=reference,
            params=params,
            n_clusters=n_clusters,
        )
    warn_unstable(trained.stability, trained.names)
    warn(trained.warnings)

    save_model(build_model(preprocessing, trained.kmeans), args.model)
    write_json(trained.record, args.segments)
    write_json(trained.stability, args.stability)
    write_json(trained.metrics, args.metrics)


if __name__ == "__main__":
    run_entry_point(main)
