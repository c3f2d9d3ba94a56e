"""The pull-request workflow is valid GitHub Actions and calls only commands that exist.

The workflow is checked three ways: against GitHub's workflow JSON schema (the copy that
check-jsonschema ships, so no network is needed), for the steps the pipeline needs, and by
asking `dvc ... --help` and `python -m bankseg ... --help` whether every subcommand and flag
that a `run:` script uses exists.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

from bankseg.__main__ import main as bankseg_main

pytestmark = pytest.mark.slow  # seconds per test: subprocesses, apps or searches

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "segmentation.yml"
SUMMARY = '"$GITHUB_STEP_SUMMARY"'
SEPARATORS = {";", "&&", "||", "|", "&", "(", ")", "{", "}"}
REDIRECTIONS = {">", ">>", "<", "<<<", ">&", "&>", ">|"}
ENV = {**os.environ, "DVC_NO_ANALYTICS": "1"}


def load_workflow(path: Path = WORKFLOW) -> dict:
    """The workflow as data, with the `on` key that YAML 1.1 reads as True given back its name."""
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


WORKFLOW_DATA = load_workflow()
(JOB,) = WORKFLOW_DATA["jobs"].values()
STEPS = JOB["steps"]
SCRIPTS = [step["run"] for step in STEPS if "run" in step]


def _step_using(action: str) -> dict:
    found = [s for s in STEPS if s.get("uses", "").split("@")[0] == action]
    assert len(found) == 1, f"expected one step using {action}, found {len(found)}"
    return found[0]


def _script_index(command: str) -> int:
    """Position of the first step whose script runs ``command``."""
    for i, step in enumerate(STEPS):
        for words in commands(step.get("run", "")):
            if f"{' '.join(words)} ".startswith(f"{command} "):
                return i
    raise AssertionError(f"no step runs {command!r}")


def commands(script: str) -> list[list[str]]:
    """The simple commands of a shell script, as words: split at ; && || | ( ) { } and lines.

    Good enough for the short scripts of a workflow: redirections and their targets are
    dropped, `$(...)` opens a command of its own, and comments are ignored.
    """
    found: list[list[str]] = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        current: list[str] = []
        words = iter(lexer)
        for word in words:
            if word in SEPARATORS:
                found.append(current)
                current = []
            elif word in REDIRECTIONS:
                next(words, None)  # the redirection's target
            else:
                current.append(word)
        found.append(current)
    return [c for c in found if c]


def _bankseg_help(words: tuple[str, ...]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            bankseg_main([*words, "--help"])
        except SystemExit as exc:
            return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


@cache
def cli_help(program: str, words: tuple[str, ...]) -> tuple[int, str]:
    """Exit status and text of ``PROGRAM WORDS... --help``."""
    if program == "bankseg":
        return _bankseg_help(words)
    done = subprocess.run(
        [program, *words, "--help"], capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=120
    )
    return done.returncode, done.stdout + done.stderr


def unknown_usage(command: list[str]) -> list[str]:
    """What a `dvc ...` or `python -m bankseg ...` command uses that its --help does not list."""
    if command[:1] == ["dvc"]:
        program, rest = "dvc", command[1:]
    elif command[:3] == ["python", "-m", "bankseg"]:
        program, rest = "bankseg", command[3:]
    else:
        return []
    words = []
    for word in rest:
        if word.startswith("-"):
            break
        words.append(word)
    status, text = cli_help(program, tuple(words))
    if status != 0:
        last = text.strip().splitlines()[-1] if text.strip() else f"exit status {status}"
        return [f"{program} {' '.join(words)}: not a command ({last})"]
    flags = [w.split("=")[0] for w in rest if w.startswith("-") and w != "-"]
    return [f for f in flags if not re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", text)]


def _cli_calls() -> list[list[str]]:
    return [
        c
        for script in SCRIPTS
        for c in commands(script)
        if c[:1] == ["dvc"] or c[:3] == ["python", "-m", "bankseg"]
    ]


def validate(path: Path, schema: str) -> subprocess.CompletedProcess:
    """check-jsonschema with one of its builtin (vendored, offline) schemas."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- the schema --------------------------------------------------------------------------


@pytest.mark.parametrize("schema", ["vendor.github-workflows", "custom.github-workflows-require-timeout"])
def test_workflow_matches_the_github_workflow_schema(schema):
    done = validate(WORKFLOW, schema)
    assert done.returncode == 0, done.stdout + done.stderr


def _runs_on_number(w: dict) -> None:
    next(iter(w["jobs"].values()))["runs-on"] = 42


def _step_with_unknown_key(w: dict) -> None:
    next(iter(w["jobs"].values()))["steps"][0]["width"] = {"fetch-depth": 0}


def _no_timeout(w: dict) -> None:
    del next(iter(w["jobs"].values()))["timeout-minutes"]


