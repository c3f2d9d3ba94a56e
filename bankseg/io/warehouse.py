"""Publishing a run's segments to a database table through SQLAlchemy (PostgreSQL, SQLite).

Three objects, for ``--table segments``:

- ``segments``: one row per customer and run: run_id, customer_id, segment, segment_name,
  distance, model_md5, git_revision, run_time (primary key run_id, customer_id);
- ``segments_runs``: one row per run: run_id, number (1, 2, ... in order of publication),
  model_md5, assigned_md5, git_revision, run_time, customers;
- ``segments_current``: a view of the rows of the run published last.

A run is written in one transaction, so a failure half-way leaves the tables as they were;
a run already in ``segments_runs`` is not written again. The connection is a DVC database
connection name (``dvc config db.<name>.url ...``, read with DVC's own configuration code) or
an SQLAlchemy URL. Messages show the URL with its password hidden.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from bankseg.errors import InputError
from bankseg.io.publication import PUBLISHED_COLUMNS, Run, row_records

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install -r requirements-warehouse.txt"
INSERT_ROWS = 5000  # rows per INSERT statement batch
RUN_TABLE_COLUMNS = ("run_id", "number", "model_md5", "assigned_md5", "git_revision", "run_time", "customers")


@dataclass(frozen=True)
class Publication:
    """What publishing a run did."""

    new: bool  # False when the run was already published: nothing was written
    number: int  # the run's number in order of publication
    run_time: datetime.datetime  # when the run was first published


def shown_url(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _scrub(text: str, url: URL | None) -> str:
    """A driver's message in one line, without the password should it quote one."""
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    if url is not None and url.password:
        line = line.replace(str(url.password), "***")
    return line


def _parse_url(text: str) -> URL:
    try:
        return sa.make_url(text)
    except (ArgumentError, ValueError) as exc:
        # The text may hold a password: show only its scheme.
        scheme = text.split("://", 1)[0] if "://" in text else ""
        raise InputError(
            f"--conn: not a valid database URL (scheme {scheme!r}); expected a DVC connection name or "
            "an SQLAlchemy URL such as postgresql+psycopg://user@host:5432/database"
        ) from exc


def connection_url(conn: str, *, root: str | Path) -> URL:
    """The URL of ``--conn``: an SQLAlchemy URL (it holds ``://``), or the name of a database
    connection in the DVC configuration of the project ``root`` (``db.<name>.url``, and
    ``username`` and ``password`` when set, as ``dvc import-db`` reads them)."""
    if "://" in conn:
        return _parse_url(conn)
    from dvc.config import Config
    from dvc.exceptions import DvcException, NotDvcRepoError
    from dvc.repo import Repo

    try:
        config = Config(dvc_dir=Repo.find_dvc_dir(str(Path(root).absolute())))
        connections = config.get("db", {})
    except NotDvcRepoError as exc:
        raise InputError(
            f"--conn {conn!r}: not a URL, and {root} is in no DVC project whose configuration could "
            "name it; give an SQLAlchemy URL or run in the project"
        ) from exc
    except DvcException as exc:
        raise InputError(f"--conn {conn!r}: cannot read the DVC configuration ({_scrub(exc, None)})") from exc
    if conn not in connections:
        known = ", ".join(sorted(connections)) or "none"
        raise InputError(
            f"--conn {conn!r}: no such database connection in the DVC configuration (known: {known}); "
            f"set one with dvc config db.{conn}.url URL, or give an SQLAlchemy URL"
        )
    settings = dict(connections[conn])
    if "url" not in settings:
        raise InputError(
            f"--conn {conn!r}: the DVC configuration gives it no url (dvc config db.{conn}.url URL)"
        )
    url = _parse_url(settings.pop("url"))
    from dvc.database import url_from_config  # the same rule as dvc import-db

    return url_from_config({"url": url, **settings})


