"""dvc.yaml declares, for every stage, each params key the stage's code reads.

DVC reruns a stage when a param it declares under ``params:`` changes (a whole section such
as ``features``, or one key such as ``elbow.k_max``); a param read but not declared lets the
stage's outputs go stale silently. Here every stage's script runs in-process, in order, in a
temporary copy of the project with a small generated customer base, while every read of a
field of the params dataclasses is recorded as its dotted key (``train.n_init``,
``features.numeric.age.log``); reads made while params.yaml is parsed and validated are not
the stage's. The pipeline runs with the repository's params and with variations that take
the other branches (a fixed number of clusters, another way of choosing K, no new customers,
no id column).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import importlib
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from dvc_repo import stage_command
from lock_file import record_outputs

import bankseg.params
from bankseg.params import (
    CategoricalFeature,
    DataParams,
    DriftParams,
    ElbowParams,
    FairnessParams,
    FeatureParams,
    FeaturizeParams,
    GateParams,
    GenerateParams,
    NumericFeature,
    Outcome,
    Params,
    PrepareParams,
    ReportParams,
    SegmentParams,
    SparkParams,
    StabilityParams,
    TrainParams,
)

pytestmark = pytest.mark.slow  # seconds per test: subprocesses, apps or searches

ROOT = Path(__file__).resolve().parent.parent
STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
RAW_PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())

# The params section each dataclass holds.
SECTIONS = {
    GenerateParams: "generate",
    DataParams: "data",
    FeatureParams: "features",
    PrepareParams: "prepare",
    FeaturizeParams: "featurize",
    ElbowParams: "elbow",
    TrainParams: "train",
    SegmentParams: "segments",
    StabilityParams: "stability",
    DriftParams: "drift",
    GateParams: "gate",
    SparkParams: "spark",
    FairnessParams: "fairness",
    ReportParams: "report",
}
# Dataclasses of one entry of a mapping, keyed by its column: features.numeric.age.
ENTRIES = {
    NumericFeature: "features.numeric",
    CategoricalFeature: "features.categorical",
    Outcome: "outcomes",
}
# Fields that are not keys of params.yaml, and the key each is read from.
DERIVED = {"data.id_generated": "data.id_column"}
# Reads that hand over an object's whole state (pickling, copying): every field counts as read.
WHOLE_STATE = {"__dict__", "__getstate__", "__reduce__", "__reduce_ex__"}

# Small enough to run the whole pipeline in seconds, large enough for every stage to pass.
SMALL = {
    "generate": {"n_customers": 400, "n_new_customers": 100},
    "elbow": {
        "k_max": 4,
        "n_init": 1,
        "sample_size": 300,
        "silhouette_sample": 100,
        "n_bootstrap": 2,
        "n_references": 1,
    },
    "train": {"n_init": 1},
    "stability": {"n_bootstrap": 2, "sample_size": 200},
}
# Params that switch branches a run with the repository's params does not take.
VARIATIONS = {
    "repository": {},
    "fixed_k_other_criteria": {
        "train": {"n_clusters": 3},
        "elbow": {"method": "consensus"},
        "data": {"new": RAW_PARAMS["data"]["raw"], "id_column": None},  # no new customers
        "featurize": {"scaler": "minmax"},
        "features": {"numeric": {"age": {"flag_missing": True, "log": False}}},
    },
}


def _merge(base: dict, changes: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _key(obj: object, name: str) -> str | None:
    """The params key a read of field ``name`` of ``obj`` stands for; None for no key."""
    cls = type(obj)
    if cls is Params:
        # Its other fields are sections, whose own fields are recorded when they are read.
        return name if name in ("engine", "outcomes") else None
    if cls in ENTRIES:
        entry = f"{ENTRIES[cls]}.{object.__getattribute__(obj, 'column')}"
        key = entry if name == "column" else f"{entry}.{name}"
    else:
        key = f"{SECTIONS[cls]}.{name}"
    return DERIVED.get(key, key)


class ReadRecorder:
    """Records the params keys read through the params dataclasses while it is installed."""

    def __init__(self) -> None:
        self.reads: set[str] = set()
        self.parsing = 0  # parse_params calls under way: their reads are validation

    @contextlib.contextmanager
    def installed(self):
        classes = [Params, *SECTIONS, *ENTRIES]
        original_parse = bankseg.params.parse_params

        def parse(raw):
            self.parsing += 1
            try:
                return original_parse(raw)
            finally:
                self.parsing -= 1

        for cls in classes:
            cls.__getattribute__ = self._getattribute(cls)
        bankseg.params.parse_params = parse
        try:
            yield self
        finally:
            bankseg.params.parse_params = original_parse
            for cls in classes:
                del cls.__getattribute__

    def _getattribute(self, cls: type):
        fields = {f.name for f in dataclasses.fields(cls)}
        recorder = self

        def __getattribute__(obj, name):
            if not recorder.parsing and (name in fields or name in WHOLE_STATE):
                for field in [name] if name in fields else sorted(fields):
                    key = _key(obj, field)
                    if key is not None:
                        recorder.reads.add(key)
            return object.__getattribute__(obj, name)

        return __getattribute__


def undeclared(reads: set[str], declared: list[str]) -> set[str]:
    """The keys of ``reads`` that no declaration covers: a declared section covers all its keys,
    a declared ``section.key`` that key and the keys under it."""
    return {key for key in reads if not any(key == d or key.startswith(f"{d}.") for d in declared)}


def run_pipeline(project: Path, raw_params: dict, monkeypatch: pytest.MonkeyPatch) -> dict[str, set[str]]:
    """Run every stage of dvc.yaml in ``project`` with ``raw_params``; the keys each one read."""
    project.mkdir()
    (project / "models").mkdir()
    shutil.copy(ROOT / "models" / "reference_segments.json", project / "models")
    (project / "params.yaml").write_text(yaml.safe_dump(raw_params))
    reads = {}
    monkeypatch.chdir(project)
    for name, stage in STAGES.items():
        python, flag, module, *args = stage_command(stage["cmd"], raw_params)
        assert (python, flag, module) == ("python", "-m", f"stages.{name}"), stage["cmd"]
        main = importlib.import_module(module).main
        # Scripts read sys.argv, or take argv and read sys.argv without it: both are served.
        monkeypatch.setattr(sys, "argv", [f"stages/{name}.py", *args])
        with ReadRecorder().installed() as recorder:
            main()
        reads[name] = recorder.reads
        outs = [next(iter(o)) if isinstance(o, dict) else o for o in stage.get("outs", [])]
        # dvc repro records its outputs in dvc.lock; the next stages load models only when it does.
        record_outputs(project, *[project / o for o in outs if (project / o).is_file()], stage=name)
    return reads


@pytest.fixture(scope="module")
def stage_reads(tmp_path_factory) -> dict[str, set[str]]:
    """The params keys each stage read, over all variations."""
    reads: dict[str, set[str]] = {name: set() for name in STAGES}
    with pytest.MonkeyPatch.context() as monkeypatch:
        for variation, changes in VARIATIONS.items():
            raw = _merge(_merge(RAW_PARAMS, SMALL), changes)
            found = run_pipeline(tmp_path_factory.mktemp("coverage") / variation, raw, monkeypatch)
            for name, keys in found.items():
                reads[name] |= keys
    return reads


def test_every_params_key_a_stage_reads_is_declared(stage_reads):
    missing = {
        name: sorted(undeclared(stage_reads[name], stage.get("params", [])))
        for name, stage in STAGES.items()
        if undeclared(stage_reads[name], stage.get("params", []))
    }
    assert not missing, f"params read but not declared under the stage's params in dvc.yaml: {missing}"


def test_every_stage_reads_params(stage_reads):
    """The recording sees the reads: each stage reads the params it is there for."""
    assert {"generate.n_customers", "generate.seed"} <= stage_reads["generate"]
    assert "elbow.k_max" in stage_reads["prepare"]
    assert "featurize.scaler" in stage_reads["featurize"]
    assert {"elbow.k_min", "elbow.n_references"} <= stage_reads["elbow"]
    assert {"train.n_clusters", "elbow.silhouette_sample", "stability.n_bootstrap"} <= stage_reads["train"]
    assert {"drift.bins", "data.id_column", "features.numeric.age"} <= stage_reads["assign"]
    assert {"report.currency", "prepare.profile_columns"} <= stage_reads["analyze"]
    assert not any(key.startswith("generate.") for key in stage_reads["analyze"])  # parsing is not reading


def test_the_check_reports_a_key_whose_declaration_is_removed(stage_reads):
    declared = list(STAGES["train"]["params"])
    assert undeclared(stage_reads["train"], declared) == set()
    declared.remove("elbow.silhouette_sample")
    assert undeclared(stage_reads["train"], declared) == {"elbow.silhouette_sample"}


@pytest.mark.parametrize(
    ("name", "declaration"),
    [(name, d) for name, stage in STAGES.items() for d in stage.get("params", []) if "." in d],
)
def test_without_a_declared_key_the_check_reports_that_key(stage_reads, name, declaration):
    declared = [d for d in STAGES[name]["params"] if d != declaration]
    assert undeclared(stage_reads[name], declared) == {declaration}


def test_without_a_declared_section_the_check_reports_its_keys(stage_reads):
    declared = [d for d in STAGES["elbow"]["params"] if d != "elbow"]
    reported = undeclared(stage_reads["elbow"], declared)
    assert {"elbow.k_min", "elbow.k_max", "elbow.method"} <= reported
    assert all(key.startswith("elbow.") for key in reported)
