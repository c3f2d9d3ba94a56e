"""What the dashboard shows, as plain functions (no streamlit import, unit-tested on their own).

Customers are scored exactly like ``python -m bankseg assign``: :func:`bankseg.data.reading.read_customers`,
then :func:`bankseg.data.cleaning.clean_customers` with the rules of ``params.yaml``, then
:func:`bankseg.segmentation.assignment.label_customers` with the model the pipeline trained, loaded by
:func:`bankseg.io.models.load_model`, which first checks it against the project's ``dvc.lock`` (its
MD5, then the types it holds). The model always comes from the project folder, never from an
upload. The features are encoded once; from them :func:`bankseg.segmentation.kmeans.nearest_segments` also
gives each customer's runner-up segment and how clear-cut its assignment is.

Figures read as in the report: counts, shares, amounts and category values come from
:mod:`bankseg.reporting.formatting`, with the report's whole-number columns. The status page's metrics
files become small tables (:func:`segment_table`, :func:`drift_table`, ...) and charts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
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

from bankseg import layout
from bankseg.dashboard.server import SAFE_OPTIONS
from bankseg.data.cleaning import clean_customers, needed_columns
from bankseg.data.reading import DELIMITERS, read_customers
from bankseg.errors import InputError
from bankseg.io.atomic import read_json
from bankseg.io.formulas import neutralise_formulas
from bankseg.io.models import load_model
from bankseg.io.trust import LOCK_FILE, recorded_md5
from bankseg.params import Params, load_params
from bankseg.reporting import formatting
from bankseg.reporting.formatting import Formatter
from bankseg.segmentation.assignment import check_model_settings, label_customers, read_segment_names
from bankseg.segmentation.encoding import feature_frame
from bankseg.segmentation.kmeans import nearest_segments

# The figures the status page shows, with their titles.
PLOTS = (("Choosing K", layout.ELBOW_PLOT), ("Segment profiles", layout.PROFILE_PLOT))

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
class TrainedSegmentation:
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


def load_segmentation(root: Path, model_loader: Callable[[Path], Any] | None = None) -> TrainedSegmentation:
    """Read params, the verified model and the segment names; raise InputError with one line
    (saying to run ``dvc repro`` when something is missing or does not match dvc.lock).

    ``model_loader(path)`` loads the model; by default :func:`bankseg.io.models.load_model`, checked
    against ``root``'s dvc.lock.
    """
    params = load_params(root / layout.PARAMS)
    model_path = root / layout.MODEL
    if not model_path.exists():
        raise InputError(f"{layout.MODEL}: no trained model in {root}; run the pipeline first (dvc repro)")
    model = model_loader(model_path) if model_loader else load_model(model_path, root=root)
    check_model_settings(model, params, model_path=layout.MODEL, params_path=layout.PARAMS)
    names = read_segment_names(read_json(root / layout.SEGMENTS))
    profiles, note = None, None
    if not (root / layout.PROFILES).exists():
        note = f"{layout.PROFILES} not found; run dvc repro to see the segment profiles"
    else:
        profiles = read_json(root / layout.PROFILES)
        if set(profiles.get("segments", {})) != {str(s) for s in names}:
            profiles, note = None, f"{layout.PROFILES} describes other segments than the model; run dvc repro"
    return TrainedSegmentation(root, params, model, names, profiles, note)


def model_cache_key(root: Path) -> str:
    """The MD5 of the model file and of dvc.lock ('' for a missing one): the key of the
    dashboard's model cache, so that a change to either is checked again."""
    digests = []
    for path in (root / layout.MODEL, root / LOCK_FILE):
        digests.append(hashlib.md5(path.read_bytes()).hexdigest() if path.is_file() else "")
    return ":".join(digests)


