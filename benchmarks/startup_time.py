"""CPU time of each entry point's imports, with and without ``loading_libraries``.

Every stage and command imports its libraries inside ``bankseg.startup.loading_libraries()``
after reading its arguments. This script takes that block of imports from the source of each
entry point and runs it in fresh interpreters, alternately inside the block as the entry point
does and bare (the garbage collector on all along), and prints the median CPU time (user and
system) of each interpreter: what each stage or command spends before its work.

Usage (from the project folder)::

    python benchmarks/startup_time.py             # median of 5 runs each way
    python benchmarks/startup_time.py --runs 9
"""

from __future__ import annotations

import argparse
import ast
import platform
import resource
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ["generate", "prepare", "featurize", "elbow", "train", "assign", "analyze"]
ENTRY_POINTS = [*(ROOT / "stages" / f"{name}.py" for name in STAGES), ROOT / "bankseg" / "cli.py"]


def import_blocks(path: Path) -> dict[str, str]:
    """Function name -> the source of its ``with loading_libraries():`` block's body."""
    source = path.read_text(encoding="utf-8")
    blocks = {}
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef):
            continue
        for node in ast.walk(function):
            if (
                isinstance(node, ast.With)
                and ast.unparse(node.items[0].context_expr) == "loading_libraries()"
            ):
                blocks[function.name] = "\n".join(ast.unparse(statement) for statement in node.body)
    return blocks


def cpu_time(code: str) -> float:
    """CPU seconds of a fresh interpreter running ``code`` in the project folder."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs each way (default: %(default)s)")
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, CPU seconds, median of {args.runs} runs each way")
    print(f"{'bare':>6} {'inside':>7} {'saved':>6}  entry point")
    for path in ENTRY_POINTS:
        for name, body in import_blocks(path).items():
            inside = "from bankseg.startup import loading_libraries\nwith loading_libraries():\n"
            inside += textwrap.indent(body, "    ")
            times: dict[str, list[float]] = {"bare": [], "inside": []}
            for _ in range(args.runs):  # alternately, so that the machine's drift hits both
                times["bare"].append(cpu_time(body))
                times["inside"].append(cpu_time(inside))
            bare, within = statistics.median(times["bare"]), statistics.median(times["inside"])
            print(f"{bare:6.2f} {within:7.2f} {1 - within / bare:6.0%}  {path.relative_to(ROOT)}:{name}")


if __name__ == "__main__":
    main()
