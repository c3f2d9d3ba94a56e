"""Time ``--help`` of the command line and the dashboard launcher.

Runs each command's ``--help`` in a fresh interpreter several times and prints the median
wall time: this is what a user waits for before the first line of help, mostly Python's start
and the imports done before the arguments are read.

Usage (from the project folder, with the package importable, e.g. ``PYTHONPATH=$PWD``)::

    python benchmarks/help_time.py            # median of 5 runs
    python benchmarks/help_time.py --runs 9
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time

COMMANDS = [
    ["python", "-c", "pass"],  # the interpreter's own start, for scale
    ["python", "-m", "bankseg", "--help"],
    ["python", "-m", "bankseg", "assign", "--help"],
    ["python", "-m", "bankseg", "pin-segments", "--help"],
    ["python", "-m", "bankseg", "gate", "--help"],
    ["python", "-m", "bankseg.dashboard", "--help"],
    ["python", "-m", "stages.generate", "--help"],
    ["python", "-m", "stages.prepare", "--help"],
    ["python", "-m", "stages.featurize", "--help"],
    ["python", "-m", "stages.elbow", "--help"],
    ["python", "-m", "stages.train", "--help"],
    ["python", "-m", "stages.assign", "--help"],
    ["python", "-m", "stages.analyze", "--help"],
]


def wall_time(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *command[1:]], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (default: %(default)s)")
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, median of {args.runs} runs")
    print(f"{'seconds':>8}  command")
    for command in COMMANDS:
        times = [wall_time(command) for _ in range(args.runs)]
        print(f"{statistics.median(times):8.2f}  {' '.join(command)}")


if __name__ == "__main__":
    main()
