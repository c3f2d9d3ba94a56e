"""bankseg.layout names the paths dvc.yaml declares, so the two cannot drift apart."""

from pathlib import Path

import yaml

from bankseg import layout

ROOT = Path(__file__).resolve().parent.parent
DVC_YAML = yaml.safe_load((ROOT / "dvc.yaml").read_text())
STAGES = DVC_YAML["stages"]


def _paths(entries: list) -> list[str]:
    """The paths of an outs/metrics/plots list, whose items are a path or {path: options}."""
    return [next(iter(item)) if isinstance(item, dict) else item for item in entries]


def _declared(stage: dict, kinds: tuple[str, ...] = ("outs", "metrics", "plots")) -> list[str]:
    return [path for kind in kinds for path in _paths(stage.get(kind, []))]


def _named_paths() -> dict[str, str]:
    """Every path constant of bankseg.layout, by name."""
    return {name: value for name, value in vars(layout).items() if name.isupper() and isinstance(value, str)}


def test_each_stage_writes_exactly_the_outputs_the_layout_lists():
    assert set(layout.OUTPUTS) == set(STAGES)
    for name, stage in STAGES.items():
        declared = _declared(stage)
        assert len(declared) == len(set(declared)), name
        assert set(layout.OUTPUTS[name]) == set(declared), name


def test_every_output_path_of_the_layout_is_one_dvc_yaml_declares():
    declared = {path for stage in STAGES.values() for path in _declared(stage)}
    outputs = [path for paths in layout.OUTPUTS.values() for path in paths]
    assert len(outputs) == len(set(outputs))
    others = {"PARAMS", "METRICS_FOLDER"}
    commands = {path for paths in layout.COMMAND_OUTPUTS.values() for path in paths}
    for name, path in _named_paths().items():
        if name not in others and path not in commands:
            assert path in declared, f"layout.{name} = {path!r} is not an output in dvc.yaml"
            assert path in outputs, f"layout.{name} is missing from layout.OUTPUTS"


def test_the_metrics_folder_holds_exactly_the_declared_metrics():
    metrics = {path for stage in STAGES.values() for path in _declared(stage, ("metrics",))}
    in_folder = {
        path
        for paths in layout.OUTPUTS.values()
        for path in paths
        if path.startswith(f"{layout.METRICS_FOLDER}/")
    }
    assert metrics
    assert metrics == in_folder


def test_the_params_file_is_the_one_dvc_reads():
    # dvc.yaml names no params file: its stages read the default one, in the project folder.
    assert all(isinstance(p, str) for stage in STAGES.values() for p in stage.get("params", []))
    assert layout.PARAMS == "params.yaml"
    assert (ROOT / layout.PARAMS).is_file()


def test_the_plots_section_shows_outputs_of_the_layout():
    outputs = {path for paths in layout.OUTPUTS.values() for path in paths}
    shown = set()
    for item in DVC_YAML["plots"]:
        if isinstance(item, str):
            shown.add(item)
        else:
            (options,) = item.values()
            shown |= set(options["y"])
    assert shown
    assert shown <= outputs, shown - outputs
