"""What ``python -m bankseg publish`` writes to a database: the rows of one run, and its identity.

Pure functions, no database and no files: :mod:`bankseg.io.warehouse` writes what they return.
A run is the pair (model, assigned customers file): its id is derived from the two files'
MD5s, so publishing the same run again is recognised and changes nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import pandas as pd

from bankseg.errors import InputError
from bankseg.personal import listed, personal_name_kind, personal_values_kind, shown_name

# The columns of the published table, in order: only these are ever written. The customer id
# is stored as text under a fixed name, whatever data.id_column calls it in the files.
CUSTOMER_ID = "customer_id"
ROW_COLUMNS = ("customer_id", "segment", "segment_name", "distance")
RUN_COLUMNS = ("model_md5", "git_revision", "run_time")
PUBLISHED_COLUMNS = ("run_id", *ROW_COLUMNS, *RUN_COLUMNS)

# Lower-case letters, digits and underscores, optionally after a schema name: such names need
# no quoting in SQL, so the table is called the same in every client. PostgreSQL names hold
# 63 bytes; the longest suffix added (``_current``) leaves 55 for the name.
MAX_TABLE_NAME = 55
_NAME = re.compile(rf"[a-z_][a-z0-9_]{{0,{MAX_TABLE_NAME - 1}}}")


@dataclass(frozen=True)
class Run:
    """One run of the pipeline as published: its id and what it is made of."""

    run_id: str
    model_md5: str
    assigned_md5: str
    git_revision: str | None  # None outside a git repository
    customers: int


def run_id(model_md5: str, assigned_md5: str) -> str:
    """The id of the run that assigned a file with ``assigned_md5`` using a model with ``model_md5``
    (16 hex digits of the SHA-256 of both): the same files give the same id."""
    return hashlib.sha256(f"{model_md5}:{assigned_md5}".encode()).hexdigest()[:16]


def table_name(text: str) -> tuple[str | None, str]:
    """(schema or None, table) of ``--table``: ``segments`` or ``analytics.segments``."""
    parts = text.split(".")
    if len(parts) > 2 or not all(_NAME.fullmatch(part) for part in parts):
        raise InputError(
            f"--table {shown_name(text)!r}: expected a table name of lower-case letters, digits "
            f"and underscores (at most {MAX_TABLE_NAME} characters, not starting with a digit), "
            "optionally after a schema name and a dot"
        )
    return (None, parts[0]) if len(parts) == 1 else (parts[0], parts[1])


def check_not_personal(
    assigned: pd.DataFrame,
    *,
    id_column: str,
    personal_columns: tuple[str, ...],
    not_personal: tuple[str, ...],
) -> None:
    """Refuse an id column that is personal data, by the rules of :mod:`bankseg.personal`: it is
    in ``prepare.personal_columns``, or its name or its values look personal (unless
    ``prepare.not_personal`` lists it)."""
    entry = listed(id_column, personal_columns)
    if entry is not None:
        raise InputError(
            f"id column {shown_name(id_column)!r} is personal data (it is {entry!r} in "
            "prepare.personal_columns); refusing to publish it"
        )
    if listed(id_column, not_personal) is not None:
        return
    kind = personal_name_kind(id_column)
    reason = f"its name says {kind}" if kind else personal_values_kind(assigned[id_column], text_column=False)
    if reason:
        raise InputError(
            f"id column {shown_name(id_column)!r} looks like personal data ({reason}); refusing to "
            "publish it. If it is not personal, list it in prepare.not_personal"
        )


def published_rows(
    assigned: pd.DataFrame,
    *,
    id_column: str,
    personal_columns: tuple[str, ...] = (),
    not_personal: tuple[str, ...] = (),
    source: str = "the assigned customers",
) -> pd.DataFrame:
    """The rows to publish from an assignment file (id column, segment, segment_name, distance):
    ``customer_id`` as text, ``segment``, ``segment_name``, ``distance``, nothing else."""
    expected = [id_column, "segment", "segment_name", "distance"]
    if list(assigned.columns) != expected:
        shown = ", ".join(shown_name(c) for c in assigned.columns)
        raise InputError(
            f"{source}: has the columns {shown}; expected {', '.join(expected)} as the assign "
            "stage writes them (is data.id_column the one the pipeline ran with?)"
        )
    check_not_personal(
        assigned, id_column=id_column, personal_columns=personal_columns, not_personal=not_personal
    )
    ids = assigned[id_column].astype("string")
    if ids.isna().any() or (ids == "").any():
        raise InputError(f"{source}: {int((ids.isna() | (ids == '')).sum())} rows without an id")
    if ids.duplicated().any():
        raise InputError(f"{source}: {int(ids.duplicated().sum())} ids appear more than once")
    try:
        segments = pd.to_numeric(assigned["segment"], errors="raise").astype("int64")
        distances = pd.to_numeric(assigned["distance"], errors="raise").astype("float64")
    except (ValueError, TypeError) as exc:
        raise InputError(f"{source}: segment and distance must be numbers ({exc})") from exc
    return pd.DataFrame(
        {
            CUSTOMER_ID: ids.astype(object),
            "segment": segments,
            "segment_name": assigned["segment_name"].astype("string").astype(object),
            "distance": distances,
        }
    )


def row_records(rows: pd.DataFrame, run: Run, run_time: object) -> list[dict]:
    """The published rows as records of :data:`PUBLISHED_COLUMNS`, ready for an INSERT."""
    records = rows.to_dict("records")
    shared = {"run_id": run.run_id, "model_md5": run.model_md5, "git_revision": run.git_revision}
    for record in records:
        record.update(shared, run_time=run_time)
        record["segment"] = int(record["segment"])
        record["distance"] = float(record["distance"])
    return records
