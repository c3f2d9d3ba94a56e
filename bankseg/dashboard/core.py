"""What the dashboard shows, as plain functions (no streamlit import, unit-tested on their own).

Customers are scored exactly like ``python -m bankseg assign``: :func:`bankseg.reading.read_customers`,
then :func:`bankseg.cleaning.clean_customers` with the rules of ``params.yaml``, then
:func:`bankseg.assignment.label_customers` with the model the pipeline trained, loaded by
:func:`bankseg.io.load_model`, which first checks it against the project's ``dvc.lock`` (its
MD5, then the types it holds). The model always comes from the project folder, never from an
upload.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bankseg.assignment import check_model_settings, label_customers, read_segment_names
from bankseg.cleaning import clean_customers, needed_columns
from bankseg.errors import InputError
from bankseg.io import load_model, neutralise_formulas, read_json
from bankseg.params import Params, load_params
from bankseg.profiling import feature_labels, format_amount
from bankseg.reading import DELIMITERS, read_customers
from bankseg.trust import LOCK_FILE, recorded_md5

# Where the pipeline writes what the dashboard reads, relative to the project folder.
PARAMS = "params.yaml"
MODEL = "models/model.skops"
SEGMENTS = "models/segments.json"
PROFILES = "reports/segments.json"
METRICS = "metrics"
PLOTS = (("Choosing K", "plots/elbow.png"), ("Segment profiles", "plots/segment_profile.png"))
ROOT_VARIABLE = "BANKSEG_ROOT"

# Server settings the launcher passes on the command line; .streamlit/config.toml holds the
# same values (a test checks they agree), so they also apply to a plain `streamlit run`.
SAFE_OPTIONS: dict[str, Any] = {
    "server.address": "127.0.0.1",  # reachable from this machine only
    # Only a page loaded from this machine by these names may open the app's connection: a
    # site that points its own name at 127.0.0.1 (DNS rebinding) is refused.
    "server.allowedHosts": ["127.0.0.1", "localhost"],
    "server.headless": True,  # do not try to open a browser
    "server.maxUploadSize": 50,  # MB, checked by the browser, the server and the app
    "server.enableXsrfProtection": True,
    "server.enableCORS": True,
    "server.enableStaticServing": False,
    "server.fileWatcherType": "none",
    "server.runOnSave": False,
    "server.showEmailPrompt": False,
    "browser.gatherUsageStats": False,  # no usage statistics sent anywhere
    "client.toolbarMode": "minimal",
    "client.showErrorDetails": "none",  # never a traceback in the page
    "client.disableDataExport": True,  # no unescaped CSV export button on tables
}

# What an upload may hold, checked before it is loaded (see check_upload): Parquet compresses
# so well that a file of a few hundred kB can hold millions of rows and take gigabytes.
MAX_UPLOAD_ROWS = 1_000_000
MAX_UPLOAD_COLUMNS = 1_000
# Parquet: the column chunks, uncompressed (as the file's footer records them).
MAX_UPLOAD_UNCOMPRESSED_MB = 20 * SAFE_OPTIONS["server.maxUploadSize"]
# Parquet: the columns the cleaning reads, uncompressed and then decoded (as held in memory).
# Dictionary encoding stores a value once however many rows repeat it, so this is measured.
MAX_UPLOAD_DECODED_MB = 4 * SAFE_OPTIONS["server.maxUploadSize"]
# Parquet: the footer (parsing it takes about 12 times its size) and the row groups (each costs
# a read of every column read, however few its rows). Exports have a few of each, of a few kB.
MAX_UPLOAD_FOOTER_MB = 4
MAX_UPLOAD_ROW_GROUPS = 1_000


def option_args(options: dict[str, Any] = SAFE_OPTIONS) -> list[str]:
    """``--server.address=127.0.0.1 ...``: the options as ``streamlit run`` flags (a list as
    one flag per item)."""
    flags = []
    for key, value in options.items():
        for item in value if isinstance(value, list) else [value]:
            flags.append(f"--{key}={str(item).lower() if isinstance(item, bool) else item}")
    return flags


def project_root() -> Path:
    """The project folder: ``$BANKSEG_ROOT``, else the working directory if it holds a
    ``params.yaml``, else the repository this package was installed from."""
    if os.environ.get(ROOT_VARIABLE):
        return Path(os.environ[ROOT_VARIABLE]).expanduser().resolve()
    if (Path.cwd() / PARAMS).is_file():
        return Path.cwd().resolve()
    return Path(__file__).resolve().parents[2]


def in_root(root: Path, path: str | Path) -> Path:
    path = Path(path)
    return path if path.is_absolute() else root / path


def plain(text: object) -> str:
    """Text safe to pass to a Streamlit call that renders Markdown: every punctuation mark that
    could start a link, an image, a colour or an emphasis is backslash-escaped, so text from an
    uploaded file (a file name, a cell value in an error) is shown as it is and never loads
    anything."""
    return re.sub(r"([\\`*_{}\[\]()<>#+\-.!|~$:=&])", r"\\\1", str(text)).replace("\n", " ")


@dataclass(frozen=True)
class Pipeline:
    """What the last ``dvc repro`` left for scoring: settings, verified model, segment names."""

    root: Path
    params: Params
    model: Any
    names: dict[int, str]
    profiles: dict | None  # reports/segments.json, None when missing or from another run
    profiles_note: str | None  # why profiles is None

    @property
    def batch(self) -> Path:
        """The generated new-customer batch (``data.new`` in params.yaml)."""
        return in_root(self.root, self.params.data.new)


def load_pipeline(root: Path, model_loader: Callable[[Path], Any] | None = None) -> Pipeline:
    """Read params, the verified model and the segment names; raise InputError with one line
    (saying to run ``dvc repro`` when something is missing or does not match dvc.lock).

    ``model_loader(path)`` loads the model; by default :func:`bankseg.io.load_model`, checked
    against ``root``'s dvc.lock.
    """
    params = load_params(root / PARAMS)
    model_path = root / MODEL
    if not model_path.exists():
        raise InputError(f"{MODEL}: no trained model in {root}; run the pipeline first (dvc repro)")
    model = model_loader(model_path) if model_loader else load_model(model_path, root=root)
    check_model_settings(model, params, model_path=MODEL, params_path=PARAMS)
    names = read_segment_names(read_json(root / SEGMENTS))
    profiles, note = None, None
    if not (root / PROFILES).exists():
        note = f"{PROFILES} not found; run dvc repro to see the segment profiles"
    else:
        profiles = read_json(root / PROFILES)
        if set(profiles.get("segments", {})) != {str(s) for s in names}:
            profiles, note = None, f"{PROFILES} describes other segments than the model; run dvc repro"
    return Pipeline(root, params, model, names, profiles, note)


def model_cache_key(root: Path) -> str:
    """The MD5 of the model file and of dvc.lock ('' for a missing one): the key of the
    dashboard's model cache, so that a change to either is checked again."""
    digests = []
    for path in (root / MODEL, root / LOCK_FILE):
        digests.append(hashlib.md5(path.read_bytes()).hexdigest() if path.is_file() else "")
    return ":".join(digests)


