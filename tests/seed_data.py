"""The original proof of concept's files, read where they are and never copied into the project.

The folder is ``$BANKSEG_SEED_DIR`` when that variable is set, else ``../shared/seed`` next to
the repository. Tests that need it skip, with the reason, when it or one of its files is missing.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED_DIR_VARIABLE = "BANKSEG_SEED_DIR"

TRAIN = "wms-customers-train.csv"  # 10,000 customers, the data the original model was fitted on
TEST = "wms-customers-test.csv"  # 7,086 exact copies of training rows (customer_id 635-7720)
MODEL = "wms-kmeans-model.pkl"  # the original KMeans(n_clusters=3), scikit-learn 1.3.2

N_TRAIN = 10_000
N_TEST = 7_086


def seed_dir() -> Path:
    configured = os.environ.get(SEED_DIR_VARIABLE)
    folder = Path(configured).expanduser() if configured else ROOT.parent / "shared" / "seed"
    return folder.resolve()


def require_seed(*names: str) -> Path:
    """The seed folder, or skip the calling test (or fixture) when it or a named file is missing."""
    folder = seed_dir()
    where = f"${SEED_DIR_VARIABLE}" if os.environ.get(SEED_DIR_VARIABLE) else "../shared/seed"
    if not folder.is_dir():
        pytest.skip(f"the original proof of concept's files are not available: no folder {folder} ({where})")
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        pytest.skip(f"the original proof of concept's files are not available: {folder} has no {missing}")
    return folder


def pipeline_input(path: Path, repo: Path) -> str:
    """The value of ``data.raw`` / ``data.new`` that makes ``dvc repro`` read ``path`` as it is.

    DVC accepts a file outside the repository as a dependency, so the seed file is normally
    used in place. dvc.yaml puts the path into a shell command unquoted: a path the shell
    would split is copied into the (throwaway) repository copy instead, byte for byte.
    """
    if shlex.quote(str(path)) == str(path):
        return str(path)
    target = repo / "input" / path.name
    target.parent.mkdir(exist_ok=True)
    shutil.copyfile(path, target)
    return f"input/{path.name}"


def read_seed_csv(path: Path) -> pd.DataFrame:
    """A seed CSV as text, exactly as written (no missing-value guessing)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()
