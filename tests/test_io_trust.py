"""bankseg.io.trust: a model is loaded only when dvc.lock records it and it holds only our types.

The entry points (``python -m bankseg assign`` and ``python -m stages.assign``, run as
``python -m`` runs them, the command line also in a subprocess, and the dashboard's
``core.load_segmentation``) are given model files someone could put in place of ours
(tests/hostile_models.py: a pickle and a skops archive whose loading would create a marker
file), with and without the old ``.sha256`` file beside them: each refuses in one ``error:``
line and the marker never appears. The end-to-end cases (``dvc repro``, a tampered DVC
remote) are in crash_safety/test_crash_safety_damaged.py and test_run_copies.py."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import pydoc
import runpy
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import skops.io
import yaml
from dashboard_data import build_project
from dvc_repo import read_lock
from hostile_models import PAYLOADS, assert_runs_code
from lock_file import record_outputs
from sklearn.pipeline import Pipeline

from bankseg.__main__ import main
from bankseg.dashboard import core
from bankseg.data.cleaning import clean_customers
from bankseg.data.generate import generate_customers
from bankseg.errors import InputError
from bankseg.io.models import load_model, save_model
from bankseg.io.trust import ALLOWED_TYPES, check_types, project_path, schema_types
from bankseg.params import SCALERS, load_params
from bankseg.segmentation.encoding import fit_preprocessing
from bankseg.segmentation.kmeans import build_model, fit_kmeans

pytestmark = pytest.mark.slow  # seconds per test: subprocesses, apps or searches

ROOT = Path(__file__).resolve().parent.parent
MODEL = "models/model.skops"

# --- the allowlist of types ----------------------------------------------------------------

# Per run: numeric log on or off, category encodings, the missing-value strategies, and
# featurize.max_categories (2: the rarest values of a one-hot feature share a column); with
# every scaler, these cover every supported combination of the settings that change types.
# log "auto" on net worth with negative values takes the inverse hyperbolic sine; missing
# "flag" stands for median with flag_missing (a was-missing indicator).
VARIANTS = [
    (
        True,
        {},
        {"age": "median", "networth": "mean", "sip_amount": "zero", "income_slab": "most_frequent"},
        20,
    ),
    (False, {"income_slab": "onehot"}, {"age": "flag", "account_type": "level", "income_slab": "level"}, 2),
    ("auto", {"account_type": "ordinal"}, {}, 20),
]
SPARK_ONLY: set[str] = set()


def _variant_params(
    tmp_path: Path, scaler: str, log: bool, encodings: dict, missing: dict, max_categories: int
):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["featurize"]["scaler"] = scaler
    raw["featurize"]["max_categories"] = max_categories
    for feature in raw["features"]["numeric"].values():
        feature["log"] = log
        feature.pop("range", None)
    for column, encoding in encodings.items():
        entry = {"encoding": encoding}
        if encoding == "ordinal":
            entry["order"] = ["Savings", "Current"]
        raw["features"]["categorical"][column] = entry
    for kind in ("numeric", "categorical"):
        for column, feature in raw["features"][kind].items():
            strategy = missing.get(column, "drop")
            feature["missing"] = "median" if strategy == "flag" else strategy
            feature["flag_missing"] = strategy == "flag"
    path = tmp_path / f"{scaler}-{len(encodings)}-{len(missing)}-{max_categories}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_params(path)


def _saved_types(model, folder: Path) -> set[str]:
    save_model(model, folder / "m.skops")
    with zipfile.ZipFile(folder / "m.skops") as archive:
        return schema_types(json.loads(archive.read("schema.json")))


def test_allowed_types_are_exactly_those_of_every_supported_model(tmp_path):
    raw, _ = generate_customers(600, seed=3)
    # Net worth below zero for some: log "auto" of a skewed column takes the arcsinh.
    raw["networth"] = (pd.to_numeric(raw["networth"]) - 100_000).astype(str)
    raw.loc[:40, ["age", "networth", "income_slab", "account_type"]] = ""  # values to impute
    found: set[str] = set()
    for scaler, (log, encodings, missing, max_categories) in itertools.product(SCALERS, VARIANTS):
        params = _variant_params(tmp_path, scaler, log, encodings, missing, max_categories)
        kept = clean_customers(raw, params, source="customers.csv").kept
        preprocessing, X = fit_preprocessing(kept, params.features, params.featurize)
        kmeans = fit_kmeans(X, n_clusters=3, params=params.train)
        found |= _saved_types(preprocessing, tmp_path)
        found |= _saved_types(build_model(preprocessing, kmeans), tmp_path)
    assert found == ALLOWED_TYPES - SPARK_ONLY
    for name in ALLOWED_TYPES:  # each name is the object it means in these versions
        assert pydoc.locate(name) is not None, name


# --- checked against dvc.lock ----------------------------------------------------------------


@pytest.fixture
def model_dir(tmp_path, tiny_model_dir) -> Path:
    """A project folder: models/model.skops (the tiny model) and the dvc.lock recording it."""
    folder = tmp_path / "project"
    (folder / "models").mkdir(parents=True)
    shutil.copy(tiny_model_dir / "model.skops", folder / MODEL)
    record_outputs(folder, folder / MODEL)
    return folder


def _write_lock(folder: Path, lock: dict) -> None:
    (folder / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False))


def test_the_recorded_model_loads(model_dir):
    assert isinstance(load_model(model_dir / MODEL, root=model_dir), Pipeline)


def test_paths_are_compared_relative_to_the_root_after_resolving_symlinks(model_dir, tmp_path, monkeypatch):
    assert project_path(model_dir / "models/../models/model.skops", model_dir) == MODEL
    link = tmp_path / "link"
    link.symlink_to(model_dir)
    assert project_path(link / MODEL, model_dir) == MODEL
    assert project_path(model_dir / MODEL, link) == MODEL
    load_model(link / MODEL, root=model_dir)
    monkeypatch.chdir(model_dir / "models")
    load_model("model.skops", root="..")
    assert project_path(tmp_path / "elsewhere.skops", model_dir) is None


def test_a_model_outside_the_project_is_refused(model_dir, tmp_path):
    outside = tmp_path / "model.skops"
    shutil.copy(model_dir / MODEL, outside)
    with pytest.raises(InputError) as info:
        load_model(outside, root=model_dir)
    assert str(info.value) == (
        f"{outside}: outside the project folder {model_dir.resolve()}; only models the pipeline trained "
        "are loaded"
    )


def test_a_model_dvc_lock_does_not_record_is_refused(model_dir):
    shutil.copy(model_dir / MODEL, model_dir / "models/copy.skops")
    with pytest.raises(InputError) as info:
        load_model(model_dir / "models/copy.skops", root=model_dir)
    assert str(info.value) == (
        f"{model_dir / 'models/copy.skops'}: not a model this project's dvc.lock records; only models "
        "the pipeline trained are loaded"
    )
    # A dependency entry alone does not make it a pipeline output.
    lock = read_lock(model_dir)
    lock["stages"] = {"assign": {"cmd": "x", "deps": lock["stages"]["train"]["outs"]}}
    _write_lock(model_dir, lock)
    with pytest.raises(InputError, match="not a model this project's dvc.lock records"):
        load_model(model_dir / MODEL, root=model_dir)


def test_a_changed_model_is_refused_naming_both_hashes_and_dvc_lock(model_dir):
    path = model_dir / MODEL
    recorded = hashlib.md5(path.read_bytes()).hexdigest()
    path.write_bytes(path.read_bytes() + b"\0")
    actual = hashlib.md5(path.read_bytes()).hexdigest()
    with pytest.raises(InputError) as info:
        load_model(path, root=model_dir)
    assert str(info.value) == (
        f"{path}: MD5 {actual[:12]}... does not match {recorded[:12]}... recorded in dvc.lock (an output "
        "of stage train); refusing to load it (run dvc repro to rebuild it, or dvc checkout to restore "
        "the recorded file)"
    )


def test_a_dependency_entry_must_agree_except_for_the_stage_now_running(model_dir):
    """DVC rewrites a stage's entry after running it: the entry of the stage DVC is rerunning
    because the model changed still has the old MD5; any other disagreement is refused."""
    lock = read_lock(model_dir)
    out = lock["stages"]["train"]["outs"][0]
    lock["stages"]["assign"] = {"cmd": "x", "deps": [dict(out, md5="0" * 32)]}
    _write_lock(model_dir, lock)
    with pytest.raises(
        InputError,
        match=r"does not match 000000000000\.\.\. recorded in dvc\.lock \(a dependency of stage assign\)",
    ):
        load_model(model_dir / MODEL, root=model_dir)
    with pytest.raises(InputError, match="a dependency of stage assign"):
        load_model(model_dir / MODEL, root=model_dir, stage="train")
    assert isinstance(load_model(model_dir / MODEL, root=model_dir, stage="assign"), Pipeline)


def test_no_or_broken_dvc_lock_is_one_line(model_dir):
    (model_dir / "dvc.lock").write_text("stages: [unclosed\n")
    with pytest.raises(
        InputError,
        match=r"dvc\.lock: not valid YAML \(.*\); restore it \(git checkout dvc\.lock\) or run dvc repro$",
    ):
        load_model(model_dir / MODEL, root=model_dir)
    for text in ("just text\n", "stages: [1, 2]\n", "stages:\n  train:\n    outs: [x]\n"):
        (model_dir / "dvc.lock").write_text(text)
        with pytest.raises(InputError, match="not a model this project's dvc.lock records"):
            load_model(model_dir / MODEL, root=model_dir)
    (model_dir / "dvc.lock").unlink()
    with pytest.raises(InputError, match=r"dvc\.lock: not found; run the pipeline first \(dvc repro\)"):
        load_model(model_dir / MODEL, root=model_dir)


def test_the_bytes_checked_are_the_bytes_loaded(model_dir, monkeypatch):
    """The file is read once: replacing it between the check and the load changes nothing."""
    import bankseg.io.models

    real = bankseg.io.models.check_types

    def swap_after_check(path, data):
        real(path, data)
        Path(path).write_bytes(b"replaced after the check")

    monkeypatch.setattr(bankseg.io.models, "check_types", swap_after_check)
    assert isinstance(load_model(model_dir / MODEL, root=model_dir), Pipeline)


# --- the types a file holds ------------------------------------------------------------------


def test_a_file_that_is_not_a_skops_archive_is_refused(tmp_path):
    with pytest.raises(
        InputError, match=r"m\.skops: not a model file the pipeline writes \(a skops archive\)"
    ):
        check_types(tmp_path / "m.skops", b"\x80\x04not a zip")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("other.json", "{}")
    with pytest.raises(InputError, match="not a model file the pipeline writes"):
        check_types(tmp_path / "m.skops", buffer.getvalue())


def test_types_skops_would_trust_are_refused_too_when_not_ours(tmp_path):
    """skops trusts every scikit-learn estimator by default; only ours are loaded."""
    from sklearn.ensemble import RandomForestClassifier

    data = skops.io.dumps(RandomForestClassifier(n_estimators=1))
    assert skops.io.get_untrusted_types(data=data) == []
    with pytest.raises(InputError, match=r"holds types the pipeline never saves \(.*RandomForestClassifier"):
        check_types(tmp_path / "m.skops", data)


# --- through the entry points --------------------------------------------------------------


@pytest.fixture(scope="module")
def built_project(tmp_path_factory, tiny_model_dir, params) -> Path:
    """A project folder laid out as after `dvc repro` (tests/dashboard_data.py), with the assign
    stage's other inputs present (empty: the stage refuses the model before it reads them)."""
    project = build_project(tmp_path_factory.mktemp("trust") / "project", tiny_model_dir, params)
    for name in (
        "data/prepared/customers.parquet",
        "data/features/customers.parquet",
        "data/prepared/new_customers.parquet",
    ):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).touch()
    return project