@dataclass(frozen=True)
class Scored:
    source: str  # the file name shown to the user
    labelled: pd.DataFrame  # id, segment, segment_name, distance (as the assign command writes)
    rejected: pd.DataFrame  # rows that failed validation, with the reason
    kept: pd.DataFrame  # the cleaned customers, in the order of labelled
    quality: dict


def check_size(name: str, n_bytes: int, limit_mb: int) -> None:
    if n_bytes > limit_mb * 1024 * 1024:
        raise InputError(
            f"{name}: {n_bytes / 1024 / 1024:.1f} MB is larger than the upload limit of {limit_mb} MB"
        )
    if n_bytes == 0:
        raise InputError(f"{name}: file is empty, expected a header row and customer rows")


def upload_limits(limit_mb: int) -> str:
    """The caps on an upload, in one sentence for the page."""
    return (
        f"Up to {limit_mb} MB, {MAX_UPLOAD_ROWS:,} rows and {MAX_UPLOAD_COLUMNS:,} columns; a Parquet "
        f"file up to {MAX_UPLOAD_UNCOMPRESSED_MB:,} MB uncompressed, {MAX_UPLOAD_DECODED_MB:,} MB in the "
        f"columns read, {MAX_UPLOAD_ROW_GROUPS:,} row groups and {MAX_UPLOAD_FOOTER_MB} MB of metadata. "
        "Only the id, feature and profile columns are read; other columns (names, PAN, "
        "address...) are never loaded."
    )


def read_upload(
    name: str, data: bytes, limit_mb: int, *, columns: Callable[[str], bool] | None = None
) -> pd.DataFrame:
    """Read uploaded bytes with :func:`bankseg.reading.read_customers` (CSV or Parquet, by the name's
    suffix), after :func:`check_upload`; ``columns`` (a test of a header) reads only those.
    Errors name the uploaded file, not the temporary copy."""
    shown = Path(name).name or "upload"
    check_size(shown, len(data), limit_mb)
    safe = re.sub(r"[^\w.\-]", "_", shown).lstrip(".") or "upload"
    with tempfile.TemporaryDirectory(prefix="bankseg-upload-") as tmp:
        path = Path(tmp) / safe
        path.write_bytes(data)
        try:
            check_upload(path, data, columns)
            return read_customers(path, columns)
        except InputError as exc:
            raise InputError(str(exc).replace(str(path), shown)) from exc