@dataclass(frozen=True)
class Scored:
    source: str  # the file name shown to the user
    labelled: pd.DataFrame  # id, segment, segment_name, distance (as the assign command writes)
    rejected: pd.DataFrame  # rows that failed validation, with the reason
    kept: pd.DataFrame  # the cleaned customers, in the order of labelled
    quality: dict
    # segment, distance, runner_up, runner_up_distance, clarity (bankseg.segmentation.kmeans.nearest_segments),
    # in the order of labelled
    nearest: pd.DataFrame
    formatter: Formatter  # how this file's figures read (as in the report)


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
        f"Up to {limit_mb} MB, {formatting.count(MAX_UPLOAD_ROWS)} rows and "
        f"{formatting.count(MAX_UPLOAD_COLUMNS)} columns; a Parquet "
        f"file up to {MAX_UPLOAD_UNCOMPRESSED_MB:,} MB uncompressed, {MAX_UPLOAD_DECODED_MB:,} MB in the "
        f"columns read, {formatting.count(MAX_UPLOAD_ROW_GROUPS)} row groups and {MAX_UPLOAD_FOOTER_MB} MB "
        "of metadata. "
        "Only the id, feature and profile columns are read; other columns (names, PAN, "
        "address...) are never loaded."
    )


def read_upload(
    name: str, data: bytes, limit_mb: int, *, columns: Callable[[str], bool] | None = None
) -> pd.DataFrame:
    """Read uploaded bytes with :func:`bankseg.data.reading.read_customers` (CSV or Parquet, by the name's
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


# How clear-cut an assignment must be to read "clearly": clarity is 1 - d1 / d2, from the
# distances to the nearest and the second-nearest segment centre (0 exactly between two
# segments, 1 at the centre). Measured with bankseg.segmentation.kmeans.nearest_segments on the built-in
# customers after `dvc repro` (data/prepared/customers.parquet and new_customers.parquet, the
# 5-segment model of the default params.yaml): quantiles of clarity 5% 0.35, 10% 0.48,
# 20% 0.60, 50% 0.78, 90% 0.85, the same on the training and on the new customers; below 0.6
# lie the least clear 19.7% of the training customers and 20.0% of the new ones, who read
# "between".
CLEAR_CUT = 0.6


def profile_formatter(
    params: Params, profiles: dict | None, customers: pd.DataFrame | None = None
) -> Formatter:
    """The report's way of showing figures: its whole-number columns (``whole_numbers`` of
    reports/segments.json), else those of ``customers``, else none."""
    whole = (profiles or {}).get("whole_numbers")
    if not isinstance(whole, list):
        numeric = [f.column for f in params.features.numeric]
        present = [c for c in numeric if customers is not None and c in customers.columns]
        whole = formatting.whole_columns(customers, present) if present else []
    return Formatter(params.features, params.report, whole)


def score(raw: pd.DataFrame, segmentation: TrainedSegmentation, source: str) -> Scored:
    """Clean and label customers like the ``assign`` command, with each customer's runner-up
    segment; InputError if none is valid. The features are encoded once, for both."""
    cleaned = clean_customers(raw, segmentation.params, source=source)
    if cleaned.kept.empty:
        raise InputError(no_valid_rows(source, cleaned.rejected, cleaned.quality))
    encoded = segmentation.model[:-1].transform(feature_frame(cleaned.kept, segmentation.params.features))
    labelled = label_customers(
        segmentation.model, segmentation.names, cleaned.kept, segmentation.params, encoded=encoded
    )
    nearest = nearest_segments(segmentation.model, encoded).reset_index(drop=True)
    formatter = profile_formatter(segmentation.params, segmentation.profiles, cleaned.kept)
    return Scored(source, labelled, cleaned.rejected, cleaned.kept, cleaned.quality, nearest, formatter)


def score_upload(name: str, data: bytes, segmentation: TrainedSegmentation, limit_mb: int) -> Scored:
    """Check, read and score an uploaded file, reading only the columns the cleaning uses
    (:func:`bankseg.data.cleaning.needed_columns`): the personal ones are never loaded."""
    raw = read_upload(name, data, limit_mb, columns=needed_columns(segmentation.params))
    return score(raw, segmentation, name)


def score_batch(segmentation: TrainedSegmentation) -> Scored:
    """Score the generated new-customer batch (params ``data.new``)."""
    path = segmentation.batch
    if not path.exists():
        raise InputError(
            f"{segmentation.params.data.new}: new-customer batch not found; run the pipeline first (dvc repro)"
        )
    return score(
        read_customers(path, needed_columns(segmentation.params)),
        segmentation,
        str(segmentation.params.data.new),
    )


def no_valid_rows(source: str, rejected: pd.DataFrame, quality: dict) -> str:
    if not len(rejected):
        return f"{source}: no customer rows, expected a header row and customer rows"
    first = rejected.iloc[0]
    return (
        f"{source}: none of the {formatting.count(quality['rows_read'])} rows is valid; "
        f"first problem, row {first['row']}: {first['reason']}"
    )


def rejected_summary(scored: Scored) -> str:
    quality = scored.quality
    reasons = ", ".join(
        f"{k.replace('_', ' ')}: {formatting.count(v)}" for k, v in quality["rejected_by_reason"].items()
    )
    return (
        f"{formatting.count(quality['rows_rejected'])} of {formatting.count(quality['rows_read'])} "
        f"rows rejected ({reasons})"
    )


def segment_profile(segmentation: TrainedSegmentation, segment: int) -> dict:
    """What reports/segments.json says of a segment ({} when it says nothing)."""
    profile = (segmentation.profiles or {}).get("segments", {}).get(str(segment))
    return profile if isinstance(profile, dict) else {}


def short_description(profile: dict | None) -> str:
    """The report's one-line description without its leading training counts and, when it
    names them, without its medians (the segment's table shows those): ``Stands out as ...``."""
    if not profile:
        return ""
    text = profile.get("description", "")
    head, sep, rest = text.partition(": ")
    text = rest if sep and "customers" in head else text
    _, found, traits = text.partition("stands out as ")
    return f"Stands out as {traits}" if found and traits else text


def description(profile: dict | None) -> str:
    """The report's plain sentence about a segment (``portrait``), else its one-line description."""
    portrait = (profile or {}).get("portrait")
    return portrait if isinstance(portrait, str) and portrait.strip() else short_description(profile)


def traits(profile: dict | None) -> list[str]:
    """The report's plain-words traits of a segment (``traits``), if it has them."""
    found = (profile or {}).get("traits")
    return [t for t in found if isinstance(t, str) and t.strip()] if isinstance(found, list) else []


def markdown_table(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` for ``st.table``, which renders every cell and header as Markdown: each one
    passed through :func:`plain`, so it is shown as it is."""
    shown = df.map(plain)
    shown.columns = [plain(c) for c in df.columns]
    return shown


def segment_label(segment: int | str, name: str | None) -> str:
    return f"{segment}: {name}" if name else str(segment)


def _file_sizes(scored: Scored, segmentation: TrainedSegmentation) -> pd.DataFrame:
    """Every segment (empty ones included): id, name, the count ``n`` in this file, and the
    count and share as the report writes them (``5,051``, ``25.3%``)."""
    counts = scored.labelled["segment"].value_counts()
    total = len(scored.labelled)
    rows = [
        {
            "segment": seg,
            "name": name,
            "n": int(counts.get(seg, 0)),
            "customers": formatting.count(int(counts.get(seg, 0))),
            "share": formatting.share(int(counts.get(seg, 0)) / total if total else 0.0),
        }
        for seg, name in sorted(segmentation.names.items())
    ]
    return pd.DataFrame(rows, columns=["segment", "name", "n", "customers", "share"])


def summary(scored: Scored, segmentation: TrainedSegmentation) -> pd.DataFrame:
    """One row per segment: id, name, customers and share in this file, and what the report
    says of the segment (its portrait, else its one-line description)."""
    sizes = _file_sizes(scored, segmentation)
    sizes["description"] = [description(segment_profile(segmentation, seg)) for seg in sizes["segment"]]
    return sizes.drop(columns="n")


def size_chart_data(scored: Scored, segmentation: TrainedSegmentation) -> pd.DataFrame:
    """Customers per segment for the bar chart: the label ``0: name``, the count, and the
    count and share as the summary table writes them (for the tooltips)."""
    sizes = _file_sizes(scored, segmentation)
    sizes["segment"] = [
        segment_label(seg, name) for seg, name in zip(sizes["segment"], sizes["name"], strict=True)
    ]
    return sizes.drop(columns="name")


def assignment_words(
    segment: pd.Series, runner_up: pd.Series, clarity: pd.Series, names: dict[int, str]
) -> pd.Series:
    """How clear-cut each assignment is, in words: ``clearly segment 2 (Young savers)`` when
    the clarity is at least :data:`CLEAR_CUT` (or there is no other segment), else ``between
    segments 2 and 4, closer to 2``."""
    segment = pd.Series(segment).reset_index(drop=True).astype("int64")
    runner_up = pd.Series(runner_up).reset_index(drop=True).astype("Int64")
    clarity = pd.Series(clarity).reset_index(drop=True).astype("float64")
    seg = segment.astype(str)
    clear = "clearly segment " + seg + " (" + segment.map(names).fillna("").astype(str) + ")"
    between = "between segments " + seg + " and " + runner_up.astype(str) + ", closer to " + seg
    is_clear = (clarity >= CLEAR_CUT) | runner_up.isna()
    return clear.where(is_clear.to_numpy(), between)


CUSTOMER_COLUMNS = ("clarity", "assignment", "runner-up segment")


def clarity_note(scored: Scored) -> str:
    """What the runner-up and the clarity mean, and how many of this file's customers lie
    between two segments, in two sentences."""
    clarity = scored.nearest["clarity"].round(2)
    between = float((clarity < CLEAR_CUT).mean()) if len(clarity) else 0.0
    return (
        "Each customer is in the segment whose centre is nearest; the runner-up is the next "
        "nearest. Clarity runs from 0 (exactly between two segments) to 1 (at the centre); below "
        f"{CLEAR_CUT} a customer reads as between two segments: {formatting.share(between)} of the "
        "customers in this file."
    )


def segment_customers(scored: Scored, segmentation: TrainedSegmentation, segment: int) -> pd.DataFrame:
    """The customers of a segment as the page shows them: the id, the clarity (0 between two
    segments, 1 at the centre), how clear-cut the assignment is in words, and the runner-up
    segment. Nothing else of the customer is shown."""
    rows = (scored.labelled["segment"] == segment).to_numpy()
    labelled = scored.labelled[rows].reset_index(drop=True)
    nearest = scored.nearest[rows].reset_index(drop=True)
    id_column = segmentation.params.data.id_column
    runner_up = nearest["runner_up"]
    clarity = nearest["clarity"].round(2)  # the words follow the figure shown
    return pd.DataFrame(
        {
            id_column: labelled[id_column],
            "clarity": clarity,
            "assignment": assignment_words(labelled["segment"], runner_up, clarity, segmentation.names),
            "runner-up segment": [
                "" if pd.isna(r) else segment_label(int(r), segmentation.names.get(int(r))) for r in runner_up
            ],
        }
    )


DOWNLOAD_EXTRA = ("runner_up", "runner_up_name", "clarity")
DOWNLOAD_NOTE = (
    "A segment's CSV has the columns of python -m bankseg assign (the id, segment, segment_name "
    "and distance to the segment centre), then runner_up, runner_up_name and clarity."
)


def segment_download(scored: Scored, segmentation: TrainedSegmentation, segment: int) -> pd.DataFrame:
    """A segment's CSV: the columns of ``python -m bankseg assign`` (id, segment,
    segment_name, distance), then the runner-up segment, its name and the clarity."""
    rows = (scored.labelled["segment"] == segment).to_numpy()
    labelled = scored.labelled[rows].reset_index(drop=True)
    nearest = scored.nearest[rows].reset_index(drop=True)
    runner_up = nearest["runner_up"].astype("Int64")
    return labelled.assign(
        runner_up=runner_up.to_numpy(),
        runner_up_name=[None if pd.isna(r) else segmentation.names.get(int(r)) for r in runner_up],
        clarity=nearest["clarity"].round(4).to_numpy(),
    )


def numeric_profile(scored: Scored, segmentation: TrainedSegmentation, segment: int) -> pd.DataFrame:
    """Median of each numeric feature: this segment in this file, the segment among the
    training customers, and all training customers, in the feature's unit as the report
    writes it."""
    fmt = scored.formatter
    in_segment = (scored.labelled["segment"] == segment).to_numpy()
    profiles = segmentation.profiles or {}
    trained = segment_profile(segmentation, segment).get("numeric", {})
    base = profiles.get("base", {})
    rows = []
    for feature in segmentation.params.features.numeric:
        column = feature.column
        values = pd.to_numeric(scored.kept.loc[in_segment, column], errors="coerce")
        median = float(values.median()) if values.notna().any() else None
        rows.append(
            {
                "feature": fmt.label(column),
                "median in this file": fmt.value(column, median),
                "segment median (training)": fmt.value(column, trained.get(column, {}).get("median")),
                "all customers median": fmt.value(column, base.get(column, {}).get("median")),
            }
        )
    return pd.DataFrame(rows)


DIFFERENCE = "difference (standard deviations)"


def differentiators(segmentation: TrainedSegmentation, segment: int) -> pd.DataFrame:
    """What sets the segment apart from all customers: phrase and standardised difference,
    written as the report writes it (``-1.08``, ``+0.85``)."""
    profile = segment_profile(segmentation, segment)
    rows = [
        {"trait": d["phrase"], DIFFERENCE: f"{d['effect']:+.2f}"}
        for d in [*profile.get("differentiators", []), *profile.get("under_represented", [])]
    ]
    return pd.DataFrame(rows, columns=["trait", DIFFERENCE])


def category_mix(
    segmentation: TrainedSegmentation, segment: int, formatter: Formatter | None = None
) -> pd.DataFrame:
    """Share of each category value in the segment and among all customers (the base mix is
    the segments' mixes weighted by their shares), values named as params name them and in
    their order (``cautious 54%, moderate 42%, bold 4%``)."""
    segments = (segmentation.profiles or {}).get("segments", {})
    profile = segment_profile(segmentation, segment)
    if not profile:
        return pd.DataFrame(columns=["category", "in this segment", "all customers"])
    fmt = formatter or profile_formatter(segmentation.params, segmentation.profiles)
    rows = []
    for column, mix in profile.get("categories", {}).items():
        base: dict[str, float] = {}
        for other in segments.values():
            for value, share in other.get("categories", {}).get(column, {}).items():
                base[value] = base.get(value, 0.0) + share * other.get("share", 0.0)
        rows.append(
            {
                "category": fmt.label(column),
                "in this segment": _mix_text(fmt, column, mix),
                "all customers": _mix_text(fmt, column, base),
            }
        )
    return pd.DataFrame(rows, columns=["category", "in this segment", "all customers"])


def _mix_text(fmt: Formatter, column: str, mix: dict[str, float]) -> str:
    feature = fmt.categorical.get(column)
    order = list(feature.order) if feature is not None else []
    ranked = sorted(
        mix.items(), key=lambda item: (order.index(item[0]) if item[0] in order else len(order), item[0])
    )
    return (
        ", ".join(f"{fmt.category(column, value)} {formatting.mix_share(share)}" for value, share in ranked)
        or "n/a"
    )


def csv_bytes(df: pd.DataFrame) -> bytes:
    """The CSV a download button serves, written like the pipeline's own CSV files: text that
    a spreadsheet would run as a formula (``= + - @``, tab, carriage return) is prefixed with
    ``'`` by :func:`bankseg.io.formulas.neutralise_formulas`."""
    table = pa.Table.from_pandas(neutralise_formulas(df), preserve_index=False)
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink)
    return sink.getvalue().to_pybytes()


def download_name(source: str, segment: int | str) -> str:
    stem = re.sub(r"[^\w\-]", "_", Path(source).stem) or "customers"
    return f"{stem}_segment_{segment}.csv"


# ---- The status page: the last `dvc repro`'s metrics as small tables and charts ----


@dataclass(frozen=True)
class Status:
    params_text: str | None
    metrics: dict[str, dict]  # file stem -> contents
    plots: list[tuple[str, Path]]  # title, path (existing ones only)
    missing_plots: list[str]
    lock_written: str | None  # when dvc.lock was last written (by dvc repro)
    model_md5: str | None  # the model's MD5 as dvc.lock records it
    names: dict[str, str]  # segment id -> name (reports/segments.json, else models/segments.json)
    elbow: list[dict]  # the criteria per K (plots/elbow.json)
    formatter: Formatter | None  # labels and values as the report shows them (None without params)


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def _segment_names(root: Path) -> dict[str, str]:
    for path in (root / layout.PROFILES, root / layout.SEGMENTS):
        data = _json(path)
        segments = data.get("segments") if isinstance(data, dict) else None
        if isinstance(segments, dict):
            names = {str(k): v.get("name") for k, v in segments.items() if isinstance(v, dict)}
            if names and all(isinstance(n, str) for n in names.values()):
                return names
    return {}


def pipeline_status(root: Path) -> Status:
    """The state of the last ``dvc repro``: params, metrics, plots, when it ran."""
    params_file = root / layout.PARAMS
    params_text = params_file.read_text(encoding="utf-8") if params_file.is_file() else None
    metrics = {}
    for path in sorted((root / layout.METRICS_FOLDER).glob("*.json")):
        data = _json(path)
        if isinstance(data, dict):
            metrics[path.stem] = data
    plots = [(title, root / p) for title, p in PLOTS if (root / p).is_file()]
    missing = [p for _, p in PLOTS if not (root / p).is_file()]
    lock = root / LOCK_FILE
    lock_written, model_md5 = None, None
    if lock.is_file():
        lock_written = dt.datetime.fromtimestamp(lock.stat().st_mtime).strftime("%Y-%m-%d %H:%M:%S")
        try:
            model_md5 = recorded_md5(root / layout.MODEL, root)
        except InputError:  # an unreadable dvc.lock: the page still shows the rest
            model_md5 = None
    elbow = _json(root / layout.ELBOW_SCORES)
    elbow = [p for p in elbow if isinstance(p, dict) and "k" in p] if isinstance(elbow, list) else []
    formatter = None
    if params_text is not None:
        try:
            params = load_params(params_file)
            profiles = _json(root / layout.PROFILES)
            formatter = profile_formatter(params, profiles if isinstance(profiles, dict) else None)
        except InputError:  # a broken params.yaml: the page shows it, and the rest
            formatter = None
    return Status(
        params_text, metrics, plots, missing, lock_written, model_md5, _segment_names(root), elbow, formatter
    )


def _decimals(value: object, places: int = 2) -> str | None:
    return f"{value:.{places}f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def key_figures(metrics: dict[str, dict]) -> list[tuple[str, str, str]]:
    """The few numbers worth a headline on the status page: (label, value, what it means)."""
    train = metrics.get("train", {})
    quality = metrics.get("data_quality", {}).get("customers", {})
    stability = metrics.get("stability", {}).get("mean_ari", train.get("stability_mean_ari"))
    figures = [
        ("segments", _whole(train.get("n_clusters")), "How many segments the model forms."),
        ("customers", _whole(train.get("n_customers")), "Customers the model was trained on."),
        (
            "rows rejected",
            _whole(quality.get("rows_rejected")),
            f"Rows of the customer file the cleaning rejected, of {_whole(quality.get('rows_read')) or 'n/a'} read.",
        ),
        (
            "silhouette",
            _decimals(train.get("silhouette")),
            "How well separated the segments are: from -1 to 1, higher is better; above 0.5 is clear.",
        ),
        (
            "stability",
            _decimals(stability),
            "How closely refits on resampled customers find the same segments (mean adjusted Rand "
            "index): 1 means always the same.",
        ),
    ]
    return [(label, value, meaning) for label, value, meaning in figures if value is not None]


def _whole(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return formatting.count(value)


def _name(names: dict[str, str], segment: str) -> str:
    return names.get(str(segment), "")


def segment_sizes(metrics: dict[str, dict], names: dict[str, str]) -> pd.DataFrame:
    """Customers per segment among the training customers, for the bar chart: ``segment``
    (``0: name``), ``n``, and ``customers`` and ``share`` as the tables write them."""
    found = metrics.get("segments", {}).get("segments")
    if isinstance(found, dict) and found:
        sizes = {seg: entry.get("size") for seg, entry in found.items() if isinstance(entry, dict)}
        shares = {seg: entry.get("share") for seg, entry in found.items() if isinstance(entry, dict)}
    else:
        sizes = metrics.get("train", {}).get("segment_sizes", {}) or {}
        shares = {}
    sizes = {seg: n for seg, n in sizes.items() if isinstance(n, (int, float)) and not isinstance(n, bool)}
    total = sum(sizes.values())
    rows = [
        {
            "segment": segment_label(seg, _name(names, seg)),
            "n": int(n),
            "customers": formatting.count(n),
            "share": formatting.share(shares.get(seg, n / total if total else None)),
        }
        for seg, n in sorted(sizes.items(), key=lambda item: int(item[0]))
    ]
    return pd.DataFrame(rows, columns=["segment", "n", "customers", "share"])


def segment_table(metrics: dict[str, dict], names: dict[str, str]) -> pd.DataFrame:
    """One row per segment of the training customers: name, customers, share and bootstrap
    stability (Jaccard, 1: refits always find it), with a note in words."""
    columns = ["segment", "name", "customers", "share", "stability", "note"]
    segments = metrics.get("segments", {}).get("segments", {}) or {}
    stability = metrics.get("stability", {})
    jaccard = stability.get("segments", {}) or {}
    threshold = stability.get("threshold")
    if not segments:
        total = sum(metrics.get("train", {}).get("segment_sizes", {}).values()) or 0
        segments = {
            seg: {"size": n, "share": n / total if total else None}
            for seg, n in metrics.get("train", {}).get("segment_sizes", {}).items()
        }
    rows = []
    for seg, entry in sorted(segments.items(), key=lambda item: int(item[0])):
        value = jaccard.get(seg, {}).get("jaccard", entry.get("stability"))
        stable = jaccard.get(seg, {}).get("stable")
        notes = []
        if entry.get("small"):
            notes.append("small segment")
        if stable is False:
            notes.append(f"unstable (below {threshold})")
        rows.append(
            {
                "segment": int(seg),
                "name": _name(names, seg),
                "customers": formatting.count(entry.get("size", 0)),
                "share": formatting.share(entry.get("share")),
                "stability": _decimals(value) or "n/a",
                "note": "; ".join(notes) or ("stable" if stable else ""),
            }
        )
    return pd.DataFrame(rows, columns=columns)


# What each criterion of the elbow stage looks for, in words.
CRITERIA = {
    "stable_silhouette": "the best separated among the numbers of segments that refits reproduce",
    "silhouette": "the best separated (silhouette)",
    "consensus": "the number most criteria agree on",
    "knee": "the bend in the within-segment spread (the elbow)",
    "calinski_harabasz": "the Calinski-Harabasz index",
    "davies_bouldin": "the Davies-Bouldin index",
    "gap": "the gap statistic",
    "stability": "the most reproducible by refits",
}


def k_criteria(elbow: list[dict]) -> pd.DataFrame:
    """The criteria per number of segments that share a 0-1 scale (silhouette, stability),
    indexed by the number of segments, for a line chart."""
    rows = {
        int(p["k"]): {
            "separation (silhouette)": p.get("silhouette"),
            "stability": p.get("stability"),
        }
        for p in elbow
    }
    frame = pd.DataFrame.from_dict(rows, orient="index").sort_index().astype("float64")
    frame.index.name = "segments"
    return frame.dropna(axis=1, how="all")


def k_choices(choice: dict) -> pd.DataFrame:
    """Each criterion's number of segments (metrics/elbow.json ``choices``), in words, the one
    the pipeline follows first."""
    method = choice.get("method")
    ranked = sorted((choice.get("choices") or {}).items(), key=lambda item: item[0] != method)
    rows = [
        {"criterion": CRITERIA.get(name, name.replace("_", " ")), "segments": "none" if k is None else str(k)}
        for name, k in ranked
    ]
    return pd.DataFrame(rows, columns=["criterion", "segments"])


def k_sentence(choice: dict, n_clusters: int | None) -> str:
    """The suggested number of segments and the model's, in words."""
    k = choice.get("suggested_k")
    if k is None:
        return f"The model has {n_clusters} segments." if n_clusters else ""
    choices = [c for c in (choice.get("choices") or {}).values() if c is not None]
    agree = sum(1 for c in choices if c == k)
    method = CRITERIA.get(str(choice.get("method")), str(choice.get("method", "")).replace("_", " "))
    text = f"The pipeline suggests {k} segments: {method}"
    if choices:
        text += f"; {agree} of the {len(choices)} criteria below pick {k}"
    text += "."
    if n_clusters is not None:
        text += (
            f" The model has {n_clusters} segments."
            if n_clusters == k
            else f" The model has {n_clusters} segments, set in params.yaml (train.n_clusters)."
        )
    return text


def _psi_words(psi: float, threshold: float) -> str:
    if psi >= threshold:
        return "shifted: new customers differ, worth checking"
    if psi >= min(0.1, threshold / 2):
        return "small change"
    return "no real change"


def drift_table(drift: dict, formatter: Formatter | None = None) -> pd.DataFrame:
    """Each feature's population stability index (new customers against the training
    customers), largest first, with what it means in words."""
    threshold = drift.get("psi_threshold", 0.2)
    rows = [
        {
            "feature": formatter.label(column) if formatter else column.replace("_", " "),
            "PSI": f"{psi:.3f}",
            "change": _psi_words(psi, threshold),
        }
        for column, psi in sorted((drift.get("psi") or {}).items(), key=lambda item: (-item[1], item[0]))
        if isinstance(psi, (int, float))
    ]
    return pd.DataFrame(rows, columns=["feature", "PSI", "change"])


def drift_sentence(drift: dict, formatter: Formatter | None = None) -> str:
    """Whether any feature has shifted among the new customers, in one sentence."""
    threshold = drift.get("psi_threshold", 0.2)
    psi = {c: v for c, v in (drift.get("psi") or {}).items() if isinstance(v, (int, float))}
    if not psi:
        return ""
    shifted = [c for c, v in sorted(psi.items(), key=lambda item: -item[1]) if v >= threshold]
    n_new = drift.get("n_new")
    who = f"the {formatting.count(n_new)} new customers" if isinstance(n_new, int) else "the new customers"
    if not shifted:
        return f"No feature has shifted among {who} (largest population stability index {max(psi.values()):.3f}; a shift starts at {threshold})."
    labels = [formatter.label(c) if formatter else c.replace("_", " ") for c in shifted]
    return f"{len(shifted)} of {len(psi)} features have shifted among {who}: {', '.join(labels)}."


def drift_shares(drift: dict, metrics: dict[str, dict], names: dict[str, str]) -> pd.DataFrame:
    """Each segment's share among the training and among the new customers, and the change."""
    new = drift.get("new_share") or {}
    change = drift.get("share_change") or {}
    trained = metrics.get("segments", {}).get("segments", {}) or {}
    threshold = drift.get("share_threshold", 0.05)
    rows = []
    for seg in sorted(new, key=int):
        delta = change.get(seg)
        before = trained.get(seg, {}).get("share")
        if before is None and delta is not None:
            before = new[seg] - delta
        rows.append(
            {
                "segment": int(seg),
                "name": _name(names, seg),
                "training customers": formatting.share(before),
                "new customers": formatting.share(new[seg]),
                "change": "n/a" if delta is None else f"{delta * 100:+.1f} points",
                "flag": "changed" if delta is not None and abs(delta) >= threshold else "steady",
            }
        )
    return pd.DataFrame(
        rows, columns=["segment", "name", "training customers", "new customers", "change", "flag"]
    )


def fairness_table(fairness: dict) -> pd.DataFrame:
    """How strongly the segments follow each protected column (Cramér's V), flagged in words."""
    threshold = fairness.get("threshold")
    used = set(fairness.get("used_as_features") or [])
    rows = []
    for column, entry in (fairness.get("columns") or {}).items():
        flagged = bool(entry.get("flagged"))
        words = (
            f"yes (above {threshold}): offers by segment would treat its groups differently"
            if flagged
            else "no"
        )
        rows.append(
            {
                "column": column.replace("_", " "),
                "association": _decimals(entry.get("association")) or "n/a",
                "segments follow it": words + ("; used as a feature" if column in used else ""),
            }
        )
    return pd.DataFrame(rows, columns=["column", "association", "segments follow it"])


def outcomes_table(outcomes: dict, names: dict[str, str], formatter: Formatter | None = None) -> pd.DataFrame:
    """Each outcome per segment: its rate (share of customers with it) or mean, and the lift
    (the segment's figure divided by that of all customers)."""
    numbers = formatter.numbers if formatter else formatting.NumberFormat()
    columns = ["outcome", "segment", "figure", "lift"]
    rows = []
    for column, entry in (outcomes.get("outcomes") or {}).items():
        kind = entry.get("kind")
        if kind == "categories" or not isinstance(entry.get("segments"), dict):
            continue
        label = entry.get("label") or column.replace("_", " ")
        for seg, values in sorted(entry["segments"].items(), key=lambda item: int(item[0])):
            figure = (
                formatting.share(values.get("rate")) if kind == "rate" else numbers.number(values.get("mean"))
            )
            rows.append(
                {
                    "outcome": f"{label} (rate)" if kind == "rate" else f"{label} (mean)",
                    "segment": segment_label(seg, _name(names, seg)),
                    "figure": figure,
                    "lift": _decimals(values.get("lift")) or "n/a",
                }
            )
    return pd.DataFrame(rows, columns=columns)


def raw_metrics_text(data: dict) -> str:
    """A metrics file as indented JSON text (for the analysts' expander)."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
