"""dvc.yaml declares what each stage really uses, so a code change reruns the right stages."""

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def _module_file(name: str) -> str | None:
    """The file of module ``name`` (a package's ``__init__.py``), or None when it is not a module."""
    path = ROOT / name.replace(".", "/")
    if path.with_suffix(".py").is_file():
        return f"{name.replace('.', '/')}.py"
    if (path / "__init__.py").is_file():
        return f"{name.replace('.', '/')}/__init__.py"
    return None


def _project_imports(path: Path) -> set[str]:
    """Files of the bankseg package that ``path`` imports, directly or through other modules,
    with the ``__init__.py`` of every package on the way (importing a module runs them)."""
    found: set[str] = set()
    todo = [path]
    while todo:
        tree = ast.parse(todo.pop().read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                # ``from bankseg.reporting import plots`` imports the module bankseg.reporting.plots
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name.split(".")[0] != "bankseg":
                    continue
                parts = name.split(".")
                for i in range(1, len(parts) + 1):
                    rel = _module_file(".".join(parts[:i]))
                    if rel is not None and rel not in found:
                        found.add(rel)
                        todo.append(ROOT / rel)
    return found


@pytest.mark.slow
def test_every_stage_lists_its_script_and_every_module_it_imports():
    for name, stage in STAGES.items():
        script = f"stages/{name}.py"
        assert f"python -m stages.{name} " in stage["cmd"], name
        deps = set(stage["deps"])
        assert script in deps, f"{name}: {script} not in deps"
        missing = _project_imports(ROOT / script) - deps
        assert not missing, f"stage {name} imports {sorted(missing)} but does not list them as deps"


def test_every_path_a_stage_is_given_is_declared():
    for name, stage in STAGES.items():
        declared = set(stage.get("deps", []))
        for kind in ("outs", "metrics", "plots"):
            for item in stage.get(kind, []):
                declared |= set(item) if isinstance(item, dict) else {item}
        words = stage["cmd"].split()
        given = [w for i, w in enumerate(words) if i > 0 and words[i - 1].startswith("--")]
        undeclared = [p for p in given if p not in declared]
        assert not undeclared, f"stage {name} is given undeclared paths {undeclared}"


def test_metrics_and_plots_are_committed_not_cached():
    for name, stage in STAGES.items():
        for kind in ("metrics", "outs"):
            for item in stage.get(kind, []):
                path = next(iter(item)) if isinstance(item, dict) else item
                if path.startswith(("metrics/", "plots/", "reports/")):
                    assert isinstance(item, dict) and item[path].get("cache") is False, f"{name}: {path}"


def test_the_model_is_declared_in_the_model_registry():
    """``artifacts:`` names the trained model, the output of the train stage, as a model."""
    from bankseg import layout

    artifacts = yaml.safe_load((ROOT / "dvc.yaml").read_text())["artifacts"]
    (entry,) = artifacts.values()
    assert entry["path"] == layout.MODEL in STAGES["train"]["outs"]
    assert entry["type"] == "model"
    assert entry["desc"] and entry["labels"]