def check_upload(path: Path, data: bytes, columns: Callable[[str], bool] | None = None) -> None:
    """Refuse, with one line, an upload over one of the ``MAX_UPLOAD_*`` caps, without loading
    it: a text file's line breaks and header line; a Parquet file's footer, then the columns to be
    read with their dictionaries kept, to measure them decoded."""
    if data.startswith(b"PAR1"):  # the reader, too, takes a Parquet file by its content
        _check_parquet(path, data, columns)
    else:
        _check_csv(path, data)


def _over(path: Path, count: float, limit: int, unit: str, what: str = "") -> None:
    """One line when ``count`` is over ``limit`` (in rows, columns or MB)."""
    if count > limit:
        shown = f"{count:,.1f}" if unit == "MB" else f"{count:,}"
        raise InputError(f"{path}: {shown} {unit}{what}, more than the upload limit of {limit:,} {unit}")


def _check_csv(path: Path, data: bytes) -> None:
    # Every row but perhaps the last ends with a line break: an upper bound on the rows,
    # counted without splitting the bytes (a list of lines would itself be large).
    breaks = max(data.count(b"\n"), data.count(b"\r"))
    lines = breaks + (0 if data.endswith((b"\n", b"\r")) else 1)
    _over(path, max(lines - 1, 0), MAX_UPLOAD_ROWS, "rows", " (at most, by its line breaks)")
    header = re.split(rb"[\r\n]", data, maxsplit=1)[0]
    fields = 1 + max(header.count(d.encode()) for d in DELIMITERS)
    _over(path, fields, MAX_UPLOAD_COLUMNS, "columns", " (at most, in its header)")


