"""Time the strict YAML reader on libyaml's parser and on PyYAML's own.

``bankseg.params.read_yaml`` reads params.yaml in every stage and command, and dvc.lock each
time a model is loaded. Both parsers feed the same composer and checks (repeated keys,
anchors, aliases, depth); this prints the CPU time of one read of each file with each parser.

Usage (from the project folder, with the package importable, e.g. ``PYTHONPATH=$PWD``)::

    python benchmarks/yaml_time.py                      # params.yaml and dvc.lock, 20 reads each
    python benchmarks/yaml_time.py --runs 50 path/to/dvc.lock
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import yaml

from bankseg.params import YAML_PARSER, PurePythonParser, strict_loader


def cpu_per_read(text: str, parser: type, runs: int) -> float:
    loader = strict_loader(parser)
    start = time.process_time()
    for _ in range(runs):
        yaml.load(text, Loader=loader)  # the strict loader: SafeConstructor, plain data only
    return (time.process_time() - start) / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=[Path("params.yaml"), Path("dvc.lock")])
    parser.add_argument(
        "--runs", type=int, default=20, help="reads per file and parser (default: %(default)s)"
    )
    args = parser.parse_args()
    print(f"Python {platform.python_version()}, PyYAML {yaml.__version__}, CPU time per read")
    print(f"{'lines':>6} {'libyaml ms':>11} {'PyYAML ms':>10}  file")
    for path in args.files:
        text = path.read_text(encoding="utf-8")
        fast = (
            cpu_per_read(text, YAML_PARSER, args.runs)
            if YAML_PARSER is not PurePythonParser
            else float("nan")
        )
        slow = cpu_per_read(text, PurePythonParser, args.runs)
        print(f"{len(text.splitlines()):6d} {fast * 1000:11.1f} {slow * 1000:10.1f}  {path}")


if __name__ == "__main__":
    main()
