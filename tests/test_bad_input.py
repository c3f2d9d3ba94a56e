"""The corpus of malformed customer files (tests/corpus.py) through the real ``assign`` command line.

Every case either succeeds with the documented handling or stops with one ``error:`` line
that names the file and what was expected, and never with a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

import corpus
import pandas as pd
import pytest

from bankseg.__main__ import main

pytestmark = pytest.mark.slow  # seconds per test: subprocesses, apps or searches


def _base(tiny_model_dir: Path) -> pd.DataFrame:
    new = pd.read_csv(tiny_model_dir / "new.csv", dtype=str, keep_default_na=False)
    return corpus.valid_base(new, 40)


def _write(frame: pd.DataFrame, path: Path, **options) -> Path:
    frame.to_csv(path, index=False, **options)
    return path


CASES = {case.name: case for case in corpus.CASES if case.assign is not None}


@pytest.mark.parametrize("name", CASES)
def test_bad_input_is_handled_or_refused_in_one_line(name, tiny_model_dir, tmp_path, capsys):
    case = CASES[name]
    base = _base(tiny_model_dir)
    path = case.build(base, tmp_path / "x")
    output, rejected = tmp_path / "out.csv", tmp_path / "rejected.csv"
    argv = ["assign", str(path), str(output), "--rejected", str(rejected)]
    argv += [
        "--model",
        str(tiny_model_dir / "model.skops"),
        "--segments",
        str(tiny_model_dir / "segments.json"),
    ]
    argv += ["--params", str(tiny_model_dir / "params.yaml")]
    if isinstance(case.assign, corpus.Error):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        [line] = [ln for ln in err.splitlines() if ln.startswith("error:")]
        assert line.startswith(f"error: {path}: ")
        for text in case.assign.texts:
            assert re.search(text, line), f"{text!r} not in {line!r}"
        assert not output.exists()
        return
    main(argv)
    assert "Traceback" not in capsys.readouterr().err
    kept, n_rejected, _ = case.assign.counts(len(base))
    assigned = pd.read_csv(output, dtype={"customer_id": str})
    assert len(assigned) == kept
    assert len(pd.read_csv(rejected)) == n_rejected
    assert assigned["segment"].notna().all()


def test_ids_that_look_like_formulas_come_out_neutralised(tiny_model_dir, tmp_path):
    base = _base(tiny_model_dir).head(4)
    base["customer_id"] = ["=1+1", "+2x", "-3x", "@4"]
    base["customer_name"] = ["=HYPERLINK(1)", "+x", "-y", "@z"]
    path, output, rejected = _write(base, tmp_path / "x.csv"), tmp_path / "out.csv", tmp_path / "rej.csv"
    main(
        ["assign", str(path), str(output), "--rejected", str(rejected)]
        + [
            "--model",
            str(tiny_model_dir / "model.skops"),
            "--segments",
            str(tiny_model_dir / "segments.json"),
        ]
        + ["--params", str(tiny_model_dir / "params.yaml")]
    )
    assigned = pd.read_csv(output, dtype=str)
    assert assigned["customer_id"].tolist() == ["'=1+1", "'+2x", "'-3x", "'@4"]
    assert "HYPERLINK" not in output.read_text() + rejected.read_text()
