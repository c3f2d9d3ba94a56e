"""The corpus of malformed customer files (tests/corpus.py) through the pipeline.

``data.raw`` (or ``data.new``) points at each malformed file in turn. A case either runs
with the documented handling, its counts in ``metrics/data_quality.json`` and
``data/prepared/rejected.csv``, or the prepare stage fails with exactly one ``error:`` line
that names the file, and no traceback.

Cases that stop at prepare run the stage's own command in this process (``run_stage``);
the first of each way in (``data.raw``, ``data.new``), refused or handled, and every case
that needs the later stages run through the real ``dvc repro``.

Two copies of one small pipeline run (600 + 100 generated customers) are used: failing
cases run in ``good``, to show what a failed run does to the outputs of the good run before
it, and how they come back; cases that succeed run in ``work``.
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import corpus
import pandas as pd
import pytest
from dvc_repo import clone_run, dvc, new_repo, output_hashes, read_json, run, run_stage, set_params

pytestmark = pytest.mark.slow

PARAMS = {
    "generate": {"n_customers": 600, "n_new_customers": 100},
    "elbow": {"k_max": corpus.K_MAX, "n_init": 2, "n_bootstrap": 2},
    "train": {"n_init": 2},
}
GOOD_DATA = {"raw": "data/raw/customers.csv", "new": "data/raw/new_customers.csv"}
PREPARED = [
    "data/prepared/customers.parquet",
    "data/prepared/new_customers.parquet",
    "data/prepared/rejected.csv",
]
PREPARE_OUTPUTS = [*PREPARED, "metrics/data_quality.json"]
# Every folder holding a stage output.
OUTPUT_FOLDERS = ["data/prepared", "data/features", "data/assigned", "models", "metrics", "plots", "reports"]
FORMULA_START = ("=", "+", "-", "@")
PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


@dataclass(frozen=True)
class Run:
    repo: Path
    files: dict[str, str]  # md5 of every file in the output folders after the good run
    lock: str


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def output_files(repo: Path) -> dict[str, str]:
    return {
        str(p.relative_to(repo)): md5(p)
        for folder in OUTPUT_FOLDERS
        for p in sorted((repo / folder).rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Run:
    repo = new_repo(tmp_path_factory.mktemp("bad_input"), PARAMS)
    dvc("repro", cwd=repo)
    (repo / "corpus").mkdir()
    return Run(repo, output_files(repo), (repo / "dvc.lock").read_text())


@pytest.fixture(scope="module")
def work(good, tmp_path_factory) -> Path:
    return clone_run(good.repo, tmp_path_factory.mktemp("bad_input_work") / "repo")


@pytest.fixture(scope="module")
def bases(good) -> dict[str, pd.DataFrame]:
    """Valid rows of the generated customers: what every corpus file is built from."""

    def read(rel: str) -> pd.DataFrame:
        return corpus.valid_base(pd.read_csv(good.repo / rel, dtype=str, keep_default_na=False))

    return {"raw": read(GOOD_DATA["raw"]), "new": read(GOOD_DATA["new"])}


def _params(cases: list[corpus.Case], kind: type) -> list:
    """The cases of ``kind``, each with how it runs: through ``dvc repro`` when it needs the
    later stages or is the first of its way in, otherwise the prepare stage alone."""
    chosen, seen = [], set()
    for case in cases:
        if not isinstance(case.prepare, kind):
            continue
        through_dvc = case.until != "prepare" or case.via not in seen
        seen.add(case.via)
        how = "dvc" if through_dvc else "stage"
        chosen.append(pytest.param(case, through_dvc, id=f"{case.slug}-{case.via}-{how}"))
    return chosen


def build(case: corpus.Case, repo: Path, bases: dict[str, pd.DataFrame]) -> tuple[str, pd.DataFrame]:
    """Write the case's file into the repository, point data.raw/data.new at it; its path."""
    base = bases["new" if case.via == "new" else "raw"]
    path = case.build(base, repo / "corpus" / case.slug).relative_to(repo).as_posix()
    data = dict(GOOD_DATA)
    for name in case.via.split("+"):
        data[name] = path
    if case.via == "raw+new":
        # A byte copy as the new batch: the very same file as data.new means "no new customers".
        copy = Path(path).with_name(f"{Path(path).stem}-new{Path(path).suffix}").as_posix()
        shutil.copyfile(repo / path, repo / copy)
        data["new"] = copy
    set_params(repo, {"data": data})
    return path, base


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]


