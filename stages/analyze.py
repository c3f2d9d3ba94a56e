"""Stage analyze: profile each segment in business terms, write the report and plots."""

import argparse
import logging

from bankseg.errors import run_entry_point
from bankseg.startup import loading_libraries

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

    with loading_libraries():
        import os
        from pathlib import Path

        import pandas as pd

        from bankseg.io.atomic import read_json, save_figure, write_json, write_text
        from bankseg.params import load_params
        from bankseg.paths import check_args
        from bankseg.reporting.analysis import analyze_segments
        from bankseg.reporting.report import report_markdown
        from bankseg.reporting.report_html import embedded_images, report_html

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
    analysis = analyze_segments(
        customers=customers,
        segments=pd.read_csv(args.assigned, usecols=["segment"])["segment"],
        features=pd.read_parquet(args.features),
        record=read_json(args.segments),
        elbow=read_json(args.elbow),
        stability=read_json(args.stability),
        quality=read_json(args.quality)["customers"],
        params=params,
    )
    for warning in analysis.warnings:
        log.warning("%s", warning)

    figures = {
        "profile": args.profile_plot,
        "distributions": args.distributions_plot,
        "elbow": args.elbow_plot,
        "projection": args.projection_plot,
    }
    for role, figure in analysis.figures.items():
        save_figure(figure, figures[role])
    report_folder = Path(args.report).resolve().parent
    plots = {role: os.path.relpath(Path(path).resolve(), report_folder) for role, path in figures.items()}
    report = report_markdown(
        analysis.profile, params.features, analysis.formatter, plots=plots, drift=read_json(args.drift)
    )
    write_text(report, args.report)
    write_text(report_html(report, embedded_images(report, report_folder)), args.html)
    write_json(analysis.profile, args.profiles)
    write_json(analysis.metrics, args.metrics)
    write_json(analysis.fairness, args.fairness)
    write_json(analysis.outcomes, args.outcomes)


if __name__ == "__main__":
    run_entry_point(main)
