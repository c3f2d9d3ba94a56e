"""A corpus of malformed customer files, each run through the real ``assign`` command line.

Every case either succeeds with the documented handling or stops with one ``error:`` line
that names the file and what was expected, and never with a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bankseg.__main__ import main


def _base(tiny_model_dir: Path) -> pd.DataFrame:
    return pd.read_csv(tiny_model_dir / "new.csv", dtype=str, keep_default_na=False).head(40)


def _write(frame: pd.DataFrame, path: Path, **options) -> Path:
    frame.to_csv(path, index=False, **options)
    return path


def _text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _with(frame: pd.DataFrame, **columns) -> pd.DataFrame:
    frame = frame.copy()
    for name, value in columns.items():
        frame[name] = value
    return frame


# name -> (how to build the file from the 40-row base and a folder, expected outcome)
# outcome: ("ok", rows assigned, rows rejected) or ("error", text the one error line contains)
CASES = {
    "empty file": (lambda b, d: _text(d / "x.csv", ""), ("error", "file is empty")),
    "header only": (lambda b, d: _write(b.head(0), d / "x.csv"), ("ok", 0, 0)),
    "missing column": (
        lambda b, d: _write(b.drop(columns=["age"]), d / "x.csv"),
        ("error", "required column 'age' is missing"),
    ),
    "header case and spaces": (
        lambda b, d: _write(b.rename(columns={"age": " AGE ", "networth": "NetWorth"}), d / "x.csv"),
        ("ok", 40, 0),
    ),
    "numbers with grouping and rupee sign": (
        lambda b, d: _write(
            _with(b, networth=["1,20,000", "₹5,000", "Rs. 7,500", "INR 900"] * 10), d / "x.csv"
        ),
        ("ok", 40, 0),
    ),
    "number with a k suffix": (lambda b, d: _write(_with(b, networth="12k"), d / "x.csv"), ("ok", 0, 40)),
    "N/A means missing and is imputed": (
        lambda b, d: _write(_with(b, networth="N/A", age="NA", sip_amount="null"), d / "x.csv"),
        ("ok", 40, 0),
    ),
    "whole column empty where missing values are rejected": (
        lambda b, d: _write(_with(b, risk_id=""), d / "x.csv"),
        ("ok", 0, 40),
    ),
    "absurd values": (lambda b, d: _write(_with(b, age="250", networth="-1"), d / "x.csv"), ("ok", 0, 40)),
    "duplicate ids with different data": (
        lambda b, d: _write(pd.concat([b, _with(b, age="30")]), d / "x.csv"),
        ("ok", 40, 40),
    ),
    "one row": (lambda b, d: _write(b.head(1), d / "x.csv"), ("ok", 1, 0)),
    "all rows identical": (
        lambda b, d: _write(
            _with(pd.concat([b.head(1)] * 5), customer_id=[str(i) for i in range(5)]), d / "x.csv"
        ),
        ("ok", 5, 0),
    ),
    "unseen ordinal category": (
        lambda b, d: _write(_with(b, income_slab="Platinum"), d / "x.csv"),
        ("ok", 0, 40),
    ),
    "unseen one-hot category": (
        lambda b, d: _write(_with(b, account_type="Joint"), d / "x.csv"),
        ("ok", 40, 0),
    ),
    "latin-1 encoding": (
        lambda b, d: _write(_with(b, customer_name="José Müller"), d / "x.csv", encoding="latin-1"),
        ("ok", 40, 0),
    ),
    "utf-8 byte order mark": (lambda b, d: _write(b, d / "x.csv", encoding="utf-8-sig"), ("ok", 40, 0)),
    "semicolon delimited": (lambda b, d: _write(b, d / "x.csv", sep=";"), ("ok", 40, 0)),
    "tab delimited": (lambda b, d: _write(b, d / "x.csv", sep="\t"), ("ok", 40, 0)),
    "unterminated quote": (
        lambda b, d: _text(d / "x.csv", _write(b, d / "y.csv").read_text() + '"41,unclosed\n'),
        ("error", "cannot be read as csv"),
    ),
    "very long fields": (lambda b, d: _write(_with(b, address="x" * 200_000), d / "x.csv"), ("ok", 40, 0)),
    "parquet with numbers stored as text and integers": (
        lambda b, d: (
            _with(b, networth=[int(i) * 1000 for i in range(40)]).to_parquet(d / "x.parquet"),
            d / "x.parquet",
        )[1],
        ("ok", 40, 0),
    ),
    "unsupported file type": (lambda b, d: _write(b, d / "x.xlsx"), ("error", "unsupported file type")),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_handled_or_refused_in_one_line(case, tiny_model_dir, tmp_path, capsys):
    build, expected = CASES[case]
    path = build(_base(tiny_model_dir), tmp_path)
    output, rejected = tmp_path / "out.csv", tmp_path / "rejected.csv"
    argv = ["assign", str(path), str(output), "--rejected", str(rejected)]
    argv += [
        "--model",
        str(tiny_model_dir / "model.joblib"),
        "--segments",
        str(tiny_model_dir / "segments.json"),
    ]
    argv += ["--params", str(tiny_model_dir / "params.yaml")]
    if expected[0] == "error":
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        [line] = [ln for ln in err.splitlines() if ln.startswith("error:")]
        assert line.startswith(f"error: {path}: ") and expected[1] in line
        assert not output.exists()
        return
    main(argv)
    assert "Traceback" not in capsys.readouterr().err
    assigned = pd.read_csv(output, dtype={"customer_id": str})
    assert len(assigned) == expected[1]
    assert len(pd.read_csv(rejected)) == expected[2]
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
            str(tiny_model_dir / "model.joblib"),
            "--segments",
            str(tiny_model_dir / "segments.json"),
        ]
        + ["--params", str(tiny_model_dir / "params.yaml")]
    )
    assigned = pd.read_csv(output, dtype=str)
    assert assigned["customer_id"].tolist() == ["'=1+1", "'+2x", "'-3x", "'@4"]
    assert "HYPERLINK" not in output.read_text() + rejected.read_text()
