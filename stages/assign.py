"""Stage assign: label the training customers and the new batch with the saved model."""

import argparse
import logging

from bankseg.errors import run_entry_point
from bankseg.startup import loading_libraries

log = logging.getLogger("assign")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--segments", required=True)
    parser.add_argument("--customers", required=True)
    parser.add_argument("--features", required=True, help="the customers' features from the featurize stage")
    parser.add_argument("--new", required=True)
    parser.add_argument("--out-customers", required=True)
    parser.add_argument("--out-new", required=True)
    parser.add_argument("--by-segment", required=True, help="folder for one CSV per segment of the new batch")
    parser.add_argument("--drift", required=True, help="JSON metrics: the new batch against training")
    parser.add_argument("--params", default="params.yaml", help="the settings (default: %(default)s)")
    args = parser.parse_args(argv)

    with loading_libraries():
        from pathlib import Path

        import scipy.special  # noqa: F401  (first: see bankseg/io/models.py)

        from bankseg.engines import engine_for
        from bankseg.io.atomic import read_json, write_csv, write_json
        from bankseg.io.models import load_model
        from bankseg.params import load_params
        from bankseg.paths import check_args
        from bankseg.reporting.drift import drift_report
        from bankseg.segmentation.assignment import read_segment_names, split_by_segment

    check_args(
        args,
        inputs=["model", "segments", "customers", "features", "new"],
        outputs=["out_customers", "out_new", "by_segment", "drift"],
        folders=["by_segment"],
        params=args.params,
    )
    params = load_params(args.params)

    # DVC runs the stage in the project folder, where dvc.lock records the model.
    model = load_model(args.model, root=Path.cwd(), stage="assign")
    names = read_segment_names(read_json(args.segments))
    with engine_for(params) as engine:
        assigned = engine.assign(
            customers=args.customers,
            new=args.new,
            features=args.features,
            model=model,
            names=names,
            params=params,
            random_state=params.elbow.random_state,
        )
        engine.write_csv(assigned.customers, args.out_customers)
    sample = assigned.drift
    drift = drift_report(
        sample.training,
        sample.new,
        sample.training_segments,
        sample.new_segments,
        names,
        params.features,
        params.drift,
    )
    drift |= sample.counts
    for warning in drift["warnings"]:
        log.warning("drift in the new customers: %s", warning)
    write_csv(assigned.new, args.out_new)
    folder = Path(args.by_segment)
    for stale in folder.glob("segment_*.csv"):  # from an earlier run with other segments
        if stale.stem.removeprefix("segment_") not in {str(s) for s in names}:
            stale.unlink()
    for segment, part in split_by_segment(assigned.new, names).items():
        write_csv(part, folder / f"segment_{segment}.csv")
    write_json(drift, args.drift)


if __name__ == "__main__":
    run_entry_point(main)
