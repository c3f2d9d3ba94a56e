"""Every output written atomically, whole files of each format, and the pipeline's own JSON read.

Each writer writes to a temporary file in the target's folder and renames it into place,
so a killed run never leaves a half-written file where DVC would cache it.
"""

from __future__ import annotations

import contextlib
import glob
import json
import math
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bankseg.errors import InputError
from bankseg.io.formulas import neutralise_formulas


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


def write_csv(df: pd.DataFrame, path: str | Path) -> None:
    """Write CSV quickly with pyarrow (pandas' writer is several times slower).

    Text that a spreadsheet would run as a formula is neutralised first.
    """
    table = pa.Table.from_pandas(neutralise_formulas(df), preserve_index=False)
    with atomic_path(path) as tmp:
        pacsv.write_csv(table, tmp)


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