def _sidecar(project: Path) -> None:
    """The SHA-256 file the pipeline used to write beside a model, matching the file now there."""
    digest = hashlib.sha256((project / MODEL).read_bytes()).hexdigest()
    (project / (MODEL + ".sha256")).write_text(f"{digest}  model.skops\n")


def _everything_else(project: Path) -> None:
    """What a DVC remote holds besides the model, replaced too: the names and the sidecar."""
    _sidecar(project)
    names = {"segments": {str(i): {"name": f"Replaced {i}"} for i in range(3)}}
    (project / "models/segments.json").write_text(json.dumps(names))


# Replaced files: the model alone; with a matching .sha256 beside it; every file but dvc.lock.
TAMPERING = {
    "model alone": lambda p: None,
    "with its .sha256": _sidecar,
    "all but dvc.lock": _everything_else,
}

STAGE_ARGS = [
    *("--model", MODEL, "--segments", "models/segments.json"),
    *("--customers", "data/prepared/customers.parquet", "--features", "data/features/customers.parquet"),
    *("--new", "data/prepared/new_customers.parquet", "--out-customers", "data/assigned/customers.csv"),
    *("--out-new", "data/assigned/new_customers.csv", "--by-segment", "data/assigned/new_by_segment"),
    *("--drift", "metrics/drift.json"),
]
ENTRY_POINTS = {
    "command line": ["-m", "bankseg", "assign", "data/raw/new_customers.csv", "segmented.csv"],
    "assign stage": ["-m", "stages.assign", *STAGE_ARGS],
}


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``python ARGS`` in ``cwd``, in a process of its own."""
    env = {k: v for k, v in os.environ.items() if k != "BANKSEG_DEBUG"} | {"PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def _run_here(args: list[str], cwd: Path, monkeypatch, capsys) -> subprocess.CompletedProcess:
    """``python -m MODULE ARGS`` run in this process, as ``python -m`` runs it (much faster
    than a process of its own), for an entry point expected to stop with an error."""
    module = args[1]
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "argv", [module, *args[2:]])
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        if module == "bankseg":  # what bankseg/__main__.py runs (already imported by other tests)
            main(args[2:])
        else:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
    return subprocess.CompletedProcess(args, info.value.code, "", capsys.readouterr().err)


def _error_line(result: subprocess.CompletedProcess) -> str:
    """The one line on stderr, which starts with ``error:``; exit status 2."""
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("error: "), line
    return line.removeprefix("error: ")


def _no_outputs(project: Path) -> None:
    assert not (project / "segmented.csv").exists()
    assert not (project / "data/assigned").exists() and not (project / "metrics/drift.json").exists()


def _hostile(kind: str, project: Path, marker: Path) -> bytes:
    payload = PAYLOADS[kind](marker, (project / MODEL).read_bytes())
    assert_runs_code(kind, payload, marker)  # a real payload: loaded unsafely, it runs
    return payload


def _refused_everywhere(project: Path, expected: str, monkeypatch, capsys) -> None:
    """The command line and the assign stage (run as ``python -m`` runs them) and the
    dashboard refuse the model in ``project`` with ``expected``, writing nothing."""
    for entry, args in ENTRY_POINTS.items():
        assert _error_line(_run_here(args, project, monkeypatch, capsys)) == expected, entry
    with pytest.raises(InputError) as info:
        core.load_segmentation(project)
    assert str(info.value) == expected.replace(MODEL, str(project / MODEL), 1)
    _no_outputs(project)


@pytest.mark.parametrize("kind", PAYLOADS)
def test_a_replaced_model_is_refused_by_every_entry_point(kind, built_project, tmp_path, monkeypatch, capsys):
    """The model replaced alone, with a matching .sha256 beside it, and with every file but
    dvc.lock; the command line also in a process of its own. (The assign stage under
    `dvc repro` is in crash_safety/test_crash_safety_damaged.py.)"""
    marker = tmp_path / "created-by-the-model"
    payload = _hostile(kind, built_project, marker)
    recorded = hashlib.md5((built_project / MODEL).read_bytes()).hexdigest()
    actual = hashlib.md5(payload).hexdigest()
    expected = (
        f"{MODEL}: MD5 {actual[:12]}... does not match {recorded[:12]}... recorded in dvc.lock (an output "
        "of stage train); refusing to load it (run dvc repro to rebuild it, or dvc checkout to restore the "
        "recorded file)"
    )
    for tampering, replace_more in TAMPERING.items():
        project = Path(shutil.copytree(built_project, tmp_path / tampering.replace(" ", "_")))
        (project / MODEL).write_bytes(payload)
        replace_more(project)
        _refused_everywhere(project, expected, monkeypatch, capsys)
    assert _error_line(_run(ENTRY_POINTS["command line"], project)) == expected
    _no_outputs(project)
    assert not marker.exists(), "the replaced model was loaded"


@pytest.mark.parametrize("kind", PAYLOADS)
def test_a_hostile_model_that_dvc_lock_records_is_still_refused(
    kind, built_project, tmp_path, monkeypatch, capsys
):
    """dvc.lock edited to match the file (as an MD5 collision would): a skops archive naming a
    type we never save, and a pickle, are refused before anything is built."""
    marker = tmp_path / "created-by-the-model"
    payload = _hostile(kind, built_project, marker)
    project = Path(shutil.copytree(built_project, tmp_path / "project"))
    (project / MODEL).write_bytes(payload)
    record_outputs(project, project / MODEL)
    expected = {
        "skops": f"{MODEL}: holds types the pipeline never saves (builtins.open); refusing to load it",
        "pickle": f"{MODEL}: not a model file the pipeline writes (a skops archive): File is not a zip file; "
        "refusing to load it",
    }[kind]
    _refused_everywhere(project, expected, monkeypatch, capsys)
    assert _error_line(_run(ENTRY_POINTS["command line"], project)) == expected
    _no_outputs(project)
    assert not marker.exists(), "the hostile model was loaded"


def test_the_pipelines_own_model_loads_and_scores(built_project, tmp_path, params):
    project = Path(shutil.copytree(built_project, tmp_path / "project"))
    _sidecar(project)  # a left-over .sha256 file changes nothing
    result = _run(ENTRY_POINTS["command line"], project)
    assert result.returncode == 0, result.stderr
    segmented = pd.read_csv(project / "segmented.csv", dtype={"customer_id": str})
    segmentation = core.load_segmentation(project)
    scored = core.score_batch(segmentation)
    assert segmented["segment"].tolist() == scored.labelled["segment"].tolist()
    assert set(segmented["segment"]) == set(segmentation.names)
    assert core.pipeline_status(project).model_md5 == hashlib.md5((project / MODEL).read_bytes()).hexdigest()
