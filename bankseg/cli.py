"""Command line: ``python -m bankseg assign | pin-segments | gate | migration | publish``.

The parser needs only the standard library and :mod:`bankseg.layout`: pandas, scikit-learn,
pyarrow and the rest are imported by the command that uses them, after the arguments are read,
so ``--help`` and usage errors answer at once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from bankseg import layout
from bankseg.errors import InputError, run_entry_point
from bankseg.startup import loading_libraries

if TYPE_CHECKING:
    import pandas as pd

    from bankseg.data.cleaning import FileCleaner
    from bankseg.params import Params

log = logging.getLogger("bankseg")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bankseg", description="Customer segmentation for banks.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    common.add_argument("--params", default=layout.PARAMS, help="params file (default: %(default)s)")
    commands = parser.add_subparsers(dest="command", required=True)
    assign = commands.add_parser(
        "assign",
        parents=[common],
        help="segment the customers in a CSV or Parquet file with the trained model",
        description=(
            "Segment customers with the model trained by `dvc repro`. The input is cleaned with "
            "the rules in params.yaml and scored with the scaling fitted on the training "
            "customers, so a customer's segment does not depend on who else is in the file."
        ),
    )
    assign.add_argument("input", help="customer file (.csv or .parquet) in the training data's format")
    assign.add_argument("output", help="CSV to write: id column, segment, segment_name, distance")
    assign.add_argument(
        "--rejected", help="also write rows that failed validation, with the reason, to this CSV"
    )
    assign.add_argument("--model", default=layout.MODEL, help="trained model (default: %(default)s)")
    assign.add_argument("--segments", default=layout.SEGMENTS, help="segment names (default: %(default)s)")
    pin = commands.add_parser(
        "pin-segments",
        parents=[common],
        help="keep the current segments' ids and names in later runs",
        description=(
            f"Copy the trained segments ({layout.SEGMENTS}) to the reference file named by "
            "segments.reference in params.yaml. Later `dvc repro` runs give a segment whose "
            "centre stays within segments.match_distance of a reference segment that segment's "
            "id and name. Commit the reference file."
        ),
    )
    pin.add_argument("--segments", default=layout.SEGMENTS, help="trained segments (default: %(default)s)")
    gate = commands.add_parser(
        "gate",
        parents=[common],
        help="fail when segment quality crossed a threshold of params.yaml (gate section)",
        description=(
            "Compare the workspace's metrics with those of a git revision (dvc metrics diff) and "
            "print a Markdown table of the checks: silhouette drop, smallest segment share, "
            "stability, least stable segment, share of rejected rows, and (when set) outcome "
            "association; it warns when the segments follow a protected attribute or one feature "
            "makes them. Thresholds are in the gate section of params.yaml. Exit status 0 when every check passes, 1 when one fails, 2 "
            "for a usage error."
        ),
    )
    gate.add_argument("--rev", default="HEAD", help="git revision to compare with (default: %(default)s)")
    gate.add_argument(
        "--diff-json",
        help="read this saved `dvc metrics diff REV --json --all` output instead of running DVC",
    )
    gate.add_argument(
        "--summary", help="also append the table to this Markdown file (e.g. $GITHUB_STEP_SUMMARY)"
    )
    _add_migration_parser(commands, common)
    _add_publish_parser(commands, common)
    return parser


def _add_publish_parser(commands, common: argparse.ArgumentParser) -> None:
    publish = commands.add_parser(
        "publish",
        parents=[common],
        help="write the segments of the workspace's run to a database table",
        description=(
            f"Write every customer of {layout.ASSIGNED_CUSTOMERS} (id, segment, segment name, "
            "distance) with the model's MD5, the git revision and the time of the run to TABLE, "
            "in one transaction. Publishing the same run again changes nothing; earlier runs stay "
            "in TABLE, TABLE_runs lists them and the view TABLE_current shows the latest. The "
            "model must pass the same checks as for assign (its MD5 in dvc.lock). New customers "
            f"({layout.ASSIGNED_NEW}) are not published. See docs/warehouse.md."
        ),
    )
    publish.add_argument(
        "--conn",
        required=True,
        help="a DVC database connection name (dvc config db.NAME.url ...) or an SQLAlchemy URL",
    )
    publish.add_argument("--table", required=True, help="table to write, e.g. segments or analytics.segments")
    publish.add_argument(
        "--assigned",
        default=layout.ASSIGNED_CUSTOMERS,
        help="assigned customers of the run (default: %(default)s)",
    )
    publish.add_argument("--model", default=layout.MODEL, help="trained model (default: %(default)s)")


def metrics_diff(rev: str) -> dict:
    """``dvc metrics diff <rev> --json --all`` of the current repository."""
    try:
        result = subprocess.run(
            ["dvc", "metrics", "diff", rev, "--json", "--all"], capture_output=True, text=True, check=False
        )
    except FileNotFoundError as exc:
        raise InputError(
            "dvc: command not found, expected DVC installed (pip install -r requirements.txt)"
        ) from exc
    if result.returncode != 0:
        message = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise InputError(f"dvc metrics diff {rev}: {message}")
    return parse_diff(result.stdout, f"dvc metrics diff {rev}")


def parse_diff(text: str, source: str) -> dict:
    """The metrics diff in ``text``, the JSON that ``dvc metrics diff --json`` prints."""
    try:
        diff = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source}: not JSON ({exc.msg} at line {exc.lineno}), expected dvc metrics diff --json output"
        ) from exc
    if not isinstance(diff, dict):
        raise InputError(
            f"{source}: expected a JSON object of metrics files, as dvc metrics diff --json writes"
        )
    return diff


def gate_command(args: argparse.Namespace) -> None:
    with loading_libraries():
        from bankseg.params import load_params
        from bankseg.paths import check_paths
        from bankseg.reporting.gate import evaluate, passed, table

    inputs = {"--params": args.params} | ({"--diff-json": args.diff_json} if args.diff_json else {})
    check_paths(inputs, {"--summary": args.summary} if args.summary else {})
    params = load_params(args.params)
    if args.diff_json:
        try:
            text = Path(args.diff_json).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{args.diff_json}: cannot read ({exc.strerror})") from exc
        diff = parse_diff(text, args.diff_json)
    else:
        diff = metrics_diff(args.rev)
    checks = evaluate(
        diff,
        params.gate,
        max_protected_association=params.fairness.max_association,
        max_feature_share=params.segments.max_feature_share,
    )
    text = table(checks, args.rev)
    print(text, end="")
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as handle:
            handle.write(text)
    if not passed(checks):
        sys.exit(1)


def pin_command(args: argparse.Namespace) -> None:
    with loading_libraries():
        from bankseg.engines.training import check_reference
        from bankseg.io.atomic import read_json, write_json
        from bankseg.params import load_params
        from bankseg.paths import check_paths

    params = load_params(args.params)
    check_paths(
        {"--params": args.params, "--segments": args.segments},
        {"segments.reference": params.segments.reference},
    )
    trained = check_reference(read_json(args.segments), args.segments)
    if not trained["segments"]:
        raise InputError(f"{args.segments}: holds no segments; run `dvc repro` first")
    write_json(trained, params.segments.reference)
    log.info(
        "pinned %d segments to %s: %s",
        len(trained["segments"]),
        params.segments.reference,
        "; ".join(f"{k}: {v['name']}" for k, v in trained["segments"].items()),
    )


class _NoneValid(Exception):
    """Every row of the input was rejected: the output is not written."""


def _assign_blocks(
    blocks: Iterable[pd.DataFrame], model, names: dict[int, str], params: Params, args: argparse.Namespace
) -> tuple[FileCleaner, Counter]:
    """Clean, label and write the customers a block at a time; the cleaning's totals and the segment sizes.

    When every row is rejected, only the rejected rows are written."""
    from bankseg.data.cleaning import FileCleaner
    from bankseg.io.blocks import csv_block_writer
    from bankseg.segmentation.assignment import label_customers

    cleaner = FileCleaner(params, source=args.input)
    sizes: Counter[int] = Counter()
    with contextlib.ExitStack() as files:
        write_rejected = files.enter_context(csv_block_writer(args.rejected)) if args.rejected else None
        try:
            with csv_block_writer(args.output) as write_labelled:
                for block in blocks:
                    cleaned = cleaner.clean(block)
                    labelled = label_customers(model, names, cleaned.kept, params)
                    write_labelled(labelled)
                    if write_rejected:
                        write_rejected(cleaned.rejected)
                    sizes.update(labelled["segment"].tolist())
                if cleaner.rows_read and not sizes:
                    raise _NoneValid
        except _NoneValid:
            pass
    return cleaner, sizes


def assign_command(args: argparse.Namespace) -> None:
    with loading_libraries():
        import scipy.special  # noqa: F401  (first: see bankseg/io/models.py)

        from bankseg.data.cleaning import needed_columns
        from bankseg.data.reading import in_blocks
        from bankseg.io.atomic import read_json
        from bankseg.io.models import load_model
        from bankseg.params import load_params
        from bankseg.paths import check_paths
        from bankseg.segmentation.assignment import check_model_settings, read_segment_names

    outputs = {"OUTPUT": args.output} | ({"--rejected": args.rejected} if args.rejected else {})
    # The project folder is that of the params file: its dvc.lock says which model to trust.
    root = Path(args.params).absolute().parent
    inputs = {
        "INPUT": args.input,
        "--model": args.model,
        "--segments": args.segments,
        "--params": args.params,
        "dvc.lock": root / "dvc.lock",
    }
    # The loaders of the model, its names and dvc.lock say what to do when one is missing.
    check_paths(inputs, outputs, optional=["--model", "--segments", "dvc.lock"])
    params = load_params(args.params)
    model = load_model(args.model, root=root)
    check_model_settings(model, params, model_path=args.model, params_path=args.params)
    names = read_segment_names(read_json(args.segments))
    columns = needed_columns(params)
    # A block at a time, memory hardly grows with the file (only the kept ids are remembered
    # to find duplicates). The output files appear only once every block is written.
    cleaner, sizes = in_blocks(
        lambda read: _assign_blocks(read(args.input, columns), model, names, params, args)
    )
    quality = cleaner.quality
    if quality["rows_read"] and not quality["rows_kept"]:
        first = cleaner.first_rejected
        where = (
            f"; they are listed in {args.rejected}" if args.rejected else "; use --rejected FILE to see them"
        )
        raise InputError(
            f"{args.input}: none of the {quality['rows_read']:,} rows is valid (first problem, row "
            f"{first['row']}: {first['reason']}); {args.output} was not written{where}"
        )
    if quality["rows_rejected"]:
        log.warning(
            "%d of %d rows rejected (%s)%s",
            quality["rows_rejected"],
            quality["rows_read"],
            ", ".join(f"{k}: {v}" for k, v in quality["rejected_by_reason"].items()),
            "" if args.rejected else "; use --rejected FILE to see them",
        )
    for segment, count in sorted(sizes.items()):
        log.info("segment %d (%s): %d customers", segment, names[segment], count)
    log.info("wrote %d customers to %s", sum(sizes.values()), args.output)


# ---------------------------------------------------------------------------------------------
# python -m bankseg migration

# Files taken for a FILE argument rather than a git revision, even when they do not exist.
_DATA_SUFFIXES = (".csv", ".parquet", ".pq")


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return value


def _add_migration_parser(commands, common: argparse.ArgumentParser) -> None:
    migration = commands.add_parser(
        "migration",
        parents=[common],
        help="who moved between segments from one run of the segmentation to another",
        description=(
            "Compare the segments of two runs: a git revision (its "
            f"{layout.ASSIGNED_CUSTOMERS} and {layout.SEGMENTS}, read through DVC) or an "
            "assigned-customers file (.csv or .parquet). Segment ids are matched by centre, with "
            "the earlier run as the reference (the rule of segments.match_distance); without both "
            "segments files, by name. Writes the transition matrix, a heatmap, a Markdown summary "
            "and, for each flow of at least migration.min_customers customers, a CSV of their ids "
            "and segment names, and a metrics file for `dvc metrics diff --targets`."
        ),
    )
    migration.add_argument(
        "--from",
        dest="earlier",
        required=True,
        metavar="REV_OR_FILE",
        help="the earlier run: a git revision (HEAD, main, a tag) or an assigned-customers file",
    )
    migration.add_argument(
        "--to",
        dest="later",
        metavar="REV_OR_FILE",
        help="the later run, likewise (default: the workspace's files)",
    )
    migration.add_argument(
        "--from-segments",
        metavar="FILE",
        help="segments file (models/segments.json) of a --from FILE; without it segments are matched by name",
    )
    migration.add_argument(
        "--to-segments", metavar="FILE", help="segments file of a --to FILE (or of the workspace)"
    )
    migration.add_argument(
        "--out", default=layout.MIGRATION_FOLDER, help="folder of the outputs (default: %(default)s)"
    )
    migration.add_argument(
        "--metrics", default=layout.MIGRATION_METRICS, help="metrics JSON to write (default: %(default)s)"
    )
    migration.add_argument(
        "--min-customers",
        type=_at_least_one,
        metavar="N",
        help="write the customers of flows at least this large (default: migration.min_customers)",
    )
    migration.add_argument(
        "--summary", help="also append the summary to this Markdown file (e.g. $GITHUB_STEP_SUMMARY)"
    )


def _is_file_argument(value: str) -> bool:
    return os.path.lexists(value) or value.lower().endswith(_DATA_SUFFIXES)


def _read_assigned_csv(handle, columns: set[str], source: str) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.read_csv(
            handle, dtype=str, keep_default_na=False, na_values=[""], usecols=lambda c: c in columns
        )
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(f"{source}: cannot be read as CSV ({reason})") from exc


def _read_assigned_file(path: str, columns: set[str]) -> pd.DataFrame:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.lower().endswith((".parquet", ".pq")):
        try:
            present = [c for c in pq.read_schema(path).names if c in columns]
            return pd.read_parquet(path, columns=present)
        except (OSError, pa.ArrowException) as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise InputError(f"{path}: cannot be read as Parquet ({reason})") from exc
    with open(path, encoding="utf-8", newline="") as handle:
        return _read_assigned_csv(handle, columns, path)


def _read_at_revision(rev: str, flag: str, root: Path, columns: set[str]) -> tuple[pd.DataFrame, dict]:
    """A revision's assigned customers and segments, from git and the DVC cache."""
    import dvc.api
    from dvc.exceptions import DvcException, PathMissingError

    path = layout.ASSIGNED_CUSTOMERS
    try:
        with dvc.api.open(path, repo=str(root), rev=rev, encoding="utf-8") as handle:
            assigned = _read_assigned_csv(handle, columns, f"{flag} {rev}: {path}")
        path = layout.SEGMENTS
        text = dvc.api.read(path, repo=str(root), rev=rev, encoding="utf-8")
    except PathMissingError as exc:
        raise InputError(
            f"{flag} {rev}: {path} is neither in git nor in the DVC cache at that revision; expected "
            "a revision where the pipeline ran, its outputs in the cache (dvc pull, or dvc repro there)"
        ) from exc
    except DvcException as exc:
        raise InputError(f"{flag} {rev}: {' '.join(str(exc).split()) or type(exc).__name__}") from exc
    return assigned, _segments_record(text, f"{flag} {rev}: {layout.SEGMENTS}")


