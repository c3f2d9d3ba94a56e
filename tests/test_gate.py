"""bankseg.reporting.gate and ``python -m bankseg gate``: pass and fail paths of the quality gate."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from bankseg import cli
from bankseg.cli import main, parse_diff
from bankseg.errors import InputError
from bankseg.params import GateParams
from bankseg.reporting.gate import evaluate, passed, table


def _diff(**changes) -> dict:
    """A `dvc metrics diff --json --all` of an unchanged healthy run, with ``changes`` as new values."""
    base = {
        "metrics/train.json": {"silhouette": 0.66, "smallest_segment_share": 0.15},
        "metrics/stability.json": {"mean_ari": 0.99, "min_jaccard": 0.98},
        "metrics/data_quality.json": {"customers.rows_rejected": 24, "customers.rows_read": 20000},
    }
    diff = {}
    for path, metrics in base.items():
        diff[path] = {}
        for key, old in metrics.items():
            new = changes.get(key, old)
            diff[path][key] = {"old": old, "new": new, "diff": None if new is None else new - old}
    return diff


def _failed(diff: dict) -> list[str]:
    return [c.name for c in evaluate(diff, GateParams()) if not c.passed]


def test_an_unchanged_healthy_run_passes():
    checks = evaluate(_diff(), GateParams())
    assert [c.passed for c in checks] == [True] * 5
    assert "All 5 checks passed." in table(checks, "main")


@pytest.mark.parametrize(
    ("changes", "failing"),
    [
        ({"silhouette": 0.60}, ["silhouette"]),  # dropped by 0.06 > 0.05
        ({"smallest_segment_share": 0.02}, ["smallest segment share"]),
        ({"mean_ari": 0.5}, ["stability (mean adjusted Rand index)"]),
        ({"min_jaccard": 0.4}, ["least stable segment (Jaccard)"]),
        ({"customers.rows_rejected": 2000}, ["rejected rows share"]),
        ({"silhouette": None}, ["silhouette"]),  # a metric that disappeared cannot pass
    ],
)
def test_each_threshold_fails_on_its_own_regression(changes, failing):
    assert _failed(_diff(**changes)) == failing


def test_a_small_silhouette_drop_and_a_new_metric_pass():
    assert _failed(_diff(silhouette=0.62)) == []
    diff = _diff()
    diff["metrics/stability.json"]["mean_ari"]["old"] = None  # new file on this branch
    assert _failed(diff) == []


def test_the_table_marks_failures():
    text = table(evaluate(_diff(silhouette=0.5), GateParams()), "main")
    assert "| silhouette | 0.66 | 0.5 | drops by at most 0.05 | **FAIL** |" in text
    assert "**1 of 5 checks failed.**" in text


def test_broken_diff_json_is_one_clear_error():
    with pytest.raises(InputError, match="diff.json: not JSON"):
        parse_diff("{oops", "diff.json")
    with pytest.raises(InputError, match="expected a JSON object"):
        parse_diff("[]", "diff.json")


def test_dvc_missing_or_failing_is_one_clear_error(monkeypatch):
    def missing(*args, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", "dvc")

    monkeypatch.setattr(cli.subprocess, "run", missing)
    with pytest.raises(InputError, match="^dvc: command not found, expected DVC installed"):
        cli.metrics_diff("main")

    def failing(command, **kwargs):
        return subprocess.CompletedProcess(
            command, 1, "", "some detail\nERROR: unknown Git revision 'nope'\n"
        )

    monkeypatch.setattr(cli.subprocess, "run", failing)
    with pytest.raises(InputError, match="^dvc metrics diff nope: ERROR: unknown Git revision 'nope'$"):
        cli.metrics_diff("nope")


def test_the_diff_dvc_prints_is_what_the_gate_reads(monkeypatch):
    diff = _diff(silhouette=0.5)
    ran = []

    def dvc(command, **kwargs):
        ran.append(command)
        return subprocess.CompletedProcess(command, 0, json.dumps(diff), "")

    monkeypatch.setattr(cli.subprocess, "run", dvc)
    assert cli.metrics_diff("main") == diff
    assert ran == [["dvc", "metrics", "diff", "main", "--json", "--all"]]


@pytest.fixture
def gate_files(tmp_path, root):
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["gate"]["max_silhouette_drop"] = 0.01
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path


def _gate(folder, diff: dict, capsys) -> tuple[int, str]:
    (folder / "diff.json").write_text(json.dumps(diff))
    args = ["gate", "--diff-json", str(folder / "diff.json"), "--params", str(folder / "params.yaml")]
    args += ["--rev", "main", "--summary", str(folder / "summary.md")]
    try:
        main(args)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().out


def test_command_passes_fails_and_reads_thresholds_from_params(gate_files, capsys):
    code, out = _gate(gate_files, _diff(silhouette=0.655), capsys)
    assert code == 0 and "All 5 checks passed." in out
    code, out = _gate(gate_files, _diff(silhouette=0.64), capsys)  # 0.02 > the params' 0.01
    assert code == 1 and "| silhouette | 0.66 | 0.64 | drops by at most 0.01 | **FAIL** |" in out
    summary = (gate_files / "summary.md").read_text()
    assert summary.count("### Segmentation quality gate against main") == 2


def test_command_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as info:
        main(["gate", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--rev", "--diff-json", "--summary", "--params"):
        assert option in out


def _with(diff: dict, path: str, key: str, new: float, old: float | None = None) -> dict:
    diff[path] = diff.get(path, {}) | {key: {"old": old, "new": new, "diff": None}}
    return diff


def test_segments_that_follow_a_protected_attribute_warn_without_failing():
    diff = _with(_diff(), "metrics/fairness.json", "max_association", 0.9, old=0.05)
    checks = evaluate(diff, GateParams(), max_protected_association=0.3)
    warned = [c for c in checks if not c.passed]
    assert [(c.name, c.warn_only) for c in warned] == [("protected attribute association (Cramér's V)", True)]
    assert passed(checks)
    text = table(checks, "main")
    assert "| protected attribute association (Cramér's V) | 0.05 | 0.9 | <= 0.3 | **WARN** |" in text
    assert "All 5 checks passed. **1 warning(s)**: protected attribute association" in text
    quiet = _with(_diff(), "metrics/fairness.json", "max_association", 0.1)
    assert all(c.passed for c in evaluate(quiet, GateParams(), max_protected_association=0.3))


def test_one_feature_making_the_segments_warns():
    diff = _with(_diff(), "metrics/segments.json", "max_feature_share", 0.83)
    checks = evaluate(diff, GateParams(), max_feature_share=0.4)
    assert [c.name for c in checks if not c.passed] == ["largest feature share of the separation"]
    assert passed(checks)


def test_the_outcome_check_runs_only_when_set():
    diff = _with(_diff(), "metrics/outcomes.json", "max_association", 0.05)
    assert passed(evaluate(diff, GateParams()))
    gated = evaluate(diff, GateParams(min_outcome_association=0.1))
    assert [c.name for c in gated if not c.passed] == ["outcome association"]
    assert not passed(gated)
    better = _with(_diff(), "metrics/outcomes.json", "max_association", 0.15)
    assert passed(evaluate(better, GateParams(min_outcome_association=0.1)))