def _check_parquet(path: Path, data: bytes, columns: Callable[[str], bool] | None) -> None:
    mb = 1024 * 1024
    # A Parquet file ends with its footer, the footer's length (4 bytes) and b"PAR1".
    if len(data) >= 12 and data.endswith(b"PAR1"):
        footer = int.from_bytes(data[-8:-4], "little")
        _over(path, footer / mb, MAX_UPLOAD_FOOTER_MB, "MB", " of metadata")
    try:
        meta = pq.ParquetFile(path).metadata
        _over(path, meta.num_rows, MAX_UPLOAD_ROWS, "rows")
        _over(path, meta.num_columns, MAX_UPLOAD_COLUMNS, "columns")
        _over(path, meta.num_row_groups, MAX_UPLOAD_ROW_GROUPS, "row groups")
        leaves = [meta.schema.column(c).path for c in range(meta.num_columns)]
        sizes = [
            (leaves[c], meta.row_group(g).column(c).total_uncompressed_size)
            for g in range(meta.num_row_groups)
            for c in range(meta.num_columns)
        ]
        _over(path, sum(n for _, n in sizes) / mb, MAX_UPLOAD_UNCOMPRESSED_MB, "MB", " uncompressed")
        read = [f for f in meta.schema.to_arrow_schema() if columns is None or columns(f.name)]
        for field in read:
            if pa.types.is_nested(field.type):
                raise InputError(
                    f"{path}: column '{field.name}' holds {field.type}, expected numbers or text"
                )
        names = {f.name for f in read}
        encoded = sum(n for leaf, n in sizes if leaf in names)
        _over(path, encoded / mb, MAX_UPLOAD_DECODED_MB, "MB", " uncompressed in the columns read")
        # Read with their dictionaries kept (as much memory as on disk), then measured as the
        # cleaning would hold them: a value repeated in every row counts in every row.
        text = [f.name for f in read if _is_text(f.type)]
        table = pq.ParquetFile(path, read_dictionary=text).read(columns=[f.name for f in read])
        decoded = sum(_decoded_bytes(chunk) for column in table.columns for chunk in column.chunks)
        del table
        _over(path, decoded / mb, MAX_UPLOAD_DECODED_MB, "MB", " in the columns read, decoded")
    except (pa.ArrowException, OSError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot be read as parquet ({detail})") from exc


def _is_text(kind: pa.DataType) -> bool:
    return any(
        test(kind)
        for test in (
            pa.types.is_string,
            pa.types.is_large_string,
            pa.types.is_string_view,
            pa.types.is_binary,
            pa.types.is_large_binary,
            pa.types.is_binary_view,
        )
    )


def _decoded_bytes(chunk: pa.Array) -> int:
    """The bytes of a column's values once its dictionary is expanded (every row its own copy)."""
    if not pa.types.is_dictionary(chunk.type):
        return chunk.nbytes
    if not _is_text(chunk.type.value_type):
        return len(chunk) * 8
    lengths = pc.binary_length(chunk.dictionary).cast(pa.int64())
    return int(pc.sum(lengths.take(chunk.indices)).as_py() or 0)


def score(raw: pd.DataFrame, pipeline: Pipeline, source: str) -> Scored:
    """Clean and label customers like the ``assign`` command; InputError if none is valid."""
    cleaned = clean_customers(raw, pipeline.params, source=source)
    if cleaned.kept.empty:
        raise InputError(no_valid_rows(source, cleaned.rejected, cleaned.quality))
    labelled = label_customers(pipeline.model, pipeline.names, cleaned.kept, pipeline.params)
    return Scored(source, labelled, cleaned.rejected, cleaned.kept, cleaned.quality)


def score_upload(name: str, data: bytes, pipeline: Pipeline, limit_mb: int) -> Scored:
    """Check, read and score an uploaded file, reading only the columns the cleaning uses
    (:func:`bankseg.cleaning.needed_columns`): the personal ones are never loaded."""
    raw = read_upload(name, data, limit_mb, columns=needed_columns(pipeline.params))
    return score(raw, pipeline, name)


def score_batch(pipeline: Pipeline) -> Scored:
    """Score the generated new-customer batch (params ``data.new``)."""
    path = pipeline.batch
    if not path.exists():
        raise InputError(
            f"{pipeline.params.data.new}: new-customer batch not found; run the pipeline first (dvc repro)"
        )
    return score(
        read_customers(path, needed_columns(pipeline.params)), pipeline, str(pipeline.params.data.new)
    )


def no_valid_rows(source: str, rejected: pd.DataFrame, quality: dict) -> str:
    if not len(rejected):
        return f"{source}: no customer rows, expected a header row and customer rows"
    first = rejected.iloc[0]
    return (
        f"{source}: none of the {quality['rows_read']:,} rows is valid; "
        f"first problem, row {first['row']}: {first['reason']}"
    )


def rejected_summary(scored: Scored) -> str:
    quality = scored.quality
    reasons = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in quality["rejected_by_reason"].items())
    return f"{quality['rows_rejected']:,} of {quality['rows_read']:,} rows rejected ({reasons})"


def short_description(profile: dict | None) -> str:
    """The report's one-line description without its leading training counts."""
    if not profile:
        return ""
    text = profile.get("description", "")
    head, sep, rest = text.partition(": ")
    return rest if sep and "customers" in head else text


def summary(scored: Scored, pipeline: Pipeline) -> pd.DataFrame:
    """One row per segment (empty ones included): id, name, customers and share in this file,
    and the one-line description of the segment from the last ``dvc repro``."""
    counts = scored.labelled["segment"].value_counts()
    total = len(scored.labelled)
    profiles = (pipeline.profiles or {}).get("segments", {})
    rows = []
    for seg, name in sorted(pipeline.names.items()):
        n = int(counts.get(seg, 0))
        rows.append(
            {
                "segment": seg,
                "name": name,
                "customers": n,
                "share": n / total if total else 0.0,
                "description": short_description(profiles.get(str(seg))),
            }
        )
    return pd.DataFrame(rows)


def segment_customers(scored: Scored, segment: int) -> pd.DataFrame:
    return scored.labelled[scored.labelled["segment"] == segment].reset_index(drop=True)


def numeric_profile(scored: Scored, pipeline: Pipeline, segment: int) -> pd.DataFrame:
    """Median of each numeric feature: this segment in this file, the segment among the
    training customers, and all training customers."""
    labels = feature_labels(pipeline.params.features)
    in_segment = (scored.labelled["segment"] == segment).to_numpy()
    profiles = pipeline.profiles or {}
    trained = profiles.get("segments", {}).get(str(segment), {}).get("numeric", {})
    base = profiles.get("base", {})
    rows = []
    for feature in pipeline.params.features.numeric:
        column = feature.column
        values = pd.to_numeric(scored.kept.loc[in_segment, column], errors="coerce")
        rows.append(
            {
                "feature": labels[column],
                "median in this file": format_amount(float(values.median())) if len(values) else "n/a",
                "segment median (training)": _amount(trained.get(column, {}).get("median")),
                "all customers median": _amount(base.get(column, {}).get("median")),
            }
        )
    return pd.DataFrame(rows)


