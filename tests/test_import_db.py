"""``dvc import-db``: customers snapshotted from a PostgreSQL warehouse (a real server,
tests/postgres.py) into data/raw/, an ordinary DVC-tracked input of prepare, as docs/warehouse.md
describes it: a read-only role, the password only in the git-ignored local config or the
environment, ``dvc update`` when the warehouse changes."""

from __future__ import annotations

import re
import uuid

import pandas as pd
import psycopg
import pytest
import yaml
from dvc_repo import commit_all, dvc, git, read_lock, run, set_params
from postgres import server_fixture  # noqa: F401 (fixture)
from reference_run import STAGES, reference_run

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SNAPSHOT = "data/raw/customers_warehouse.csv"
SECRET = f"reader-{uuid.uuid4().hex}"  # made here, so that no file holds it unless written there
# A total order (the generated customers repeat some ids), so that a snapshot of unchanged
# data is the same file.
QUERY = "SELECT * FROM customers ORDER BY customer_id::integer, customers::text"


def _ran(result) -> list[str]:
    """The stages a `dvc repro` ran, from its output."""
    return re.findall(r"Running stage '([\w-]+)'", result.stdout + result.stderr)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _load_warehouse(server, raw: pd.DataFrame) -> str:
    """A database ``bank`` with the table ``customers`` (every column text) holding ``raw``,
    readable by the role ``reader`` (SELECT only); its name."""
    database = server.create_database("bank")
    columns = ", ".join(f'"{c}" text' for c in raw.columns)
    with server.connect(database) as connection:
        connection.execute(f"CREATE TABLE customers ({columns})")
        with connection.cursor().copy("COPY customers FROM STDIN") as copy:
            for row in raw.itertuples(index=False):
                copy.write_row(row)
    server.execute(f"CREATE ROLE reader LOGIN PASSWORD '{SECRET}'")
    server.execute(f'GRANT CONNECT ON DATABASE "{database}" TO reader')
    server.execute("GRANT SELECT ON customers TO reader", database=database)
    return database


def test_import_db_snapshot_feeds_prepare_and_dvc_update_reruns_from_prepare(
    tmp_path_factory, postgres_server
):
    repo = reference_run(tmp_path_factory, "import-db").repo
    raw = pd.read_csv(repo / "data/raw/customers.csv", dtype=str, keep_default_na=False)
    database = _load_warehouse(postgres_server, raw)
    outputs = []

    # The connection in the committed config, the password only in the git-ignored local one.
    dvc("config", "db.warehouse.url", postgres_server.url(database, user="reader"), cwd=repo)
    dvc("config", "--local", "db.warehouse.password", SECRET, cwd=repo)
    outputs.append(dvc("import-db", "--sql", QUERY, "--conn", "warehouse", "-o", SNAPSHOT, cwd=repo))
    snapshot = pd.read_csv(repo / SNAPSHOT, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(_sorted(snapshot), _sorted(raw))
    stage = yaml.safe_load((repo / f"{SNAPSHOT}.dvc").read_text())
    assert stage["deps"] == [{"db": {"connection": "warehouse", "file_format": "csv", "query": QUERY}}]
    assert stage["frozen"] is True
    # reader may read, never write.
    with (
        psycopg.connect(
            host="127.0.0.1", port=postgres_server.port, user="reader", password=SECRET, dbname=database
        ) as reader,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        reader.execute("DELETE FROM customers")

    set_params(repo, {"data": {"raw": SNAPSHOT}})
    commit_all(repo, "customers from the warehouse")
    generate_before = read_lock(repo)["stages"]["generate"]
    first = dvc("repro", cwd=repo)
    outputs.append(first)
    assert "prepare" in _ran(first) and "generate" not in _ran(first)
    prepare_deps = {d["path"] for d in read_lock(repo)["stages"]["prepare"]["deps"]}
    assert SNAPSHOT in prepare_deps and "data/raw/customers.csv" not in prepare_deps
    commit_all(repo, "run on the warehouse snapshot")

    # A customer changes in the warehouse; the next snapshot is taken with the password in
    # the environment instead (libpq reads PGPASSWORD).
    assigned = pd.read_csv(repo / "data/assigned/customers.csv", dtype=str)["customer_id"]
    kept = next(i for i in assigned if (raw["customer_id"] == i).sum() == 1)
    postgres_server.execute(
        "UPDATE customers SET networth = (networth::numeric * 20 + 1000000)::text WHERE customer_id = %s",
        (kept,),
        database=database,
    )
    dvc("config", "--local", "--unset", "db.warehouse.password", cwd=repo)
    refused = dvc("update", f"{SNAPSHOT}.dvc", cwd=repo, check=False)
    assert refused.returncode != 0  # no password anywhere
    outputs.append(run(["dvc", "update", f"{SNAPSHOT}.dvc"], repo, extra_env={"PGPASSWORD": SECRET}))
    changed = pd.read_csv(repo / SNAPSHOT, dtype=str, keep_default_na=False)
    assert (changed != snapshot).any(axis=1).sum() == 1

    second = dvc("repro", cwd=repo)
    outputs.append(second)
    assert sorted(_ran(second)) == sorted(STAGES[1:])  # prepare onward, not generate
    lock = read_lock(repo)
    assert lock["stages"]["generate"] == generate_before
    third = dvc("repro", cwd=repo)
    outputs.append(third)
    assert _ran(third) == []
    assert dvc("status", cwd=repo).stdout.strip() == "Data and pipelines are up to date."

    commit_all(repo, "the updated snapshot")
    committed = git("ls-files", cwd=repo).stdout.split()
    for name in [".dvc/config", f"{SNAPSHOT}.dvc", "dvc.lock"]:
        assert name in committed and SECRET not in (repo / name).read_text()
    assert run(["git", "grep", "-c", SECRET, "HEAD"], repo, check=False).stdout == ""  # in no committed file
    assert ".dvc/config.local" not in committed
    assert not [r for r in outputs if SECRET in r.stdout + r.stderr]
