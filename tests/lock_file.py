"""A dvc.lock that records model files saved outside a DVC project, as `dvc repro` would.

bankseg.io.models.load_model loads a model only when the project's dvc.lock records its MD5; tests
that save a small model in a folder record it here instead of weakening that check.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml


def record_outputs(root: Path, *paths: Path, stage: str = "train") -> None:
    """Record ``paths`` (files under ``root``) in ``root/dvc.lock`` as outputs of ``stage``,
    with their MD5 and size as DVC 3 writes them; other entries are kept."""
    lock_path = root / "dvc.lock"
    lock = yaml.safe_load(lock_path.read_text()) if lock_path.exists() else {"schema": "2.0", "stages": {}}
    entry = lock["stages"].setdefault(stage, {"cmd": f"python -m stages.{stage}"})
    outs = {out["path"]: out for out in entry.get("outs", [])}
    for path in paths:
        rel = Path(path).resolve().relative_to(root.resolve()).as_posix()
        data = Path(path).read_bytes()
        outs[rel] = {"path": rel, "hash": "md5", "md5": hashlib.md5(data).hexdigest(), "size": len(data)}
    entry["outs"] = sorted(outs.values(), key=lambda out: out["path"])
    lock_path.write_text(yaml.safe_dump(lock, sort_keys=False))
