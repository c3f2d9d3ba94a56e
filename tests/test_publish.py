"""``python -m bankseg publish``: a finished run's segments written to PostgreSQL (a real server,
tests/postgres.py) and to SQLite, once per run, in one transaction, without personal data."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from dvc_repo import dvc, git, read_lock
from lock_file import record_outputs
from postgres import SUPERUSER_PASSWORD, database_fixture, server_fixture  # noqa: F401 (fixtures)
from reference_run import reference_run

from bankseg.cli import main
from bankseg.io.publication import PUBLISHED_COLUMNS
from bankseg.personal import personal_name_kind

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parent.parent
TABLE = "segments"
PERSONAL = ["customer_name", "customer_pan_card_no", "customer_adhar_card_no", "mobile_no", "address"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A finished pipeline run on 1,500 generated customers (a copy for this module)."""
    return reference_run(tmp_path_factory, "publish").repo


def _args(repo: Path, conn: str, *extra: str, assigned: str = "data/assigned/customers.csv") -> list[str]:
    return [
        "publish",
        "--conn",
        conn,
        "--table",
        TABLE,
        "--params",
        str(repo / "params.yaml"),
        "--model",
        str(repo / "models/model.skops"),
        "--assigned",
        str(repo / assigned),
        *extra,
    ]


def _publish(repo: Path, conn: str, *, assigned: str = "data/assigned/customers.csv") -> None:
    main(_args(repo, conn, assigned=assigned))


def _refused(repo: Path, conn: str, capsys, **kwargs) -> str:
    """The one error line of a publish that must fail (exit status 2)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        _publish(repo, conn, **kwargs)
    assert info.value.code == 2
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("INFO")]
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def _contents(url: str) -> dict[str, list[tuple]]:
    """Every row of the three objects, in a fixed order; {} for objects that do not exist."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            names = set(sa.inspect(connection).get_table_names()) | set(
                sa.inspect(connection).get_view_names()
            )
            return {
                name: [
                    tuple(row) for row in connection.exec_driver_sql(f"SELECT * FROM {name} ORDER BY 1, 2")
                ]
                for name in (TABLE, f"{TABLE}_runs", f"{TABLE}_current")
                if name in names
            }
    finally:
        engine.dispose()


def _url(server, database: str) -> str:
    return server.url(database, password=SUPERUSER_PASSWORD)


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def _other_run(repo: Path, name: str, change) -> str:
    """An assigned file of another run: ``change`` applied to the workspace's, recorded in
    dvc.lock as an output of assign (as `dvc repro` records its outputs); its path."""
    frame = pd.read_csv(repo / "data/assigned/customers.csv", dtype={"customer_id": str})
    path = repo / "data/assigned" / name
    change(frame).to_csv(path, index=False)
    record_outputs(repo, path, stage="assign")
    return f"data/assigned/{name}"


def test_publish_writes_every_assigned_customer_once(repo, postgres_server, postgres_database):
    url = _url(postgres_server, postgres_database)
    _publish(repo, url)
    first = _contents(url)
    _publish(repo, url)
    assert _contents(url) == first  # the same run again: nothing changed

    assigned = pd.read_csv(repo / "data/assigned/customers.csv", dtype={"customer_id": str})
    lock = read_lock(repo)
    model_md5 = next(o["md5"] for o in lock["stages"]["train"]["outs"] if o["path"] == "models/model.skops")
    head = git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    (run,) = first[f"{TABLE}_runs"]
    run_id, number, run_model, assigned_md5, revision, run_time, customers = run
    assert (number, run_model, customers) == (1, model_md5, len(assigned))
    assert assigned_md5 == _md5(repo / "data/assigned/customers.csv")
    assert revision.startswith(head)
    rows = pd.DataFrame(first[TABLE], columns=list(PUBLISHED_COLUMNS))
    assert len(rows) == len(assigned) > 1000  # of the 1,500 generated customers, those prepare kept
    expected = assigned.sort_values("customer_id").reset_index(drop=True)
    table = rows.sort_values("customer_id").reset_index(drop=True)
    assert table["customer_id"].tolist() == expected["customer_id"].tolist()
    assert table["segment"].tolist() == expected["segment"].tolist()
    assert table["segment_name"].tolist() == expected["segment_name"].tolist()
    assert table["distance"].tolist() == pytest.approx(expected["distance"].tolist())
    assert set(rows["run_id"]) == {run_id} and set(rows["model_md5"]) == {model_md5}
    assert set(rows["run_time"]) == {run_time}
    assert first[f"{TABLE}_current"] == first[TABLE]


def test_a_second_run_keeps_the_first_and_becomes_current(repo, postgres_server, postgres_database):
    url = _url(postgres_server, postgres_database)
    _publish(repo, url)
    second = _other_run(repo, "second.csv", lambda f: f.assign(distance=f["distance"] + 1).iloc[:1000])
    _publish(repo, url, assigned=second)
    after = _contents(url)
    runs = after[f"{TABLE}_runs"]
    assert [number for _, number, *_ in sorted(runs, key=lambda r: r[1])] == [1, 2]
    first_id, second_id = (r[0] for r in sorted(runs, key=lambda r: r[1]))
    assert {r[0] for r in after[TABLE]} == {first_id, second_id}
    assert len(after[TABLE]) == runs[0][6] + runs[1][6]
    assert {r[0] for r in after[f"{TABLE}_current"]} == {second_id}
    assert len(after[f"{TABLE}_current"]) == 1000

    # Publishing the first run again changes nothing: it stays in the history, the second current.
    _publish(repo, url)
    assert _contents(url) == after


