"""Stage elbow: score a range of K and suggest one."""

import argparse

from bankseg.errors import run_entry_point
from bankseg.startup import loading_libraries


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--features", required=True)
    parser.add_argument("--scores", required=True)
    parser.add_argument("--figure", required=True)
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--params", default="params.yaml", help="the settings (default: %(default)s)")
    args = parser.parse_args(argv)

    with loading_libraries():
        from bankseg.engines import engine_for
        from bankseg.io.atomic import save_figure, write_json
        from bankseg.params import load_params
        from bankseg.paths import check_args
        from bankseg.reporting.plots import elbow_figure
        from bankseg.segmentation.choosing_k import choose_k

    check_args(args, inputs=["features"], outputs=["scores", "figure", "metrics"], params=args.params)
    params = load_params(args.params)

    with engine_for(params) as engine:
        sample = engine.elbow_sample(
            features=args.features,
            sample_size=params.elbow.sample_size,
            random_state=params.elbow.random_state,
        )
    scores, suggestion = choose_k(sample, params.elbow)
    write_json(scores.to_dict(orient="records"), args.scores)
    save_figure(elbow_figure(scores, suggestion), args.figure)
    write_json(suggestion, args.metrics)


if __name__ == "__main__":
    run_entry_point(main)