@pytest.mark.parametrize(
    ("schema", "breakage", "complaint"),
    [
        ("vendor.github-workflows", _runs_on_number, "42 is not of type"),
        ("vendor.github-workflows", _step_with_unknown_key, "'width' was unexpected"),
        ("custom.github-workflows-require-timeout", _no_timeout, "'timeout-minutes' is a required"),
    ],
)
def test_schema_check_rejects_a_broken_workflow(tmp_path, schema, breakage, complaint):
    broken = load_workflow()
    breakage(broken)
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken, sort_keys=False), encoding="utf-8")
    assert load_workflow(path)["on"] == WORKFLOW_DATA["on"]  # the dump kept the triggers
    done = validate(path, schema)
    assert done.returncode == 1, done.stdout + done.stderr
    assert complaint in done.stdout


# --- what the workflow does --------------------------------------------------------------


def test_triggers_permissions_concurrency_and_timeout():
    assert "pull_request" in WORKFLOW_DATA["on"]
    assert "workflow_dispatch" in WORKFLOW_DATA["on"]
    assert WORKFLOW_DATA["permissions"] == {"contents": "read"}
    assert WORKFLOW_DATA["concurrency"]["cancel-in-progress"] is True
    assert "github.event.pull_request.number" in WORKFLOW_DATA["concurrency"]["group"]
    assert 0 < JOB["timeout-minutes"] <= 60
    assert WORKFLOW_DATA["env"]["DVC_NO_ANALYTICS"] == "1"


def test_checkout_has_the_full_history_and_python_is_cached():
    checkout = _step_using("actions/checkout")
    assert checkout["uses"] == "actions/checkout@v4"
    assert checkout["with"]["fetch-depth"] == 0
    setup = _step_using("actions/setup-python")
    assert setup["uses"] == "actions/setup-python@v5"
    assert setup["with"]["python-version"] == "3.11"  # a string: 3.10 read as a number is 3.1
    assert setup["with"]["cache"] == "pip"
    assert setup["with"]["cache-dependency-path"] == "requirements*.txt"
    assert all(re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", s["uses"]) for s in STEPS if "uses" in s)


def test_steps_run_in_order():
    order = [
        _script_index("python -m pip install -r requirements.txt"),
        _script_index("dvc repro"),
        _script_index("git fetch origin main:main"),
        _script_index("dvc metrics diff main --md"),
        _script_index("dvc params diff main --md"),
        _script_index("python -m bankseg gate --rev main"),
    ]
    assert order == sorted(order), order
    assert STEPS.index(_step_using("actions/checkout")) < order[0]
    assert STEPS.index(_step_using("actions/setup-python")) < order[0]


def test_diffs_and_gate_write_to_the_step_summary():
    diffs = STEPS[_script_index("dvc metrics diff main --md")]["run"]
    assert "dvc params diff main --md" in diffs
    assert f">> {SUMMARY}" in diffs
    (gate,) = [c for c in _cli_calls() if c[3:4] == ["gate"]]
    assert gate[gate.index("--rev") + 1] == "main"
    gate_script = STEPS[_script_index("python -m bankseg gate")]["run"]
    assert f"--summary {SUMMARY}" in gate_script


def test_needs_no_dvc_remote_and_no_secrets():
    for command in _cli_calls():
        if command[0] == "dvc":
            assert command[1] not in {"pull", "fetch", "push", "remote", "import", "get"}, command
            assert "--pull" not in command, command
    assert "secrets." not in WORKFLOW.read_text(encoding="utf-8")


def test_reports_are_uploaded_even_when_the_gate_fails():
    upload = _step_using("actions/upload-artifact")
    assert upload["uses"] == "actions/upload-artifact@v4"
    assert "!cancelled()" in upload["if"]
    paths = upload["with"]["path"].split()
    assert "reports/segments.md" in paths and "plots/" in paths
    assert STEPS.index(upload) > _script_index("python -m bankseg gate")


# --- the commands exist ------------------------------------------------------------------


def test_every_dvc_and_bankseg_command_uses_real_subcommands_and_flags():
    calls = _cli_calls()
    assert len(calls) >= 4, calls
    problems = {" ".join(c): unknown_usage(c) for c in calls}
    assert not any(problems.values()), problems


def test_dvc_diff_commands_know_markdown():
    for words in (("metrics", "diff"), ("params", "diff")):
        status, text = cli_help("dvc", words)
        assert status == 0, text
        assert re.search(r"^\s+--md\b", text, re.MULTILINE), text


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        ("dvc metrics diff main --markdown", "--markdown"),
        ("dvc metrics dif main --md", "not a command"),
        ("python -m bankseg gate --rev main --summry out.md", "--summry"),
        ("python -m bankseg gates --rev main", "not a command"),
    ],
)
def test_command_check_catches_a_wrong_flag_or_subcommand(command, problem):
    problems = unknown_usage(shlex.split(command))
    assert any(problem in p for p in problems), problems


def test_commands_splits_scripts_like_the_shell():
    script = 'x=$(dvc metrics diff main --md)\n{ echo "a|b"; dvc repro -f; } >> "$OUT"  # dvc pull\n'
    assert commands(script) == [
        ["x=$"],
        ["dvc", "metrics", "diff", "main", "--md"],
        ["echo", "a|b"],
        ["dvc", "repro", "-f"],
    ]