def git_revision(root: str | Path) -> str | None:
    """The commit checked out in ``root``, with ``-dirty`` when tracked files differ from it;
    None outside a git repository."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("-dirty" if changed else "")


@contextlib.contextmanager
def _database_errors(url: URL, what: str) -> Iterator[None]:
    """Database errors as one-line InputErrors naming the URL (password hidden)."""
    where = shown_url(url)
    try:
        yield
    except NoSuchModuleError as exc:
        raise InputError(
            f"{where}: no SQLAlchemy dialect or driver {url.drivername!r} ({INSTALL_HINT} for PostgreSQL)"
        ) from exc
    except ModuleNotFoundError as exc:
        raise InputError(
            f"{where}: the database driver {exc.name!r} is not installed ({INSTALL_HINT})"
        ) from exc
    except DBAPIError as exc:
        message = _scrub(exc.orig if exc.orig is not None else exc, url)
        if exc.connection_invalidated or isinstance(exc, sa.exc.OperationalError) and exc.statement is None:
            raise InputError(f"{where}: cannot connect ({message})") from exc
        raise InputError(f"{where}: {what} failed ({message}); nothing was written") from exc
    except SQLAlchemyError as exc:
        raise InputError(f"{where}: {what} failed ({_scrub(exc, url)}); nothing was written") from exc


def _tables(name: str, schema: str | None) -> tuple[sa.MetaData, sa.Table, sa.Table]:
    metadata = sa.MetaData(schema=schema)
    runs = sa.Table(
        f"{name}_runs",
        metadata,
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("number", sa.Integer, nullable=False, unique=True),
        sa.Column("model_md5", sa.String(32), nullable=False),
        sa.Column("assigned_md5", sa.String(32), nullable=False),
        sa.Column("git_revision", sa.String(64)),
        sa.Column("run_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customers", sa.Integer, nullable=False),
    )
    rows = sa.Table(
        name,
        metadata,
        sa.Column("run_id", sa.String(64), sa.ForeignKey(runs.c.run_id), primary_key=True),
        sa.Column("customer_id", sa.String, primary_key=True),
        sa.Column("segment", sa.Integer, nullable=False),
        sa.Column("segment_name", sa.String, nullable=False),
        sa.Column("distance", sa.Float, nullable=False),
        sa.Column("model_md5", sa.String(32), nullable=False),
        sa.Column("git_revision", sa.String(64)),
        sa.Column("run_time", sa.DateTime(timezone=True), nullable=False),
    )
    assert tuple(rows.c.keys()) == PUBLISHED_COLUMNS
    return metadata, runs, rows


def _check_existing(connection: sa.Connection, tables: list[sa.Table]) -> None:
    """Refuse to write into a table of the same name made for something else."""
    inspector = sa.inspect(connection)
    for table in tables:
        if not inspector.has_table(table.name, schema=table.schema):
            continue
        found = [c["name"] for c in inspector.get_columns(table.name, schema=table.schema)]
        if set(found) != set(table.c.keys()):
            raise InputError(
                f"table {table.fullname} exists with the columns {', '.join(found)}; expected "
                f"{', '.join(table.c.keys())} (was it made by something else? choose another --table)"
            )


def _create_view(connection: sa.Connection, rows: sa.Table, runs: sa.Table) -> None:
    """``<table>_current``: the rows of the run with the highest number, made once."""
    view = f"{rows.name}_current"
    if view in sa.inspect(connection).get_view_names(schema=rows.schema):
        return
    quote = connection.dialect.identifier_preparer

    def full(name: str) -> str:
        return f"{quote.quote_schema(rows.schema)}.{quote.quote(name)}" if rows.schema else quote.quote(name)

    connection.exec_driver_sql(
        f"CREATE VIEW {full(view)} AS SELECT * FROM {full(rows.name)} WHERE run_id = "
        f"(SELECT run_id FROM {full(runs.name)} ORDER BY number DESC LIMIT 1)"
    )


def _engine(url: URL) -> sa.Engine:
    with _database_errors(url, "opening the connection"):
        return sa.create_engine(url)


def publish(
    url: URL,
    table: tuple[str | None, str],
    rows,
    run: Run,
    *,
    now: datetime.datetime | None = None,
) -> Publication:
    """Write ``rows`` (:func:`bankseg.io.publication.published_rows`) of ``run`` to ``table``
    ((schema, name)), in one transaction, unless the run is already there."""
    schema, name = table
    metadata, runs, published = _tables(name, schema)
    engine = _engine(url)
    try:
        with _database_errors(url, f"publishing to {published.fullname}"):
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")  # a failed connection says so before any work
            with engine.begin() as connection:
                _check_existing(connection, [runs, published])
                metadata.create_all(connection)
                if connection.dialect.name == "postgresql":
                    # Publishers of one table take turns: the run numbers stay in order.
                    connection.exec_driver_sql(
                        f"LOCK TABLE {connection.dialect.identifier_preparer.format_table(runs)} "
                        "IN SHARE ROW EXCLUSIVE MODE"
                    )
                _create_view(connection, published, runs)
                found = connection.execute(sa.select(runs).where(runs.c.run_id == run.run_id)).first()
                if found is not None:
                    stored = connection.execute(
                        sa.select(sa.func.count()).where(published.c.run_id == run.run_id)
                    ).scalar_one()
                    if stored != found.customers:
                        raise InputError(
                            f"{published.fullname}: holds {stored} rows of run {run.run_id}, while "
                            f"{runs.fullname} records {found.customers}; it was changed by hand"
                        )
                    return Publication(new=False, number=found.number, run_time=found.run_time)
                number = connection.execute(
                    sa.select(sa.func.coalesce(sa.func.max(runs.c.number), 0))
                ).scalar_one()
                run_time = (now or datetime.datetime.now(datetime.UTC)).replace(microsecond=0)
                connection.execute(
                    sa.insert(runs).values(
                        run_id=run.run_id,
                        number=number + 1,
                        model_md5=run.model_md5,
                        assigned_md5=run.assigned_md5,
                        git_revision=run.git_revision,
                        run_time=run_time,
                        customers=run.customers,
                    )
                )
                records = row_records(rows, run, run_time)
                for start in range(0, len(records), INSERT_ROWS):
                    connection.execute(sa.insert(published), records[start : start + INSERT_ROWS])
                log.debug("inserted %d rows into %s", len(records), published.fullname)
        return Publication(new=True, number=number + 1, run_time=run_time)
    finally:
        engine.dispose()