def _segments_record(text: str, source: str) -> dict:
    from bankseg.engines.training import check_reference

    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    return check_reference(record, source)


def _read_run(value: str | None, segments: str | None, flag: str, root: Path, columns: set[str]):
    """(label, assigned customers, segments or None, source, segments source) of one run."""
    if value is not None and not _is_file_argument(value):
        if segments:
            raise InputError(f"{flag}-segments {segments}: only with {flag} FILE; {value} is a git revision")
        assigned, record = _read_at_revision(value, flag, root, columns)
        return (
            value,
            assigned,
            record,
            f"{flag} {value}: {layout.ASSIGNED_CUSTOMERS}",
            f"{flag} {value}: {layout.SEGMENTS}",
        )
    workspace = value is None
    path = str(root / layout.ASSIGNED_CUSTOMERS) if workspace else value
    segments = segments or (str(root / layout.SEGMENTS) if workspace else None)
    record = None
    if segments:
        try:
            text = Path(segments).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"{segments}: not UTF-8 text, expected a segments file (JSON)") from exc
        record = _segments_record(text, segments)
    return (
        ("the workspace" if workspace else value),
        _read_assigned_file(path, columns),
        record,
        path,
        segments,
    )


def migration_command(args: argparse.Namespace) -> None:
    with loading_libraries():
        from bankseg.io.atomic import save_figure, write_csv, write_json, write_text
        from bankseg.params import load_params
        from bankseg.paths import check_paths
        from bankseg.reporting import migration as mig

    root = Path(args.params).absolute().parent
    inputs = {"--params": args.params}
    for flag, value in (("--from", args.earlier), ("--to", args.later)):
        if value is not None and _is_file_argument(value):
            inputs[flag] = value
    for flag, value in (("--from-segments", args.from_segments), ("--to-segments", args.to_segments)):
        if value:
            inputs[flag] = value
    if args.later is None:
        inputs["--to"] = root / layout.ASSIGNED_CUSTOMERS
        if not args.to_segments:
            inputs["--to-segments"] = root / layout.SEGMENTS
    outputs = {"--out": args.out, "--metrics": args.metrics} | (
        {"--summary": args.summary} if args.summary else {}
    )
    check_paths(inputs, outputs, folders=["--out"])
    params = load_params(args.params)
    min_customers = args.min_customers or params.migration.min_customers
    id_column = params.data.id_column
    columns = {id_column, "segment", "segment_name"}

    runs = []
    for flag, value, segments in (
        ("--from", args.earlier, args.from_segments),
        ("--to", args.later, args.to_segments),
    ):
        name, frame, record, source, segments_source = _read_run(value, segments, flag, root, columns)
        assigned = mig.assigned_segments(frame, id_column=id_column, source=source)
        if record is not None:
            mig.check_segments(
                assigned, mig.segment_names(record), source=source, segments_source=segments_source
            )
        runs.append((name, assigned, record, source))
    (earlier, before, before_record, before_source), (later, after, after_record, after_source) = runs
    if before_record is not None and after_record is not None and mig.comparable(before_record, after_record):
        matching = mig.match_by_centre(
            before_record, after_record, max_distance=params.segments.match_distance
        )
    else:
        if before_record is None or after_record is None:
            missing = "--from-segments" if before_record is None else "--to-segments"
            reason = f"no segments file for {earlier if before_record is None else later} ({missing})"
        else:
            reason = (
                "the two runs were trained on different feature settings, so their centres do not compare"
            )
        log.warning("segments matched by name: %s", reason)
        matching = mig.match_by_name(
            mig.names_in(before, before_source), mig.names_in(after, after_source), reason=reason
        )
    migration = mig.compare_runs(before, after, matching, min_customers=min_customers)
    for warning in mig.unmatched_warnings(matching, migration.metrics, earlier=earlier, later=later):
        log.warning("%s", warning)

    folder = Path(args.out)
    files = layout.MIGRATION_FILES
    names = mig.flow_file_names(migration.flows, prefix=files["flow_prefix"])
    for flow in migration.flows:
        write_csv(
            mig.flow_customers(migration.moves, flow, id_column=id_column),
            folder / names[(flow.from_segment, flow.to_segment)],
        )
    for stale in sorted(folder.glob(f"{files['flow_prefix']}*.csv")):  # flows of an earlier comparison
        if stale.name not in names.values():
            stale.unlink()
    write_csv(migration.table.round({"share": 4}), folder / files["transitions"])
    write_csv(migration.counts.reset_index(), folder / files["matrix"])
    save_figure(mig.heatmap_figure(migration.counts, earlier=earlier, later=later), folder / files["heatmap"])
    summary = mig.summary_markdown(
        migration, matching, earlier=earlier, later=later, files=names, min_customers=min_customers
    )
    write_text(summary, folder / files["summary"])
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as handle:
            handle.write(summary)
    write_json(migration.metrics, args.metrics)
    m = migration.metrics
    log.info(
        "%s of %d customers in both runs stayed in their segment; %d moved, %d joined, %d left",
        "n/a" if m["share_stayed"] is None else f"{m['share_stayed']:.1%}",
        m["customers"]["in_both"],
        m["moved"],
        m["joined"],
        m["left"],
    )
    log.info(
        "wrote %d customer lists and the summary to %s, the metrics to %s", len(names), folder, args.metrics
    )


