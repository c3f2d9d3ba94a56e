"""Stage featurize: fit the encoding and scaling on the training customers and save it."""

import argparse

from bankseg.errors import run_entry_point
from bankseg.startup import loading_libraries


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", required=True)
    parser.add_argument("--preprocessing", required=True)
    parser.add_argument("--features", required=True)
    parser.add_argument("--params", default="params.yaml", help="the settings (default: %(default)s)")
    args = parser.parse_args(argv)

    with loading_libraries():
        import scipy.special  # noqa: F401  (first: see bankseg/io/models.py)

        from bankseg.engines import engine_for
        from bankseg.io.models import save_model
        from bankseg.params import load_params
        from bankseg.paths import check_args

    check_args(args, inputs=["customers"], outputs=["preprocessing", "features"], params=args.params)
    params = load_params(args.params)

    with engine_for(params) as engine:
        fitted = engine.featurize(
            customers=args.customers, features=params.features, featurize=params.featurize
        )
        save_model(fitted.preprocessing, args.preprocessing)
        engine.write_parquet(fitted.features, args.features)


if __name__ == "__main__":
    run_entry_point(main)
