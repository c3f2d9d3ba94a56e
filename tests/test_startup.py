"""bankseg.startup: the entry points load their libraries with the garbage collector off, then
freeze them."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from reference_run import STAGES

ROOT = Path(__file__).resolve().parent.parent


def fresh_interpreter(code: str) -> dict:
    """Run ``code`` in a new Python process (this one froze its objects at start-up); it
    prints one JSON value, returned here."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def test_the_collector_is_off_while_loading_then_on_with_what_was_loaded_frozen():
    seen = fresh_interpreter(
        """
        import gc, json
        from bankseg.startup import loading_libraries
        before = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
        with loading_libraries():
            inside = gc.isenabled()
            import decimal, email.message  # modules not loaded at start
        after = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
        print(json.dumps({"before": before, "inside": inside, "after": after,
                          "module_frozen": gc.is_tracked(email.message) and email.message not in gc.get_objects()}))
        """
    )
    assert seen["before"] == {"enabled": True, "frozen": 0}
    assert seen["inside"] is False
    assert seen["after"]["enabled"] is True and seen["after"]["frozen"] > 0
    assert seen["module_frozen"] is True  # a frozen object is in no generation


def test_an_error_while_loading_leaves_the_collector_on():
    seen = fresh_interpreter(
        """
        import gc, json
        from bankseg.startup import loading_libraries
        try:
            with loading_libraries():
                import a_module_that_does_not_exist  # noqa
        except ModuleNotFoundError:
            print(json.dumps({"enabled": gc.isenabled()}))
        """
    )
    assert seen == {"enabled": True}


def test_only_the_first_block_of_a_process_acts_and_only_with_the_collector_on():
    seen = fresh_interpreter(
        """
        import gc, json
        from bankseg.startup import loading_libraries
        gc.disable()
        with loading_libraries():
            import decimal
        off = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
        gc.enable()
        with loading_libraries():
            first = gc.isenabled()
            import email.message
        frozen = gc.get_freeze_count()
        with loading_libraries():
            again = gc.isenabled()
            import html.parser
        print(json.dumps({"off": off, "first": first, "again": again, "enabled": gc.isenabled(),
                          "same_count": gc.get_freeze_count() == frozen}))
        """
    )
    assert seen["off"] == {"enabled": False, "frozen": 0}
    assert seen["first"] is False
    assert seen["again"] is True and seen["enabled"] is True and seen["same_count"] is True


def _entry_points() -> list[tuple[str, ast.FunctionDef]]:
    """Every stage's ``main`` and every ``*_command`` of the command line."""
    found = []
    for path in [*sorted((ROOT / "stages").glob("*.py")), ROOT / "bankseg" / "cli.py"]:
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and (node.name == "main" or node.name.endswith("_command")):
                if path.name == "cli.py" and node.name == "main":
                    continue  # reads the arguments and hands over to a command
                found.append((f"{path.relative_to(ROOT)}:{node.name}", node))
    return found


def test_every_entry_point_imports_its_libraries_inside_loading_libraries():
    """Imports of anything but the standard library in an entry point are inside its
    ``with loading_libraries():`` block (the others load with the collector on, unfrozen)."""
    names = []
    for name, function in _entry_points():
        blocks = [
            node
            for node in ast.walk(function)
            if isinstance(node, ast.With) and ast.unparse(node.items[0].context_expr) == "loading_libraries()"
        ]
        inside = {id(n) for block in blocks for n in ast.walk(block)}
        outside = [
            ast.unparse(node)
            for node in ast.walk(function)
            if isinstance(node, ast.Import | ast.ImportFrom)
            and id(node) not in inside
            and not all(
                module.split(".")[0] in sys.stdlib_module_names
                for module in (
                    [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                )
            )
        ]
        assert len(blocks) == 1 and outside == [], (
            f"{name}: {len(blocks)} blocks, imported outside: {outside}"
        )
        names.append(name)
    stages = {f"stages/{stage}.py:main" for stage in STAGES}
    commands = {f"bankseg/cli.py:{c}_command" for c in ("assign", "pin", "gate", "migration", "publish")}
    assert set(names) == stages | commands