def publish_command(args: argparse.Namespace) -> None:
    with loading_libraries():
        import hashlib
        import io

        import pandas as pd

        from bankseg.io.models import load_model
        from bankseg.io.publication import Run, published_rows, run_id, table_name
        from bankseg.io.trust import recorded_md5
        from bankseg.params import load_params
        from bankseg.paths import check_paths

        try:
            from bankseg.io import warehouse
        except ModuleNotFoundError as exc:
            raise InputError(
                f"publish needs {exc.name}, which is not installed (pip install -r requirements-warehouse.txt)"
            ) from exc

    table = table_name(args.table)
    root = Path(args.params).absolute().parent  # its dvc.lock says which model and run to trust
    inputs = {
        "--params": args.params,
        "--assigned": args.assigned,
        "--model": args.model,
        "dvc.lock": root / "dvc.lock",
    }
    check_paths(inputs, {}, optional=["--assigned", "--model", "dvc.lock"])
    params = load_params(args.params)
    url = warehouse.connection_url(args.conn, root=root)
    load_model(args.model, root=root)
    model_md5 = recorded_md5(args.model, root)
    try:
        assigned = Path(args.assigned).read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{args.assigned}: not found; run the pipeline first (dvc repro)") from exc
    assigned_md5 = hashlib.md5(assigned).hexdigest()
    if recorded_md5(args.assigned, root) != assigned_md5:
        raise InputError(
            f"{args.assigned}: not the file dvc.lock records for this run; run dvc repro (or dvc "
            "checkout) so that the published segments are those of the recorded model"
        )
    id_column = params.data.id_column
    frame = pd.read_csv(io.BytesIO(assigned), dtype={id_column: str}, keep_default_na=False)
    rows = published_rows(
        frame,
        id_column=id_column,
        personal_columns=params.prepare.personal_columns,
        not_personal=params.prepare.not_personal,
        source=args.assigned,
    )
    run = Run(
        run_id=run_id(model_md5, assigned_md5),
        model_md5=model_md5,
        assigned_md5=assigned_md5,
        git_revision=warehouse.git_revision(root),
        customers=len(rows),
    )
    done = warehouse.publish(url, table, rows, run)
    where = f"{args.table} at {warehouse.shown_url(url)}"
    if done.new:
        log.info(
            "published run %s (number %d): %d customers to %s", run.run_id, done.number, run.customers, where
        )
    else:
        log.info(
            "run %s is already published (number %d, %s) in %s; nothing changed",
            run.run_id,
            done.number,
            done.run_time,
            where,
        )


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)

    if args.debug:
        os.environ["BANKSEG_DEBUG"] = "1"

    def run() -> None:
        if args.command == "assign":
            assign_command(args)
        elif args.command == "pin-segments":
            pin_command(args)
        elif args.command == "gate":
            gate_command(args)
        elif args.command == "migration":
            migration_command(args)
        elif args.command == "publish":
            publish_command(args)

    run_entry_point(run)


if __name__ == "__main__":
    main(sys.argv[1:])
