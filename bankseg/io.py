"""Writing every output atomically, and reading the pipeline's own JSON and model files.

Each writer writes to a temporary file in the target's folder and renames it into place,
so a killed run never leaves a half-written file where DVC would cache it.
"""

from __future__ import annotations

import contextlib
import glob
import io
import json
import math
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bankseg.errors import InputError
from bankseg.trust import ALLOWED_TYPES, check_recorded, check_types


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    Temporary files are named ``.<name>.<random>.tmp``: ``.dvcignore`` keeps them out of
    DVC's directory outputs, and the next write to ``path`` removes any a killed run left.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
            stale.unlink(missing_ok=True)  # left by a run that was killed before its rename
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise _cannot_write(path, exc) from exc
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)
        with open(tmp_path, "rb") as handle:  # on disk before the rename, also after a power cut
            os.fsync(handle.fileno())
        os.replace(tmp_path, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as exc:
        if exc.filename not in (None, str(tmp_path), str(path)):
            raise  # not this file's error (an input, say): the entry point names it
        raise _cannot_write(path, exc) from exc
    finally:
        tmp_path.unlink(missing_ok=True)


def _cannot_write(path: Path, exc: OSError) -> InputError:
    """One line for a failed write; the file that was there before is left as it was."""
    text = str(exc).strip()
    code = exc.errno or next((int(n) for n in re.findall(r"\[errno (\d+)\]", text)), None)  # pyarrow's
    reason = os.strerror(code) if code else text.splitlines()[0] if text else type(exc).__name__
    return InputError(f"{path}: cannot write ({reason}); the earlier file, if any, is unchanged")


def write_parquet(df: pd.DataFrame, path: str | Path) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def _no_null_columns(schema: pa.Schema) -> pa.Schema:
    """``schema`` with text for the columns that had no value at all (Arrow's null type)."""
    fields = [f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in schema]
    return pa.schema(fields, metadata=schema.metadata)


def parquet_block_writer(
    path: str | Path,
) -> contextlib.AbstractContextManager[Callable[[pd.DataFrame | pa.Table], None]]:
    """A context giving ``write(block)``, which appends frames or tables with the same columns
    to one Parquet file; the file appears on success. A frame written in one block gives the
    file of :func:`write_parquet`; a column without any value in the first block is text."""

    def to_table(block: pd.DataFrame | pa.Table, schema: pa.Schema | None) -> pa.Table:
        if isinstance(block, pa.Table):
            return block
        return pa.Table.from_pandas(block, schema=schema, preserve_index=False)

    return _block_writer(
        path, lambda tmp, schema: pq.ParquetWriter(tmp, schema, compression="zstd"), to_table
    )


@contextlib.contextmanager
def _block_writer(
    path: str | Path, open_writer: Callable[[Path, pa.Schema], Any], to_table: Callable[[Any, Any], pa.Table]
) -> Iterator[Callable[[Any], None]]:
    """Yield ``write(block)``: ``to_table(block, schema)`` (``schema`` is None for the first
    block) appended to the file ``open_writer(tmp, schema)`` writes, renamed onto ``path`` on success."""
    with atomic_path(path) as tmp:
        writer = schema = None

        def write(block: Any) -> None:
            nonlocal writer, schema
            table = to_table(block, schema)
            if writer is None:
                schema = _no_null_columns(table.schema)
                writer = open_writer(tmp, schema)
            writer.write_table(table.cast(schema))

        try:
            yield write
        finally:
            if writer is not None:
                writer.close()


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with an apostrophe.

    Cells starting with ``= + - @``, tab or carriage return are neutralised; plain numbers
    such as ``-1`` are left as they are.
    """
    out = df.copy()
    for column in out.columns:
        if out[column].dtype.kind not in "OSU" and not pd.api.types.is_string_dtype(out[column]):
            continue
        text = out[column].astype("string")
        starts = text.str.startswith(FORMULA_START).fillna(False)
        if not starts.any():  # the usual case: skip the slower number test
            continue
        risky = starts & ~text.str.match(_PLAIN_NUMBER).fillna(False)
        if risky.any():
            out[column] = out[column].astype(object).where(~risky, "'" + text[risky].astype(object))
    return out


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write CSV quickly with pyarrow (pandas' writer is several times slower).

    Text that a spreadsheet would run as a formula is neutralised first.
    """
    table = pa.Table.from_pandas(neutralise_formulas(df), preserve_index=False)
    with atomic_path(path) as tmp:
        pacsv.write_csv(table, tmp)


_ASCII_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _risky_rows(table: pa.Table) -> bool:
    """Whether any text cell starts like a spreadsheet formula (checked in Arrow, without Python strings)."""
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            starts = pc.is_in(pc.utf8_slice_codeunits(column, 0, 1), value_set=pa.array(FORMULA_START))
            if pc.any(starts).as_py():
                # Few cells start so; plain ASCII numbers such as -1 are left alone anyway.
                candidates = pc.filter(column, pc.fill_null(starts, False)).to_pylist()
                if not all(_ASCII_NUMBER.fullmatch(v) for v in candidates):
                    return True
    return False


def csv_block_writer(
    path: str | Path,
) -> contextlib.AbstractContextManager[Callable[[pa.Table | pd.DataFrame], None]]:
    """A context giving ``write(block)``, which appends a table or frame to one CSV; the file
    appears on success. Blocks have the same columns; a column without any value in the
    first block is text. The file is the bytes :func:`write_csv` writes for all blocks at
    once: frames, and tables with a cell that looks like a formula, go through
    :func:`neutralise_formulas`."""

    def to_table(block: pa.Table | pd.DataFrame, schema: pa.Schema | None) -> pa.Table:
        if isinstance(block, pd.DataFrame):
            block = pa.Table.from_pandas(neutralise_formulas(block), preserve_index=False)
        elif _risky_rows(block):
            block = pa.Table.from_pandas(neutralise_formulas(block.to_pandas()), preserve_index=False)
        return block.replace_schema_metadata(None)

    return _block_writer(path, pacsv.CSVWriter, to_table)


def write_csv_blocks(blocks: Iterable[pa.Table], path: str | Path) -> None:
    """Write Arrow tables with the same columns as one CSV, a block at a time."""
    with csv_block_writer(path) as write:
        for block in blocks:
            write(block)


def _rounded(value: Any, digits: int) -> Any:
    if isinstance(value, dict):
        return {str(k): _rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v, digits) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return round(value, digits)
    return value


def write_json(data: Any, path: str | Path, *, digits: int = 4) -> None:
    """Small, diffable JSON: sorted keys, rounded floats, non-finite values as null."""
    text = json.dumps(_rounded(data, digits), indent=2, sort_keys=True, ensure_ascii=False)
    write_text(text + "\n", path)


def read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"{path}: file not found; run the pipeline first (dvc repro)") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc


