"""``--help`` loads no heavy library: the parsers import the standard library and little else,
and each command imports pandas, scikit-learn and the rest once its arguments are read.

How long ``--help`` takes is measured by ``benchmarks/help_time.py``; this test checks the
cause (what is imported), which does not depend on the machine's load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# ``python -m MODULE ARGS... --help``, one entry per command (a stage script: ["stages.prepare"]).
COMMANDS = [
    ["bankseg"],
    ["bankseg", "assign"],
    ["bankseg", "pin-segments"],
    ["bankseg", "gate"],
    ["bankseg", "migration"],
    ["bankseg.dashboard"],
    ["stages.generate"],
    ["stages.prepare"],
    ["stages.featurize"],
    ["stages.elbow"],
    ["stages.train"],
    ["stages.assign"],
    ["stages.analyze"],
]
HEAVY = ("pandas", "numpy", "sklearn", "scipy", "pyarrow", "matplotlib", "skops", "dvc", "streamlit")

# Runs ``python -m MODULE ARGS`` in this interpreter, then prints its exit status and the
# modules it imported as the last line of the output.
PROBE = """
import json, runpy, sys
module, *args = sys.argv[1:]
sys.argv = [module, *args]
try:
    runpy.run_module(module, run_name="__main__", alter_sys=True)
    code = 0
except SystemExit as exit_:
    code = exit_.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _probe(module: str, *args: str, cwd: Path = ROOT) -> tuple[str, int, list[str]]:
    """The output, exit status and top-level packages of ``python -m module args``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(cwd), str(ROOT)])}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, module, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    *output, last = result.stdout.splitlines()
    found = json.loads(last)
    return "\n".join(output), found["code"], sorted({m.split(".")[0] for m in found["modules"]})


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_imports_no_heavy_library(command):
    output, code, packages = _probe(*command, "--help")
    assert code == 0
    usage = output.splitlines()[0]
    assert usage.startswith("usage: ") and command[-1].split(".")[-1] in usage, usage
    assert not set(HEAVY) & set(packages), f"{' '.join(command)} --help imports {set(HEAVY) & set(packages)}"


def test_the_probe_sees_a_heavy_import(tmp_path):
    (tmp_path / "heavy_command.py").write_text(
        "import argparse\nimport numpy\nargparse.ArgumentParser(prog='python -m heavy_command').parse_args()\n"
    )
    output, code, packages = _probe("heavy_command", "--help", cwd=tmp_path)
    assert code == 0
    assert output.startswith("usage: python -m heavy_command")
    assert "numpy" in packages
