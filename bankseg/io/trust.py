"""Which model files are loaded: the ones dvc.lock records, holding only the types we save.

A model file reaches the workspace from DVC's cache or a DVC remote, and whoever controls
the remote can replace it, together with anything stored beside it. ``dvc.lock`` is
committed to git and reviewed, so it is what a model is checked against:

1. the file's MD5 must be the one ``dvc.lock`` records for its path (DVC 3 records ``md5``
   and ``size`` of every output and dependency);
2. the file must be a skops archive naming only the types in :data:`ALLOWED_TYPES`, the
   scikit-learn objects our preprocessing and model are made of. skops builds nothing else,
   so even a file that matched a forged or colliding MD5 could not run code when loaded.

:func:`bankseg.io.models.load_model` applies both before anything is constructed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bankseg.errors import InputError
from bankseg.params import read_yaml

LOCK_FILE = "dvc.lock"
MAX_LOCK_BYTES = 64 << 20

# Every type a saved preprocessing or model names in its skops schema, for every supported
# combination of params (scalers, encodings, log, imputers) and both engines. A test builds
# them all and checks that this set is exactly what they hold.
ALLOWED_TYPES = frozenset(
    {
        # the containers and values of the schema
        "builtins.dict",
        "builtins.list",
        "builtins.slice",
        "builtins.str",
        "builtins.tuple",
        # arrays, their dtypes and scalars, and the log of money amounts (features.log)
        "numpy.dtype",
        "numpy.float64",
        "numpy.arcsinh",  # log: auto of a column with negative values
        "numpy.log1p",
        "numpy.ndarray",
        # the scaling of mixed features
        "bankseg.features.FeatureScaler",
        # bankseg.segmentation.encoding.build_preprocessing and bankseg.segmentation.kmeans.build_model
        "sklearn.cluster._kmeans.KMeans",
        "sklearn.compose._column_transformer.ColumnTransformer",
        "sklearn.impute._base.MissingIndicator",
        "sklearn.impute._base.SimpleImputer",
        "sklearn.pipeline.Pipeline",
        "sklearn.preprocessing._encoders.OneHotEncoder",
        "sklearn.preprocessing._encoders.OrdinalEncoder",
        "sklearn.preprocessing._function_transformer.FunctionTransformer",
    }
)

_ONLY_PIPELINE_MODELS = "only models the pipeline trained are loaded"


def load_lock_file(path: str | Path) -> Any:
    """``dvc.lock`` as plain data (by the strict YAML reader of :mod:`bankseg.params`)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: not found; run the pipeline first (dvc repro)")
    try:
        return read_yaml(path, max_bytes=MAX_LOCK_BYTES)
    except InputError as exc:
        raise InputError(f"{exc}; restore it (git checkout dvc.lock) or run dvc repro") from exc


def project_path(path: str | Path, root: str | Path) -> str | None:
    """``path`` relative to ``root`` as dvc.lock writes paths (``models/model.skops``), or None
    when it lies outside ``root``.

    Folders are compared after resolving symlinks; the file's own name is kept as it is, so
    that an output DVC links from its cache (``cache.type: symlink``) keeps its path. What
    matters for trust is the content, which is checked in full.
    """
    absolute = Path(os.path.abspath(path))
    folder = absolute.parent.resolve()
    try:
        relative = folder.relative_to(Path(root).resolve())
    except ValueError:
        return None
    return posixpath.normpath((relative / absolute.name).as_posix())


def _records(lock: Any, relative: str) -> Iterator[tuple[str, str, str]]:
    """(kind, stage, recorded MD5) of every ``outs`` and ``deps`` entry of ``relative``."""
    # dvc.lock is read as plain data: anything not shaped as DVC writes it records nothing.
    stages = lock.get("stages") if isinstance(lock, dict) else None
    if not isinstance(stages, dict):
        return
    for name, stage in stages.items():
        for kind in ("outs", "deps"):
            entries = stage.get(kind) if isinstance(stage, dict) else None
            for entry in entries if isinstance(entries, list) else []:
                path = entry.get("path") if isinstance(entry, dict) else None
                if isinstance(path, str) and posixpath.normpath(path) == relative:
                    yield kind, str(name), str(entry.get("md5"))


def recorded_md5(path: str | Path, root: str | Path) -> str | None:
    """The MD5 dvc.lock in ``root`` records for the output ``path``, None when it records none."""
    relative = project_path(path, root)
    if relative is None:
        return None
    lock = load_lock_file(Path(root) / LOCK_FILE)
    return next((md5 for kind, _, md5 in _records(lock, relative) if kind == "outs"), None)


def check_recorded(path: str | Path, data: bytes, *, root: str | Path, stage: str | None = None) -> None:
    """Raise InputError unless ``data``, the content of ``path``, has the MD5 that dvc.lock
    in ``root`` records for ``path``.

    The file must be the output of a stage, and every stage that lists it as a dependency
    must record the same MD5, except ``stage``, the stage now running: DVC reruns it because
    its dependency changed, and rewrites its entry once it has run.
    """
    relative = project_path(path, root)
    if relative is None:
        raise InputError(
            f"{path}: outside the project folder {Path(root).resolve()}; {_ONLY_PIPELINE_MODELS}"
        )
    lock = load_lock_file(Path(root) / LOCK_FILE)
    records = sorted(_records(lock, relative), key=lambda record: record[0] != "outs")  # outputs first
    if not any(kind == "outs" for kind, _, _ in records):
        raise InputError(f"{path}: not a model this project's dvc.lock records; {_ONLY_PIPELINE_MODELS}")
    actual = hashlib.md5(data).hexdigest()
    for kind, name, recorded in records:
        if recorded != actual and not (kind == "deps" and name == stage):
            role = "an output" if kind == "outs" else "a dependency"
            raise InputError(
                f"{path}: MD5 {actual[:12]}... does not match {recorded[:12]}... recorded in "
                f"dvc.lock ({role} of stage {name}); refusing to load it (run dvc repro to rebuild "
                "it, or dvc checkout to restore the recorded file)"
            )


def schema_types(schema: Any) -> set[str]:
    """Every type a skops schema names (``module.class`` of each node)."""
    found: set[str] = set()
    todo = [schema]
    while todo:  # a loop, not recursion: a crafted schema may be nested very deep
        node = todo.pop()
        if isinstance(node, dict):
            if "__class__" in node or "__module__" in node:
                found.add(f"{node.get('__module__')}.{node.get('__class__')}")
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return found


def check_types(path: str | Path, data: bytes) -> None:
    """Raise InputError unless ``data`` is a skops archive that names only ALLOWED_TYPES.

    Both the types skops itself would not trust (:func:`skops.io.get_untrusted_types`) and
    every type the schema names are checked; nothing is constructed.
    """
    import skops.io

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            named = schema_types(json.loads(archive.read("schema.json")))
        untrusted = set(skops.io.get_untrusted_types(data=data))
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, AttributeError, RecursionError) as exc:
        detail = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"{path}: not a model file the pipeline writes (a skops archive): {detail}; refusing to load it"
        ) from exc
    refused = sorted((named | untrusted) - ALLOWED_TYPES)
    if refused:
        raise InputError(
            f"{path}: holds types the pipeline never saves ({', '.join(refused)}); refusing to load it"
        )