# --- refused -----------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "through_dvc"), _params(corpus.CASES, corpus.Error))
def test_refused_in_one_line_and_nothing_else_changes(case, through_dvc, good, bases):
    repo = good.repo
    before, lock_before = output_files(repo), (repo / "dvc.lock").read_text()
    path, _ = build(case, repo, bases)

    result = (
        run(["dvc", "repro", "prepare"], repo, check=False) if through_dvc else run_stage(repo, "prepare")
    )

    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    [line] = error_lines(result)
    assert line.startswith(f"error: {path}: "), line
    for text in case.prepare.texts:
        assert re.search(text, line), f"{text!r} not in {line!r}"
    after = output_files(repo)
    if through_dvc:
        # DVC removed the stage's outputs before running it; nothing else was touched.
        assert not [p for p in PREPARE_OUTPUTS if p in after]
        assert after == {p: h for p, h in before.items() if p not in PREPARE_OUTPUTS}
    else:
        assert after == before  # the stage itself writes nothing when it refuses
    assert (repo / "dvc.lock").read_text() == lock_before


def test_a_failed_run_loses_nothing(good, bases):
    """After a failed ``dvc repro``, pointing data.raw back brings every output back unchanged."""
    repo = good.repo
    set_params(repo, {"data": GOOD_DATA})
    dvc("repro", cwd=repo)  # undo whatever the refused cases left
    assert output_files(repo) == good.files
    assert (repo / "dvc.lock").read_text() == good.lock
    [case] = [c for c in corpus.CASES if c.name == "unterminated quote"]
    path, _ = build(case, repo, bases)

    failed = run(["dvc", "repro"], repo, check=False)

    assert failed.returncode != 0
    assert "Traceback" not in failed.stdout + failed.stderr
    assert [line.split(":")[1].strip() for line in error_lines(failed)] == [path]
    assert "Running stage 'featurize'" not in failed.stdout
    after = output_files(repo)
    assert after == {p: h for p, h in good.files.items() if p not in PREPARE_OUTPUTS}
    assert (repo / "dvc.lock").read_text() == good.lock

    set_params(repo, {"data": GOOD_DATA})
    dvc("checkout", cwd=repo)
    recorded = output_hashes(repo)
    for rel in PREPARED:  # in DVC's cache: checked out as they were
        assert md5(repo / rel) == recorded[rel] == good.files[rel], rel
    # metrics/data_quality.json is not cached (cache: false): dvc repro takes it from the
    # run cache without running the stage.
    again = dvc("repro", cwd=repo)
    assert "Running stage" not in again.stdout, again.stdout
    assert output_files(repo) == good.files
    assert (repo / "dvc.lock").read_text() == good.lock
    assert "Data and pipelines are up to date" in dvc("status", cwd=repo).stdout


# --- handled -----------------------------------------------------------------------------


