"""The files an entry point reads and writes, checked before any work is done.

No output may be an input or another output (after resolving links, hard links included),
no input may live in a folder that is written, and every input must be a regular file: a
wrong flag is refused in one line instead of destroying the customer export.
"""

from __future__ import annotations

import argparse
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from bankseg.errors import InputError


def check_regular_file(path: Path) -> None:
    """Refuse a path that does not exist or is not a regular file (a FIFO would hang a reader)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError as exc:
        raise InputError(f"{path}: file not found") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from exc
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "a special file"
        raise InputError(f"{path}: is {kind}, not a regular file; expected a CSV or Parquet file")


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _identity(path: Path) -> tuple:
    """What makes two paths the same file: the device and inode of an existing file (hard
    links and symbolic links included), else the resolved path."""
    try:
        info = os.stat(path)
        return ("inode", info.st_dev, info.st_ino)
    except OSError:
        return ("path", os.path.realpath(path))


def _inside(path: Path, folder: Path) -> bool:
    return Path(os.path.realpath(folder)) in Path(os.path.realpath(path)).parents


def check_paths(
    inputs: dict[str, str | Path],
    outputs: dict[str, str | Path],
    *,
    folders: Iterable[str] = (),
    optional: Iterable[str] = (),
) -> None:
    """Refuse paths that would destroy an input or write one file twice.

    ``inputs`` and ``outputs`` map a label (``--raw``, ``the params file``) to a path;
    ``folders`` are labels of outputs that are folders of files, ``optional`` labels of
    inputs that may be absent. Each input must be a regular file (a FIFO would hang a
    reader); each output must not be an input, another output, or inside an output folder;
    a file output must not be an existing folder, and its folder must not be a file.
    """
    folders, optional = set(folders), set(optional)
    for label, path in inputs.items():
        if label in optional and not os.path.lexists(path):
            continue
        check_regular_file(Path(path))
    seen: dict[tuple, str] = {_identity(Path(p)): label for label, p in inputs.items()}
    for label, path in outputs.items():
        path = Path(path)
        other = seen.get(_identity(path))
        if other in inputs:
            raise InputError(
                f"{label} {path}: is the same file as {other} ({inputs[other]}); refusing to overwrite an input"
            )
        if other is not None:
            raise InputError(
                f"{label} {path}: is the same file as {other} ({outputs[other]}); expected a different file "
                "for each output"
            )
        seen[_identity(path)] = label
        if label in folders:
            if path.exists() and not path.is_dir():
                raise InputError(f"{label} {path}: is a file, expected a folder for the per-segment files")
            for input_label, input_path in inputs.items():
                if _inside(Path(input_path), path):
                    raise InputError(
                        f"{label} {path}: holds the input {input_label} {input_path}; "
                        "expected a folder of outputs only"
                    )
            continue
        if path.is_dir():
            raise InputError(f"{label} {path}: is a folder, expected a file name to write")
        parent = next((p for p in path.parents if p.exists()), None)
        if parent is not None and not parent.is_dir():
            raise InputError(f"{label} {path}: {parent} is a file, not a folder")


def check_args(
    args: argparse.Namespace,
    *,
    inputs: Iterable[str],
    outputs: Iterable[str],
    folders: Iterable[str] = (),
    params: str | Path = "params.yaml",
) -> None:
    """:func:`check_paths` for a stage's arguments (their ``dest`` names), with the params file
    as one more input."""
    check_paths(
        {"the params file": params, **{_flag(d): getattr(args, d) for d in inputs}},
        {_flag(d): getattr(args, d) for d in outputs},
        folders={_flag(d) for d in folders},
    )
