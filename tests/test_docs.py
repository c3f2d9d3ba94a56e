"""The README and the pages under docs/: length, links and anchors, the pipeline graph, the
test command."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PIPELINE_PAGE = DOCS / "pipeline.md"
CI_SCRIPT = ROOT / ".ci" / "run"
MAX_README_LINES = 250
DAG_START = "<!-- dvc-dag:start -->"
DAG_END = "<!-- dvc-dag:end -->"

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^(?:\s*>)*\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
# A code span, which may wrap onto the next line but not across a blank line.
INLINE_CODE = re.compile(r"(`+)(?:(?!\n\s*\n)[\s\S])+?\1")
# [text](target), [text](target "title") and ![alt](target); the text may wrap onto the
# next line and hold one level of brackets, as in a linked image [![alt](image)](target).
LINK = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def outside_fences(text: str) -> list[str]:
    """The lines of a Markdown text, with those of fenced code blocks blanked out."""
    lines = []
    fence = None
    for line in text.splitlines():
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
            line = ""
        elif fence is not None:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = None
            line = ""
        lines.append(line)
    return lines


def prose(text: str) -> str:
    """The text with fenced code blocks and code spans blanked out; line numbers are kept."""
    blank = "\n".join(outside_fences(text))
    return INLINE_CODE.sub(lambda span: re.sub(r"[^\n]", " ", span.group(0)), blank)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: its text lowercased, punctuation except hyphens and
    spaces dropped, spaces turned into hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of every heading of a Markdown file; a repeated heading gets -1, -2, ..."""
    seen: dict[str, int] = {}
    found = set()
    for line in outside_fences(path.read_text(encoding="utf-8")):
        heading = HEADING.match(line)
        if not heading:
            continue
        base = slug(heading.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of every link and image outside code."""
    text = prose(path.read_text(encoding="utf-8"))
    return [(text.count("\n", 0, match.start()) + 1, match.group(1)) for match in LINK.finditer(text)]


def resolve(page: Path, target: str) -> tuple[Path, str]:
    """The file a relative link points to, and its anchor ("" when none)."""
    path, _, anchor = target.partition("#")
    file = (page.parent / unquote(path)).resolve() if path else page
    return file, anchor


def test_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < MAX_README_LINES, (
        f"README.md has {len(lines)} lines, expected fewer than {MAX_README_LINES}: "
        "move the details to a page under docs/ and link to it"
    )


def test_every_docs_page_has_a_title() -> None:
    for page in sorted(DOCS.glob("*.md")):
        lines = page.read_text(encoding="utf-8").splitlines()
        assert lines and lines[0].startswith("# "), f"{page.name} does not start with a # title"


@pytest.mark.parametrize("page", pages(), ids=lambda page: str(page.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    problems = []
    for number, target in links(page):
        if not target or SCHEME.match(target):
            continue
        file, anchor = resolve(page, target)
        where = f"{page.relative_to(ROOT)}:{number}: ({target})"
        if not file.is_relative_to(ROOT):
            problems.append(f"{where} points outside the repository")
        elif not file.exists():
            problems.append(f"{where}: no file {file.relative_to(ROOT)}")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            problems.append(f"{where}: no heading with anchor #{anchor} in {file.relative_to(ROOT)}")
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_readme_links_to_every_docs_page() -> None:
    linked = {
        resolve(README, target)[0] for _, target in links(README) if target and not SCHEME.match(target)
    }
    missing = [page.name for page in sorted(DOCS.glob("*.md")) if page.resolve() not in linked]
    assert not missing, f"README.md does not link to docs/{', docs/'.join(missing)}"


def dvc_executable() -> str:
    beside = Path(sys.executable).with_name("dvc")
    if beside.exists():
        return str(beside)
    found = shutil.which("dvc")
    assert found, f"no dvc executable next to {sys.executable} or on PATH"
    return found


def strip_trailing(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


@pytest.mark.slow
def test_pipeline_graph_is_current() -> None:
    text = PIPELINE_PAGE.read_text(encoding="utf-8")
    assert text.count(DAG_START) == 1 and text.count(DAG_END) == 1, (
        f"docs/pipeline.md must hold the graph once between {DAG_START} and {DAG_END}"
    )
    documented = text.split(DAG_START, 1)[1].split(DAG_END, 1)[0]
    result = subprocess.run(
        [dvc_executable(), "dag", "--md"],
        cwd=ROOT,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"dvc dag --md failed:\n{result.stderr}"
    assert strip_trailing(documented) == strip_trailing(result.stdout), (
        "the pipeline graph in docs/pipeline.md is out of date: paste the new output of "
        f"`dvc dag --md` between {DAG_START} and {DAG_END}:\n{result.stdout}"
    )


def test_readme_test_command_is_the_ci_command() -> None:
    ci_commands = [
        line.strip()
        for line in CI_SCRIPT.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("python -m pytest")
    ]
    assert ci_commands, f"no line starting with 'python -m pytest' in {CI_SCRIPT}"
    install = "python -m pip install -r requirements-dev.txt && "
    readme_commands = [
        line.strip()[len(install) :]
        for line in README.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith(install)
    ]
    assert readme_commands, f"README.md has no line starting with {install!r}"
    assert readme_commands[0] == ci_commands[-1], (
        f"README.md runs the tests with {readme_commands[0]!r}, "
        f".ci/run with {ci_commands[-1]!r}: make them the same"
    )


def test_readme_marks_the_report_table() -> None:
    text = README.read_text(encoding="utf-8")
    start, end = "<!-- report-table:start -->", "<!-- report-table:end -->"
    assert text.count(start) == 1 and text.count(end) == 1, (
        f"README.md must hold the report's first table once between {start} and {end}"
    )
    table = text.split(start, 1)[1].split(end, 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("|")]
    assert len(rows) >= 3, "no table between the report-table markers"
    report = (ROOT / "reports" / "segments.md").read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(report) if line.startswith("|"))
    expected = list(itertools.takewhile(lambda line: line.startswith("|"), report[first:]))
    assert rows == expected, (
        "README.md's report table differs from the first table of reports/segments.md: paste it again"
    )