def _csv_cells(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


def _check_formulas(repo: Path, result) -> None:
    written = [repo / "data/prepared/rejected.csv", *sorted((repo / "data/assigned").rglob("*.csv"))]
    for path in written:
        cells = _csv_cells(path)
        risky = [c for c in cells if c.startswith(FORMULA_START) and not PLAIN_NUMBER.match(c)]
        assert not risky, f"{path}: {risky[:5]}"
    for rel in ("data/assigned/customers.csv", "data/assigned/new_customers.csv"):
        ids = pd.read_csv(repo / rel, dtype=str)["customer_id"].tolist()
        assert ids[:4] == ["'" + i for i in corpus.FORMULA_IDS], rel
    by_segment = pd.concat(
        pd.read_csv(p, dtype=str) for p in (repo / "data/assigned/new_by_segment").glob("*.csv")
    )
    assert {"'" + i for i in corpus.FORMULA_IDS} <= set(by_segment["customer_id"])
    rejected = pd.read_csv(repo / "data/prepared/rejected.csv", dtype=str)
    row = rejected[rejected["customer_id"] == "'" + corpus.FORMULA_REJECTED_ID]
    assert len(row) == 2  # from data.raw and from data.new
    assert list(rejected.columns) == ["file", "row", "customer_id", "reason"]  # nothing else of the row
    # names are personal data: dropped before anything is written
    for folder in ("data/prepared", "data/assigned", "reports"):
        for path in (repo / folder).rglob("*"):
            if path.is_file() and path.suffix != ".parquet":
                assert "HYPERLINK" not in path.read_text(encoding="utf-8"), path


def _check_grouping(repo: Path, result) -> None:
    networth = pd.read_parquet(repo / "data/prepared/customers.parquet")["networth"]
    assert networth.head(4).tolist() == [120000.0, 5000.0, 7500.0, 900.0]


def _check_latin1(repo: Path, result) -> None:
    assert "not UTF-8; read as Latin-1" in result.stderr


def _check_duplicates(repo: Path, result) -> None:
    prepared = pd.read_parquet(repo / "data/prepared/customers.parquet")
    assert (prepared["age"] != 30).any(), "the first occurrence of each id is kept"


def _check_identical(repo: Path, result) -> None:
    # One distinct customer: every one lands in the same segment; the pipeline still ends.
    assigned = pd.read_csv(repo / "data/assigned/customers.csv")
    assert assigned["segment"].nunique() == 1
    assert (repo / "reports/segments.md").stat().st_size > 0


def _check_new_scored(repo: Path, result) -> None:
    kept = read_json(repo / "metrics/data_quality.json")["new_customers"]["rows_kept"]
    assigned = pd.read_csv(repo / "data/assigned/new_customers.csv")
    assert len(assigned) == kept
    assert assigned["segment"].notna().all()
    parts = list((repo / "data/assigned/new_by_segment").glob("*.csv"))
    assert parts and sum(len(pd.read_csv(p)) for p in parts) == kept


def _check_respelled(repo: Path, result) -> None:
    prepared = pd.read_parquet(repo / "data/prepared/customers.parquet")
    assert set(prepared["income_slab"]) == {"Low", "Medium", "High"}


def _check_rejection_warning(repo: Path, result) -> None:
    [line] = [ln for ln in result.stderr.splitlines() if "more than gate.max_rejected_share" in ln]
    assert "unexpected_category" in line and "by column: income_slab" in line


EXTRA_CHECKS = {
    "ordinal_values_in_another_case_and_spacing": _check_respelled,
    "most_rows_outside_an_ordinal_s_order": _check_rejection_warning,
    "ids_and_names_that_look_like_formulas": _check_formulas,
    "numbers_with_grouping_and_rupee_sign": _check_grouping,
    "latin_1_encoding": _check_latin1,
    "duplicate_ids_with_different_data": _check_duplicates,
    "all_rows_identical": _check_identical,
    "unseen_ordinal_category_in_new_customers": _check_new_scored,
    "unseen_one_hot_category_in_new_customers": _check_new_scored,
}


@pytest.mark.parametrize(("case", "through_dvc"), _params(corpus.CASES, corpus.Ok))
def test_handled_and_counted(case, through_dvc, work, bases):
    path, base = build(case, work, bases)
    stages = [] if case.until == "analyze" else [case.until]

    result = run(["dvc", "repro", *stages], work, check=False) if through_dvc else run_stage(work, "prepare")

    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    assert error_lines(result) == []
    kept, rejected, reasons = case.prepare.counts(len(base))
    quality = read_json(work / "metrics/data_quality.json")
    sides = {"raw": ["customers"], "new": ["new_customers"], "raw+new": ["customers", "new_customers"]}
    for side in sides[case.via]:
        got = quality[side]
        assert (got["rows_read"], got["rows_kept"], got["rows_rejected"]) == (
            kept + rejected,
            kept,
            rejected,
        ), side
        assert got["rejected_by_reason"] == reasons, side
        if case.prepare.imputed is not None:
            expected = {c: corpus.count(v, len(base)) for c, v in case.prepare.imputed.items()}
            assert {c: got["imputed_values"][c] for c in expected} == expected, side
        assert len(pd.read_parquet(work / f"data/prepared/{side}.parquet")) == kept
    listed = pd.read_csv(work / "data/prepared/rejected.csv", dtype=str)
    inputs = {path, Path(path).with_name(f"{Path(path).stem}-new{Path(path).suffix}").as_posix()}
    assert listed["file"].isin(inputs).sum() == rejected * len(sides[case.via])
    if case.until in ("assign", "analyze") and "raw" in case.via:
        assert len(pd.read_csv(work / "data/assigned/customers.csv")) == kept
    if case.slug in EXTRA_CHECKS:
        EXTRA_CHECKS[case.slug](work, result)
