"""``python -m bankseg.dashboard [--root DIR] [--port N]``: start the dashboard safely.

Runs ``streamlit run`` on ``app.py`` (the server, which adds the headers that forbid framing
to every response) with the settings of :data:`bankseg.dashboard.server.SAFE_OPTIONS` on the
command line (localhost only, 50 MB uploads, XSRF protection, no usage statistics, no table
export), so they hold from any working directory.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from bankseg import layout
from bankseg.dashboard.server import ROOT_VARIABLE, SAFE_OPTIONS, option_args, project_root

APP = Path(__file__).resolve().parent / "app.py"


def command(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        *option_args(SAFE_OPTIONS),
        f"--server.port={port}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bankseg.dashboard", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root",
        help="project folder with params.yaml, models/, reports/, metrics/ and plots/ "
        f"(default: ${ROOT_VARIABLE}, else the working directory if it has params.yaml, else this repository)",
    )
    parser.add_argument("--port", type=int, default=8501, help="port on 127.0.0.1 (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        import streamlit  # noqa: F401
    except ImportError:
        print("error: streamlit is not installed; pip install '.[dashboard]'", file=sys.stderr)
        return 2
    env = dict(os.environ)
    root = Path(args.root).resolve() if args.root else project_root()
    if not (root / layout.PARAMS).is_file():
        print(f"error: {root}: no {layout.PARAMS}; pass --root with the project folder", file=sys.stderr)
        return 2
    env[ROOT_VARIABLE] = str(root)
    # The app imports the same bankseg as this launcher, installed or not.
    package_parent = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    print(f"bankseg dashboard for {root} on http://127.0.0.1:{args.port}", flush=True)
    if os.name == "posix":  # become the server: signals (Ctrl-C, kill PID) reach it directly
        os.execve(sys.executable, command(args.port), env)
    try:
        return subprocess.call(command(args.port), env=env)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
