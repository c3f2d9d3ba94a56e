"""Stage analyze: profile each segment in business terms, write the report and plots."""

import argparse
import logging

from bankseg.errors import run_entry_point

log = logging.getLogger("analyze")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", required=True)
    parser.add_argument("--features", required=True)
    parser.add_argument("--assigned", required=True)
    parser.add_argument("--segments", required=True)
    parser.add_argument("--elbow", required=True, help="metrics of the elbow stage")
    parser.add_argument("--stability", required=True, help="stability metrics of the train stage")
    parser.add_argument("--report", required=True)
    parser.add_argument("--html", required=True, help="the report as one HTML file, figures embedded")
    parser.add_argument("--profiles", required=True, help="JSON with names, descriptions and figures")
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--quality", required=True, help="metrics of the prepare stage")
    parser.add_argument("--drift", required=True, help="new customers against the training customers")
    parser.add_argument("--elbow-plot", required=True, help="figure of the elbow stage, shown in the report")
    parser.add_argument("--fairness", required=True, help="segments against protected columns")
    parser.add_argument("--outcomes", required=True, help="outcome rates by segment")
    parser.add_argument("--profile-plot", required=True)
    parser.add_argument("--distributions-plot", required=True)
    parser.add_argument("--projection-plot", required=True)
    parser.add_argument("--params", default="params.yaml", help="the settings (default: %(default)s)")
    args = parser.parse_args(argv)

    import os
    from pathlib import Path

    import pandas as pd

    from bankseg.data.cleaning import selective_warnings
    from bankseg.io.atomic import read_json, save_figure, write_json, write_text
    from bankseg.params import load_params
    from bankseg.paths import check_args
    from bankseg.reporting.formatting import Formatter, whole_columns
    from bankseg.reporting.plots import distributions_figure, profile_heatmap, projection_figure
    from bankseg.reporting.profiling import (
        add_confidence,
        profile_metrics,
        profile_segments,
        segment_effects,
    )
    from bankseg.reporting.report import describe_segments, report_markdown
    from bankseg.reporting.report_html import embedded_images, report_html
    from bankseg.segmentation.assignment import read_segment_names
    from bankseg.segmentation.encoding import log_choices
    from bankseg.segmentation.evaluation import driver_warnings, fairness, outcomes

    check_args(
        args,
        inputs=[
            "customers",
            "features",
            "assigned",
            "segments",
            "elbow",
            "stability",
            "quality",
            "drift",
            "elbow_plot",
        ],
        outputs=[
            "report",
            "html",
            "profiles",
            "metrics",
            "fairness",
            "outcomes",
            "profile_plot",
            "distributions_plot",
            "projection_plot",
        ],
        params=args.params,
    )
    params = load_params(args.params)

    customers = pd.read_parquet(args.customers)
    segments = pd.read_csv(args.assigned, usecols=["segment"])["segment"]
    record = read_json(args.segments)
    names = read_segment_names(record)
    profile_columns = list(params.prepare.profile_columns)
    effects = segment_effects(
        customers, segments, params.features, profile_columns, strong_effect=params.segments.strong_effect
    )
    profile = profile_segments(customers, segments, params.features, profile_columns, names, effects)
    whole = whole_columns(customers, [f.column for f in params.features.numeric])
    formatter = Formatter(params.features, params.report, whole)
    profile["whole_numbers"] = whole
    profile = describe_segments(profile, params.features, formatter, strong=params.segments.strong_effect)
    elbow = read_json(args.elbow)
    profile = add_confidence(profile, elbow, read_json(args.stability))
    quality = read_json(args.quality)["customers"]
    fair = fairness(customers, segments, params)
    outcome = outcomes(customers, segments, params, names)
    drivers = record.get("drivers", {})
    warnings = (
        [w for w in fair.warnings if "used as a feature" in w]  # the report's very first lines
        + list(elbow.get("warnings", []))
        + driver_warnings(drivers, params)
        + [w for w in fair.warnings if "used as a feature" not in w]
        + outcome.warnings
        + selective_warnings(quality.get("rejected_vs_kept"))
    )
    for warning in warnings:
        log.warning("%s", warning)
    profile["drivers"] = drivers
    profile["evaluation"] = {
        "warnings": warnings,
        "fairness": fair.metrics,
        "outcomes": outcome.metrics,
        "quality": quality,
    }

    save_figure(
        profile_heatmap(effects, names, params.features, formatter, drivers.get("feature_shares")),
        args.profile_plot,
    )
    logs = log_choices(customers, params.features, params.featurize.skew_threshold)
    save_figure(
        distributions_figure(customers, segments, params.features, names, formatter, logs),
        args.distributions_plot,
    )
    save_figure(
        projection_figure(pd.read_parquet(args.features), segments, names, params.features),
        args.projection_plot,
    )
    figures = {
        "profile": args.profile_plot,
        "distributions": args.distributions_plot,
        "elbow": args.elbow_plot,
        "projection": args.projection_plot,
    }
    report_folder = Path(args.report).resolve().parent
    plots = {role: os.path.relpath(Path(path).resolve(), report_folder) for role, path in figures.items()}
    drift = read_json(args.drift)
    report = report_markdown(profile, params.features, formatter, plots=plots, drift=drift)
    write_text(report, args.report)
    write_text(report_html(report, embedded_images(report, report_folder)), args.html)
    write_json(profile, args.profiles)
    write_json(profile_metrics(profile), args.metrics)
    write_json(fair.metrics, args.fairness)
    write_json(outcome.metrics, args.outcomes)


if __name__ == "__main__":
    run_entry_point(main)
