"""``python -m bankseg publish`` to SQLite: the same code through SQLAlchemy as for PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from reference_run import reference_run
from test_publish import TABLE, _contents, _other_run, _publish

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return reference_run(tmp_path_factory, "publish-sqlite").repo


def test_sqlite_keeps_each_run_once_and_the_latest_current(repo, tmp_path):
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    _publish(repo, url)
    first = _contents(url)
    _publish(repo, url)
    assert _contents(url) == first
    second = _other_run(repo, "second.csv", lambda f: f.iloc[::2])
    _publish(repo, url, assigned=second)
    after = _contents(url)
    assert [run[1] for run in sorted(after[f"{TABLE}_runs"], key=lambda r: r[1])] == [1, 2]
    assert set(first[TABLE]) < set(after[TABLE])
    assert len(after[f"{TABLE}_current"]) == (len(first[TABLE]) + 1) // 2
    assert {row[0] for row in after[f"{TABLE}_current"]} != {row[0] for row in first[TABLE]}
    _publish(repo, url)  # the first run again: already there
    assert _contents(url) == after
