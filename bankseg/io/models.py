"""Models saved with skops, the same bytes for the same model, and loaded only when trusted.

A skops file is a zip of JSON and arrays that is loaded without running code; a model is
loaded only after :mod:`bankseg.io.trust` has checked it against the project's ``dvc.lock``.

Import ``scipy.special`` before pandas and scikit-learn in a process that loads or saves
models, as the stages and commands that do so import it first: at import, ``skops.io`` looks
each of scipy.special's functions up in every module loaded before ``scipy.special``
(``whichmodule`` in ``skops.io._utils``, to record where the function lives), so the fewer
modules ahead of it, the shorter that search. The order of imports changes nothing else.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from bankseg.errors import InputError
from bankseg.io.atomic import atomic_path
from bankseg.io.trust import ALLOWED_TYPES, check_recorded, check_types

# skops names each array's file, and numbers each object, by id(obj), and dates each entry:
# the archive is rewritten with those replaced, so the same model gives the same bytes.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can hold


def _canonical_skops(data: bytes) -> bytes:
    """The skops archive ``data`` written the same way every time, with the same content.

    The ids (``__id__`` and the ``<id>.npy`` file names) are renumbered 1, 2, ... in order of
    first appearance in ``schema.json``, one mapping for both (an id can be shared by several
    nodes, and a node's array file carries its id). Entries are stored uncompressed, dated
    1980-01-01, arrays in that order and the schema last, the schema as compact JSON.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        numbers: dict[str, int] = {}
        arrays: dict[str, bytes] = {}  # new name -> content
        read: set[str] = set()  # old names

        def number(old: object) -> int:
            # From 1: skops does not remember an object whose id is 0.
            return numbers.setdefault(str(old), len(numbers) + 1)

        def renumber(node: Any) -> Any:
            if isinstance(node, list):
                return [renumber(v) for v in node]
            if not isinstance(node, dict):
                return node
            out = {}
            for key, value in node.items():  # in the order of the file
                if key == "__id__":
                    out[key] = number(value)
                elif key == "file" and "__loader__" in node and isinstance(value, str):
                    stem, dot, suffix = value.partition(".")
                    out[key] = f"{number(stem)}{dot}{suffix}"
                    arrays[out[key]] = archive.read(value)
                    read.add(value)
                else:
                    out[key] = renumber(value)
            return out

        schema = renumber(json.loads(archive.read("schema.json")))
        unnamed = set(archive.namelist()) - {"schema.json"} - read
    if unnamed:  # the schema does not name every file: this format is not the one we know
        raise ValueError(f"skops wrote files its schema does not name: {sorted(unnamed)}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        entries = sorted(arrays.items(), key=lambda item: int(item[0].partition(".")[0]))
        for name, content in [*entries, ("schema.json", json.dumps(schema, separators=(",", ":")).encode())]:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 3  # Unix, wherever it is written
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def save_model(model: Any, path: str | Path) -> None:
    """Save with skops (a zip of JSON and arrays, loaded without running code), byte for byte
    the same for the same model (:func:`_canonical_skops`)."""
    import skops.io

    data = _canonical_skops(skops.io.dumps(model))
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def load_model(path: str | Path, *, root: str | Path, stage: str | None = None) -> Any:
    """Load a model the pipeline saved, after checking it against the project's ``dvc.lock``.

    ``root`` is the project folder holding ``dvc.lock`` (stages run there; the command line
    uses the folder of its params file). The file is read once; its MD5 must be the one
    dvc.lock records (:func:`bankseg.io.trust.check_recorded`, where ``stage`` is the stage now
    running), and it must name only the types of :data:`bankseg.io.trust.ALLOWED_TYPES`
    (:func:`bankseg.io.trust.check_types`). Only then does skops build it, from those bytes.
    """
    import skops.io

    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{path}: model not found; run the pipeline first (dvc repro)") from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read the model ({exc.strerror})") from exc
    check_recorded(path, data, root=root, stage=stage)
    check_types(path, data)
    try:
        return skops.io.loads(data, trusted=sorted(ALLOWED_TYPES))
    except (ValueError, TypeError, KeyError, AttributeError, ImportError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: cannot be loaded ({type(exc).__name__}: {exc}); run dvc repro") from exc