def test_the_table_holds_no_personal_column(repo, postgres_server, postgres_database):
    url = _url(postgres_server, postgres_database)
    _publish(repo, url)
    columns = [
        name
        for (name,) in postgres_server.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
            (TABLE,),
            database=postgres_database,
        )
    ]
    assert columns == list(PUBLISHED_COLUMNS)
    assert [c for c in columns if personal_name_kind(c)] == []
    raw = pd.read_csv(repo / "data/raw/customers.csv", dtype=str, keep_default_na=False)
    personal_values = {v for column in PERSONAL for v in raw[column] if len(v) > 3}
    published = {str(v) for row in _contents(url)[TABLE] for v in row}
    assert personal_values and not personal_values & published


def test_a_tampered_model_is_refused_and_the_table_untouched(
    repo, postgres_server, postgres_database, capsys
):
    url = _url(postgres_server, postgres_database)
    _publish(repo, url)
    before = _contents(url)
    model = repo / "models/model.skops"
    original = model.read_bytes()
    # A different run would be published if the model were accepted: the assigned file changes too.
    second = _other_run(repo, "tampered.csv", lambda f: f.iloc[:10])
    model.unlink()  # DVC may link the workspace file to its cache: replace, never write through
    model.write_bytes(original + b"\0")
    try:
        error = _refused(repo, url, capsys, assigned=second)
    finally:
        model.unlink()
        model.write_bytes(original)
    assert "does not match" in error and "refusing to load it" in error
    assert _contents(url) == before


def test_a_publish_killed_half_way_leaves_the_table_as_it_was(repo, postgres_server, postgres_database):
    url = _url(postgres_server, postgres_database)
    _publish(repo, url)
    before = _contents(url)

    def many(frame: pd.DataFrame) -> pd.DataFrame:
        copies = [frame.assign(customer_id=f"{i}-" + frame["customer_id"]) for i in range(200)]
        return pd.concat(copies, ignore_index=True)

    large = _other_run(repo, "large.csv", many)
    process = subprocess.Popen(
        [sys.executable, "-m", "bankseg", *_args(repo, url, assigned=large)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    watching = f"INSERT INTO {TABLE} (%"
    seen = False
    deadline = time.monotonic() + 240
    try:
        while process.poll() is None and time.monotonic() < deadline:
            seen = bool(
                postgres_server.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND query LIKE %s",
                    (postgres_database, watching),
                )
            )
            if seen:
                time.sleep(0.5)  # some batches of rows are in the transaction by now
                break
            time.sleep(0.05)
        assert seen, f"never saw the INSERT; the command ended with {process.poll()}: {process.stderr.read()}"
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stderr.close()
    # The server notices the closed connection and rolls its transaction back.
    for _ in range(200):
        if not postgres_server.execute(
            "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (postgres_database,),
        ):
            break
        time.sleep(0.05)
    assert _contents(url) == before


def test_the_connection_name_of_dvc_config_serves_publish(repo, postgres_server, postgres_database):
    secret = "publish-secret-7f3a"
    postgres_server.execute(f"CREATE ROLE writer LOGIN PASSWORD '{secret}'")
    postgres_server.execute("GRANT CREATE ON SCHEMA public TO writer", database=postgres_database)
    try:
        dvc("config", "db.published.url", postgres_server.url(postgres_database, user="writer"), cwd=repo)
        dvc("config", "--local", "db.published.password", secret, cwd=repo)
        _publish(repo, "published")
        assert secret not in (repo / ".dvc/config").read_text()
        assert len(_contents(_url(postgres_server, postgres_database))[TABLE]) > 1000
    finally:
        dvc("config", "--unset", "db.published.url", cwd=repo, check=False)
        dvc("config", "--local", "--unset", "db.published.password", cwd=repo, check=False)


def test_mistakes_are_one_line_without_the_password(
    repo, postgres_server, postgres_database, capsys, tmp_path
):
    secret = "not-the-password-91c2"
    port = postgres_server.port
    cases = {
        f"postgresql+psycopg://postgres:{secret}@127.0.0.1:{port}/{postgres_database}": "password authentication failed",
        f"postgresql+psycopg://postgres:{secret}@127.0.0.1:1/{postgres_database}": "cannot connect",
        f"postgresql+psycopg2://postgres:{secret}@127.0.0.1:{port}/db": "driver 'psycopg2' is not installed",
        f"postgresql+nosuch://postgres:{secret}@127.0.0.1:{port}/db": "no SQLAlchemy dialect or driver",
        f"postgresql+psycopg://postgres:{secret}@127.0.0.1:port/db": "not a valid database URL",
        "no_such_connection": "no such database connection in the DVC configuration",
    }
    for conn, expected in cases.items():
        error = _refused(repo, conn, capsys)
        assert expected in error, (conn, error)
        assert secret not in error
    error = _refused(
        repo, _url(postgres_server, postgres_database), capsys, assigned="data/assigned/missing.csv"
    )
    assert "missing.csv: not found; run the pipeline first" in error
    assert _contents(_url(postgres_server, postgres_database)) == {}
    # A read-only role is refused by the server, in one line; nothing is written.
    postgres_server.execute(f"CREATE ROLE reader_{port} LOGIN PASSWORD '{secret}'")
    postgres_server.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC", database=postgres_database)
    reader = postgres_server.url(postgres_database, user=f"reader_{port}", password=secret)
    error = _refused(repo, reader, capsys)
    assert "permission denied" in error and "nothing was written" in error and secret not in error