def _amount(value: float | None) -> str:
    return "n/a" if value is None else format_amount(float(value))


def differentiators(pipeline: Pipeline, segment: int) -> pd.DataFrame:
    """What sets the segment apart from all customers: phrase and standardised difference."""
    profile = (pipeline.profiles or {}).get("segments", {}).get(str(segment), {})
    rows = [
        {"trait": d["phrase"], "difference (standard deviations)": d["effect"]}
        for d in [*profile.get("differentiators", []), *profile.get("under_represented", [])]
    ]
    return pd.DataFrame(rows, columns=["trait", "difference (standard deviations)"])


def category_mix(pipeline: Pipeline, segment: int) -> pd.DataFrame:
    """Share of each category value in the segment and among all customers (the base mix is
    the segments' mixes weighted by their shares)."""
    segments = (pipeline.profiles or {}).get("segments", {})
    profile = segments.get(str(segment))
    if not profile:
        return pd.DataFrame(columns=["category", "in this segment", "all customers"])
    labels = feature_labels(pipeline.params.features)
    rows = []
    for column, mix in profile.get("categories", {}).items():
        base: dict[str, float] = {}
        for other in segments.values():
            for value, share in other.get("categories", {}).get(column, {}).items():
                base[value] = base.get(value, 0.0) + share * other.get("share", 0.0)
        rows.append(
            {
                "category": labels.get(column, column.replace("_", " ")),
                "in this segment": _mix_text(mix),
                "all customers": _mix_text(base),
            }
        )
    return pd.DataFrame(rows)


def _mix_text(mix: dict[str, float]) -> str:
    return ", ".join(f"{value} {share:.0%}" for value, share in sorted(mix.items())) or "n/a"


def csv_bytes(df: pd.DataFrame) -> bytes:
    """The CSV a download button serves, written like the pipeline's own CSV files: text that
    a spreadsheet would run as a formula (``= + - @``, tab, carriage return) is prefixed with
    ``'`` by :func:`bankseg.io.neutralise_formulas`."""
    table = pa.Table.from_pandas(neutralise_formulas(df), preserve_index=False)
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink)
    return sink.getvalue().to_pybytes()


def download_name(source: str, segment: int | str) -> str:
    stem = re.sub(r"[^\w\-]", "_", Path(source).stem) or "customers"
    return f"{stem}_segment_{segment}.csv"


@dataclass(frozen=True)
class Status:
    params_text: str | None
    metrics: dict[str, dict]  # file stem -> contents
    plots: list[tuple[str, Path]]  # title, path (existing ones only)
    missing_plots: list[str]
    lock_written: str | None  # when dvc.lock was last written (by dvc repro)
    model_md5: str | None  # the model's MD5 as dvc.lock records it


def pipeline_status(root: Path) -> Status:
    """The state of the last ``dvc repro``: params, metrics, plots, when it ran."""
    params_file = root / PARAMS
    params_text = params_file.read_text(encoding="utf-8") if params_file.is_file() else None
    metrics = {}
    for path in sorted((root / METRICS).glob("*.json")):
        try:
            metrics[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
    plots = [(title, root / p) for title, p in PLOTS if (root / p).is_file()]
    missing = [p for _, p in PLOTS if not (root / p).is_file()]
    lock = root / LOCK_FILE
    lock_written, model_md5 = None, None
    if lock.is_file():
        lock_written = dt.datetime.fromtimestamp(lock.stat().st_mtime).strftime("%Y-%m-%d %H:%M:%S")
        try:
            model_md5 = recorded_md5(root / MODEL, root)
        except InputError:  # an unreadable dvc.lock: the page still shows the rest
            model_md5 = None
    return Status(params_text, metrics, plots, missing, lock_written, model_md5)


def key_figures(metrics: dict[str, dict]) -> list[tuple[str, str]]:
    """The few numbers worth a headline on the status page, as (label, value) pairs."""
    train = metrics.get("train", {})
    quality = metrics.get("data_quality", {}).get("customers", {})
    figures = [
        ("segments (K)", train.get("n_clusters")),
        ("customers trained on", train.get("n_customers")),
        ("silhouette", train.get("silhouette")),
        ("stability (mean ARI)", metrics.get("stability", {}).get("mean_ari")),
        ("rows rejected", quality.get("rows_rejected")),
    ]
    return [
        (label, f"{value:,}" if isinstance(value, int) else str(value))
        for label, value in figures
        if value is not None
    ]
