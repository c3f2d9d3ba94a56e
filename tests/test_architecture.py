"""The package's floors: every import points down (or sideways within a floor), never up.

From the bottom: the foundation modules at the package's top (errors, layout, personal data
rules, params, path checks, the saved scaler, the entry points' start-up), then ``io``, ``data``, ``segmentation``,
``reporting``, ``engines``, and at the top the entry points (``cli``, ``__main__``,
``dashboard``). ``docs/development.md`` draws the same floors.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bankseg"

FLOORS = [
    {"errors", "layout", "personal", "params", "paths", "features", "startup"},
    {"io"},
    {"data"},
    {"segmentation"},
    {"reporting"},
    {"engines"},
    {"cli", "__main__", "dashboard"},
]


def floor_of(module: str) -> int:
    """The floor of ``bankseg.<room>...`` (the package itself counts as the foundation)."""
    parts = module.split(".")
    if len(parts) == 1:
        return 0
    for number, rooms in enumerate(FLOORS):
        if parts[1] in rooms:
            return number
    raise AssertionError(f"{module}: on no floor; add bankseg.{parts[1]} to FLOORS and the docs' picture")


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imports(path: Path) -> set[str]:
    """The bankseg modules ``path`` imports, wherever in the file (also inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "bankseg":
            found |= {
                f"{node.module}.{a.name}" if node.module == "bankseg" else node.module for a in node.names
            }
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "bankseg"}
    return found


def upward_imports(modules: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{module} (floor {floor_of(module)}) imports {target} (floor {floor_of(target)})"
        for module, targets in modules.items()
        for target in targets
        if floor_of(target) > floor_of(module)
    )


def test_no_module_imports_from_a_floor_above_its_own():
    modules = {module_name(p): imports(p) for p in PACKAGE.rglob("*.py")}
    assert upward_imports(modules) == []


def test_the_check_finds_an_upward_import():
    found = upward_imports({"bankseg.segmentation.kmeans": {"bankseg.reporting.naming", "bankseg.params"}})
    assert found == [
        "bankseg.segmentation.kmeans (floor 3) imports bankseg.reporting.naming (floor 4)",
    ]


def test_every_room_of_the_package_is_on_a_floor():
    rooms = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir() if p.suffix == ".py" or p.is_dir()}
    rooms -= {"__init__", "__pycache__"}
    assert rooms <= set().union(*FLOORS)


@pytest.mark.parametrize("floor", ["data", "segmentation", "reporting", "engines", "io"])
def test_every_floor_says_what_it_holds(floor):
    init = PACKAGE / floor / "__init__.py"
    assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))


def test_the_long_test_files_started_first_exist():
    """long_files.LONG_FILES names files; a renamed one would silently lose its place."""
    from long_files import LONG_FILES

    names = {path.name for path in Path(__file__).parent.rglob("test_*.py")}
    assert [name for name in LONG_FILES if name not in names] == []
    assert len(set(LONG_FILES)) == len(LONG_FILES)


def test_the_files_started_beside_the_reference_run_do_not_wait_for_it():
    """The first long file makes the reference run; the three started with it must not need it."""
    from long_files import LONG_FILES

    paths = {path.name: path for path in Path(__file__).parent.rglob("test_*.py")}
    assert "reference_run" in paths[LONG_FILES[0]].parent.joinpath("conftest.py").read_text(encoding="utf-8")
    for name in LONG_FILES[1:4]:
        assert "reference_run" not in paths[name].read_text(encoding="utf-8"), name