def write_text(text: str, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def save_figure(fig: Any, path: str | Path) -> None:
    """Save a matplotlib figure as PNG without metadata that changes between runs."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})


# skops names each array's file, and numbers each object, by id(obj), and dates each entry:
# the archive is rewritten with those replaced, so the same model gives the same bytes.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold


def _canonical_skops(data: bytes) -> bytes:
    """The skops archive ``data`` written the same way every time, with the same content.

    The ids (``__id__`` and the ``<id>.npy`` file names) are renumbered 1, 2, ... in order of
    first appearance in ``schema.json``, one mapping for both (an id can be shared by several
    nodes, and a node's array file carries its id). Entries are stored uncompressed, dated
    1980-01-01, arrays in that order and the schema last, the schema as compact JSON.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        numbers: dict[str, int] = {}
        arrays: dict[str, bytes] = {}  # new name -> content
        read: set[str] = set()  # old names

        def number(old: object) -> int:
            # From 1: skops does not remember an object whose id is 0.
            return numbers.setdefault(str(old), len(numbers) + 1)

        def renumber(node: Any) -> Any:
            if isinstance(node, list):
                return [renumber(v) for v in node]
            if not isinstance(node, dict):
                return node
            out = {}
            for key, value in node.items():  # in the order of the file
                if key == "__id__":
                    out[key] = number(value)
                elif key == "file" and "__loader__" in node and isinstance(value, str):
                    stem, dot, suffix = value.partition(".")
                    out[key] = f"{number(stem)}{dot}{suffix}"
                    arrays[out[key]] = archive.read(value)
                    read.add(value)
                else:
                    out[key] = renumber(value)
            return out

        schema = renumber(json.loads(archive.read("schema.json")))
        unnamed = set(archive.namelist()) - {"schema.json"} - read
    if unnamed:  # the schema does not name every file: this format is not the one we know
        raise ValueError(f"skops wrote files its schema does not name: {sorted(unnamed)}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        entries = sorted(arrays.items(), key=lambda item: int(item[0].partition(".")[0]))
        for name, content in [*entries, ("schema.json", json.dumps(schema, separators=(",", ":")).encode())]:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 3  # Unix, wherever it is written
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def save_model(model: Any, path: str | Path) -> None:
    """Save with skops (a zip of JSON and arrays, loaded without running code), byte for byte
    the same for the same model (:func:`_canonical_skops`)."""
    import skops.io

    data = _canonical_skops(skops.io.dumps(model))
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def load_model(path: str | Path, *, root: str | Path, stage: str | None = None) -> Any:
    """Load a model the pipeline saved, after checking it against the project's ``dvc.lock``.

    ``root`` is the project folder holding ``dvc.lock`` (stages run there; the command line
    uses the folder of its params file). The file is read once; its MD5 must be the one
    dvc.lock records (:func:`bankseg.trust.check_recorded`, where ``stage`` is the stage now
    running), and it must name only the types of :data:`bankseg.trust.ALLOWED_TYPES`
    (:func:`bankseg.trust.check_types`). Only then does skops build it, from those bytes.
    """
    import skops.io

    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{path}: model not found; run the pipeline first (dvc repro)") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read the model ({exc.strerror})") from exc
    check_recorded(path, data, root=root, stage=stage)
    check_types(path, data)
    try:
        return skops.io.loads(data, trusted=sorted(ALLOWED_TYPES))
    except (ValueError, TypeError, KeyError, AttributeError, ImportError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: cannot be loaded ({type(exc).__name__}: {exc}); run dvc repro") from exc
