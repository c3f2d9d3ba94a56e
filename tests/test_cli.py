"""bankseg.cli and bankseg.errors: ``python -m bankseg assign INPUT OUTPUT``.

A few tests run the real command in a subprocess (help, a user mistake, one success); the
others call ``main`` in-process, which is much faster.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bankseg.cli import main
from bankseg.data import reading
from bankseg.data.cleaning import clean_customers
from bankseg.errors import InputError, run_entry_point
from bankseg.io.atomic import write_parquet

pytestmark = pytest.mark.slow  # seconds per test: subprocesses, apps or searches

ROOT = Path(__file__).resolve().parent.parent
ASSIGNED_COLUMNS = ["customer_id", "segment", "segment_name", "distance"]


def _env() -> dict[str, str]:
    env = os.environ.copy()
    env.pop("BANKSEG_DEBUG", None)
    return env


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bankseg", *args],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _model_args(folder) -> list[str]:
    return [
        "--model",
        str(folder / "model.skops"),
        "--segments",
        str(folder / "segments.json"),
        "--params",
        str(folder / "params.yaml"),
    ]


def _main_exit(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return info.value.code


def test_assign_help():
    result = _run("assign", "--help")
    assert result.returncode == 0
    usage = result.stdout.split("\n\n")[0]
    assert usage.startswith("usage: python -m bankseg assign")
    assert usage.lower().split()[-2:] == ["input", "output"]
    assert "INPUT" in result.stdout.upper()
    assert "OUTPUT" in result.stdout.upper()
    for option in ("--rejected", "--params", "--model", "--segments"):
        assert option in result.stdout
    assert result.stderr == ""


def test_bad_input_path_is_one_error_line_and_exit_status_2(tmp_path, tiny_model_dir):
    missing = tmp_path / "no_such_customers.csv"
    result = _run("assign", str(missing), str(tmp_path / "out.csv"), *_model_args(tiny_model_dir))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: {missing}: file not found"]
    assert not (tmp_path / "out.csv").exists()


def test_assign_writes_segments(tmp_path, tiny_model_dir, params):
    output = tmp_path / "out" / "segments.csv"
    result = _run("assign", str(tiny_model_dir / "new.csv"), str(output), *_model_args(tiny_model_dir))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    labelled = pd.read_csv(output, dtype={"customer_id": str})
    assert list(labelled.columns) == ASSIGNED_COLUMNS
    raw = pd.read_csv(tiny_model_dir / "new.csv", dtype=str, keep_default_na=False)
    kept = clean_customers(raw, params, source="new.csv").kept
    assert labelled["customer_id"].tolist() == kept["customer_id"].tolist()
    assert set(labelled["segment"]) <= {0, 1, 2}
    assert (labelled["segment_name"] == "Segment name " + labelled["segment"].astype(str)).all()
    assert (labelled["distance"] >= 0).all()
    assert "rows rejected" in result.stderr  # the generated batch plants two duplicate ids


def test_missing_column_is_one_error_line(tmp_path, tiny_model_dir, capsys):
    raw = pd.read_csv(tiny_model_dir / "new.csv", dtype=str, keep_default_na=False)
    path = tmp_path / "no_networth.csv"
    raw.drop(columns=["networth"]).to_csv(path, index=False)
    code = _main_exit(["assign", str(path), str(tmp_path / "out.csv"), *_model_args(tiny_model_dir)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"error: {path}: required column 'networth' is missing")


def test_output_may_not_overwrite_the_input(tiny_model_dir, capsys):
    path = str(tiny_model_dir / "new.csv")
    before = (tiny_model_dir / "new.csv").read_bytes()
    assert _main_exit(["assign", path, path, *_model_args(tiny_model_dir)]) == 2
    assert capsys.readouterr().err == (
        f"error: OUTPUT {path}: is the same file as INPUT ({path}); refusing to overwrite an input\n"
    )
    assert (tiny_model_dir / "new.csv").read_bytes() == before


@pytest.mark.parametrize("link", ["symlink", "hardlink", "same"])
def test_no_flag_may_overwrite_the_input_or_another_output(tmp_path, tiny_model_dir, capsys, link):
    """``--rejected`` naming the input (directly, through a link, or as another spelling of its
    path) once overwrote the customer export with the rejected rows and exited 0."""
    source = tmp_path / "customers.csv"
    shutil.copy(tiny_model_dir / "new.csv", source)
    before = source.read_bytes()
    alias = tmp_path / "alias.csv"
    if link == "symlink":
        alias.symlink_to(source)
    elif link == "hardlink":
        os.link(source, alias)
    else:
        alias = tmp_path / "." / "customers.csv"
    out = tmp_path / "out.csv"
    cases = {
        "--rejected is the input": [str(source), str(out), "--rejected", str(alias)],
        "--rejected is the output": [str(source), str(out), "--rejected", str(out)],
        "the output is the params file": [str(source), str(tiny_model_dir / "params.yaml")],
    }
    for argv in cases.values():
        assert _main_exit(["assign", *argv, *_model_args(tiny_model_dir)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and "is the same file as" in err, err
    assert source.read_bytes() == before
    assert not out.exists()


def test_missing_model_is_one_error_line(tmp_path, tiny_model_dir, capsys):
    args = _model_args(tiny_model_dir)
    args[1] = str(tmp_path / "model.skops")
    assert _main_exit(["assign", str(tiny_model_dir / "new.csv"), str(tmp_path / "o.csv"), *args]) == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'model.skops'}: model not found")


def test_bad_params_file_is_one_error_line(tmp_path, tiny_model_dir, capsys):
    params_file = tmp_path / "params.yaml"
    params_file.write_text(
        (tiny_model_dir / "params.yaml")
        .read_text(encoding="utf-8")
        .replace("scaler: standard", "scaler: bogus"),
        encoding="utf-8",
    )
    args = [*_model_args(tiny_model_dir)[:4], "--params", str(params_file)]
    assert _main_exit(["assign", str(tiny_model_dir / "new.csv"), str(tmp_path / "o.csv"), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "scaler" in err[0]
    assert "'bogus'" in err[0]


@pytest.mark.parametrize(
    ("change", "difference"),
    [
        (
            lambda p: p["features"]["numeric"].pop("age"),
            "trained with the feature 'age', which {params} does not list",
        ),
        (
            lambda p: p["features"]["categorical"].pop("sip_status"),
            "trained with the feature 'sip_status', which {params} does not list",
        ),
        (
            lambda p: p["features"]["numeric"].update(branch_code=None),
            "trained without the feature 'branch_code' that {params} lists",
        ),
        (
            lambda p: p["features"]["categorical"]["income_slab"].update(
                order=["Low", "Medium", "High", "Huge"]
            ),
            "trained with feature 'income_slab' encoded or imputed otherwise",
        ),
        (
            lambda p: p["features"]["categorical"]["risk_id"].update(missing="most_frequent"),
            "trained with feature 'risk_id' encoded or imputed otherwise",
        ),
        (lambda p: p["featurize"].update(scaler="robust"), "trained with other scaling (featurize)"),
    ],
    ids=[
        "numeric feature dropped",
        "categorical feature dropped",
        "feature added",
        "new category",
        "imputed",
        "scaler",
    ],
)
def test_a_model_trained_with_other_settings_is_refused_in_one_line(
    tmp_path, tiny_model_dir, capsys, change, difference
):
    """Params that differ from the model's once reached scikit-learn: a dropped feature failed
    with "columns are missing", a category or a missing value the model never saw with
    "unknown categories", and an added feature was silently ignored."""
    project = Path(shutil.copytree(tiny_model_dir, tmp_path / "project"))  # model, names, dvc.lock
    raw = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    change(raw)
    params_file = project / "params.yaml"
    params_file.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    batch = pd.read_csv(project / "new.csv", dtype=str, keep_default_na=False).head(5)
    batch.loc[0, "income_slab"], batch.loc[1, "risk_id"] = "Huge", ""
    batch.to_csv(tmp_path / "batch.csv", index=False)
    args = [*_model_args(project)[:4], "--params", str(params_file)]
    assert _main_exit(["assign", str(tmp_path / "batch.csv"), str(tmp_path / "o.csv"), *args]) == 2
    model = project / "model.skops"
    assert capsys.readouterr().err == (
        f"error: {model}: {difference.format(params=params_file)}; expected a model trained with the settings "
        f"of {params_file} (run dvc repro, or pass the params file it was trained with)\n"
    )
    assert not (tmp_path / "o.csv").exists()


def test_params_written_in_another_order_fit_the_model(tmp_path, tiny_model_dir):
    project = Path(shutil.copytree(tiny_model_dir, tmp_path / "project"))
    raw = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    params_file = project / "params.yaml"
    params_file.write_text(yaml.safe_dump(raw, sort_keys=True), encoding="utf-8")  # features reordered
    args = [*_model_args(project)[:4], "--params", str(params_file)]
    main(["assign", str(project / "new.csv"), str(tmp_path / "o.csv"), *args])
    assert len(pd.read_csv(tmp_path / "o.csv")) > 0


def test_rejected_rows_are_written_on_request(tmp_path, tiny_model_dir):
    raw = pd.read_csv(tiny_model_dir / "new.csv", dtype=str, keep_default_na=False).head(20)
    raw.loc[3, "age"] = "250"
    raw.loc[7, "income_slab"] = "Huge"
    source = tmp_path / "batch.csv"
    raw.to_csv(source, index=False)
    main(
        [
            "assign",
            str(source),
            str(tmp_path / "out.csv"),
            "--rejected",
            str(tmp_path / "rejected.csv"),
            *_model_args(tiny_model_dir),
        ]
    )
    rejected = pd.read_csv(tmp_path / "rejected.csv", dtype=str)
    assert rejected["row"].tolist() == ["4", "8"]
    assert rejected["reason"].str.contains("age=250 outside").tolist() == [True, False]
    assert "customer_name" not in rejected.columns
    out = pd.read_csv(tmp_path / "out.csv", dtype={"customer_id": str})
    assert len(out) == 18
    assert not set(out["customer_id"]) & set(rejected["customer_id"])


def test_parquet_input_gives_the_same_segments_as_csv(tmp_path, tiny_model_dir):
    raw = pd.read_csv(tiny_model_dir / "new.csv", dtype=str, keep_default_na=False).head(60)
    raw.to_csv(tmp_path / "batch.csv", index=False)
    write_parquet(raw, tmp_path / "batch.parquet")
    for name in ("batch.csv", "batch.parquet"):
        main(
            ["assign", str(tmp_path / name), str(tmp_path / f"{name}.out.csv"), *_model_args(tiny_model_dir)]
        )
    from_csv = pd.read_csv(tmp_path / "batch.csv.out.csv", dtype={"customer_id": str})
    from_parquet = pd.read_csv(tmp_path / "batch.parquet.out.csv", dtype={"customer_id": str})
    assert len(from_csv) == 60
    pd.testing.assert_frame_equal(from_csv, from_parquet)


def test_every_row_rejected_is_an_error_and_only_the_rejected_rows_are_written(
    tmp_path, tiny_model_dir, capsys
):
    raw = pd.read_csv(tiny_model_dir / "new.csv", dtype=str, keep_default_na=False).head(5)
    raw["age"] = "500"
    raw.to_csv(tmp_path / "bad.csv", index=False)
    (tmp_path / "out.csv").write_text("an earlier result\n")
    argv = [
        "assign",
        str(tmp_path / "bad.csv"),
        str(tmp_path / "out.csv"),
        "--rejected",
        str(tmp_path / "rej.csv"),
    ]
    assert _main_exit([*argv, *_model_args(tiny_model_dir)]) == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'bad.csv'}: none of the 5 rows is valid (first problem, row 1: age=500 outside "
        f"[18, 100]); {tmp_path / 'out.csv'} was not written; they are listed in {tmp_path / 'rej.csv'}\n"
    )
    assert (tmp_path / "out.csv").read_text() == "an earlier result\n"
    assert len(pd.read_csv(tmp_path / "rej.csv")) == 5


def test_a_file_with_a_header_and_no_rows_gives_an_empty_result(tmp_path, tiny_model_dir):
    raw = pd.read_csv(tiny_model_dir / "new.csv", dtype=str, keep_default_na=False).head(0)
    raw.to_csv(tmp_path / "none.csv", index=False)
    main(["assign", str(tmp_path / "none.csv"), str(tmp_path / "out.csv"), *_model_args(tiny_model_dir)])
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ASSIGNED_COLUMNS
    assert out.empty


def test_the_installed_command_runs_this_main():
    with open(ROOT / "pyproject.toml", "rb") as handle:
        entry = tomllib.load(handle)["project"]["scripts"]["bankseg"]
    module, _, name = entry.partition(":")
    assert getattr(importlib.import_module(module), name) is main
    assert importlib.import_module("bankseg.__main__").main is main


def test_command_is_required(capsys):
    assert _main_exit([]) == 2
    assert "assign" in capsys.readouterr().err


def test_run_entry_point_turns_input_errors_into_one_line(capsys):
    def fail():
        raise InputError("data.csv: something is wrong")

    with pytest.raises(SystemExit) as info:
        run_entry_point(fail)
    assert info.value.code == 2
    assert capsys.readouterr().err == "error: data.csv: something is wrong\n"


def test_debug_setting_shows_the_traceback(monkeypatch):
    monkeypatch.setenv("BANKSEG_DEBUG", "1")

    def fail():
        raise InputError("data.csv: something is wrong")

    with pytest.raises(InputError, match="something is wrong"):
        run_entry_point(fail)


def test_debug_flag_shows_the_traceback_and_is_removed_from_the_arguments(monkeypatch):
    monkeypatch.setenv("BANKSEG_DEBUG", "")  # restored (unset) after the test
    monkeypatch.setattr("sys.argv", ["stage", "--in", "x.csv", "--debug"])
    seen = []

    def fail():
        seen.append(list(sys.argv))
        raise InputError("data.csv: something is wrong")

    with pytest.raises(InputError, match="something is wrong"):
        run_entry_point(fail)
    assert seen == [["stage", "--in", "x.csv"]]


def test_other_errors_are_not_hidden():
    def fail():
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        run_entry_point(fail)


def test_assign_refuses_a_tampered_model(tmp_path, tiny_model_dir):
    folder = tmp_path / "models"
    shutil.copytree(tiny_model_dir, folder)
    model = folder / "model.skops"
    model.write_bytes(model.read_bytes() + b"\0")
    output = tmp_path / "out.csv"
    result = _run("assign", str(folder / "new.csv"), str(output), *_model_args(folder))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {model}: MD5 ") and "recorded in dvc.lock" in line
    assert "refusing to load it" in line
    assert not output.exists()


def test_pin_segments_copies_the_trained_segments_to_the_reference(tmp_path):
    trained = {
        "segments": {"0": {"name": "Young savers", "centre": {"age": 25.0}, "stability": 1.0}},
        "feature_spread": {"age": 10.0},
        "features": {"age": {"log": False}},
    }
    (tmp_path / "segments.json").write_text(json.dumps(trained))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["segments"]["reference"] = str(tmp_path / "reference.json")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    main(
        [
            "pin-segments",
            "--segments",
            str(tmp_path / "segments.json"),
            "--params",
            str(tmp_path / "params.yaml"),
        ]
    )
    assert json.loads((tmp_path / "reference.json").read_text()) == trained


def test_pin_segments_refuses_a_file_that_is_not_trained_segments(tmp_path, capsys):
    (tmp_path / "segments.json").write_text('{"segments": {}}')
    code = _main_exit(["pin-segments", "--segments", str(tmp_path / "segments.json")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "segments.json: holds no segments" in err
    assert err.count("\n") == 1


def test_debug_flag_of_the_command_line_shows_the_traceback(tmp_path):
    result = _run("assign", str(tmp_path / "missing.csv"), str(tmp_path / "out.csv"), "--debug")
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "InputError" in result.stderr
    plain = _run("assign", str(tmp_path / "missing.csv"), str(tmp_path / "out.csv"))
    assert "Traceback" not in plain.stderr and plain.stderr.startswith("error: ")


def _assign_files(source: Path, out: Path, folder: Path) -> tuple[bytes, bytes]:
    main(
        [
            "assign",
            str(source),
            str(out / "out.csv"),
            "--rejected",
            str(out / "rejected.csv"),
            *_model_args(folder),
        ]
    )
    return (out / "out.csv").read_bytes(), (out / "rejected.csv").read_bytes()


def _whole_file(monkeypatch) -> None:
    """Make the command read every file in one block, with Python's CSV reader (as it does when
    pyarrow's reader cannot read a file)."""

    def refuse(*args, **kwargs):
        raise reading.NotReadableInBlocks("read by Python's csv module in this test")
        yield

    monkeypatch.setattr(reading, "arrow_csv_blocks", refuse)
    monkeypatch.setattr(reading, "BLOCK_ROWS", 10**9)


@pytest.fixture
def awkward_batch(tiny_model_dir) -> pd.DataFrame:
    """200 customers with rejected rows and duplicate ids far apart, and no profile column."""
    raw = pd.read_csv(tiny_model_dir / "new.csv", dtype=str, keep_default_na=False)
    raw.loc[5, "age"] = "250"
    raw.loc[150, "income_slab"] = "Huge"
    raw.loc[190, "customer_id"] = raw.loc[3, "customer_id"]  # the later one is a duplicate
    raw.loc[120, "customer_id"] = raw.loc[5, "customer_id"]  # row 6 is rejected: this one is kept
    raw.loc[[170, 171], "customer_id"] = raw.loc[160, "customer_id"]
    return raw.drop(columns=["kyc_status"])


def test_scoring_in_blocks_writes_the_bytes_of_scoring_whole(
    tmp_path, tiny_model_dir, awkward_batch, monkeypatch, caplog
):
    source = tmp_path / "batch.csv"
    awkward_batch.to_csv(source, index=False)
    (tmp_path / "blocks").mkdir()
    (tmp_path / "whole").mkdir()
    monkeypatch.setattr(reading, "BLOCK_ROWS", 9)
    monkeypatch.setattr(reading, "READ_BYTES", 5000)  # blocks are put together from reads of any size
    blocks = list(reading.arrow_csv_blocks(source, reading.sniff(source), lambda c: True))
    assert [len(b) for b in blocks] == [9] * 22 + [2]
    in_blocks = _assign_files(source, tmp_path / "blocks", tiny_model_dir)
    warned = [r.getMessage() for r in caplog.records if "kyc_status" in r.getMessage()]
    assert len(warned) == 1
    _whole_file(monkeypatch)
    assert _assign_files(source, tmp_path / "whole", tiny_model_dir) == in_blocks
    rejected = pd.read_csv(tmp_path / "blocks" / "rejected.csv", dtype=str).set_index("row")["reason"]
    assert (
        "age=250 outside" in rejected["6"] and "unexpected value (a text of 4 characters)" in rejected["151"]
    )
    assert list(pd.read_csv(tmp_path / "blocks" / "rejected.csv").columns) == [
        "file",
        "row",
        "customer_id",
        "reason",
    ]
    assert all("duplicate id" in rejected[row] for row in ("171", "172", "191"))
    assert "121" not in rejected  # the first valid row with the id of rejected row 6
    out = pd.read_csv(tmp_path / "blocks" / "out.csv", dtype={"customer_id": str})
    assert len(out) + len(rejected) == 200 and out["customer_id"].is_unique


def test_parquet_in_blocks_writes_the_bytes_of_scoring_whole(
    tmp_path, tiny_model_dir, awkward_batch, monkeypatch
):
    source = tmp_path / "batch.parquet"
    write_parquet(awkward_batch, source)
    (tmp_path / "blocks").mkdir()
    (tmp_path / "whole").mkdir()
    monkeypatch.setattr(reading, "BLOCK_ROWS", 7)
    assert len(list(reading.parquet_blocks(source, lambda c: True))) == 29
    monkeypatch.setattr(reading, "READ_ROWS", 5)
    in_blocks = _assign_files(source, tmp_path / "blocks", tiny_model_dir)
    _whole_file(monkeypatch)
    assert _assign_files(source, tmp_path / "whole", tiny_model_dir) == in_blocks


def test_a_short_row_near_the_end_is_rejected_not_shifted(tmp_path, tiny_model_dir, monkeypatch, caplog):
    """A short row near the end stops pyarrow's reader after it has given blocks: the command
    starts again with Python's reader, rejects that row (its values are never shifted into
    other columns), writes the rest, and warns once."""
    raw = pd.read_csv(tiny_model_dir / "new.csv", dtype=str, keep_default_na=False).drop(
        columns=["kyc_status", "address"]  # no multi-line values: a line is a row
    )
    lines = raw.to_csv(index=False).splitlines()
    lines[-2] = ",".join(lines[-2].split(",")[:-3])  # three fields short
    source = tmp_path / "batch.csv"
    source.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(reading, "BLOCK_ROWS", 10)
    monkeypatch.setattr(reading, "READ_BYTES", 2000)
    blocks = reading.arrow_csv_blocks(source, reading.sniff(source), lambda c: True)
    assert len(next(blocks)) > 0
    with pytest.raises(reading.NotReadableInBlocks):
        list(blocks)
    (tmp_path / "first").mkdir()
    (tmp_path / "whole").mkdir()
    first = _assign_files(source, tmp_path / "first", tiny_model_dir)
    assert len([r for r in caplog.records if "kyc_status" in r.getMessage()]) == 1
    rejected = pd.read_csv(tmp_path / "first" / "rejected.csv", dtype=str).set_index("row")
    short = raw.columns.size - 3
    assert rejected.loc["199", "reason"] == f"record has {short} fields, expected {raw.columns.size}"
    assert pd.isna(rejected.loc["199", "customer_id"])
    assert len(pd.read_csv(tmp_path / "first" / "out.csv")) + len(rejected) == 200
    _whole_file(monkeypatch)
    assert _assign_files(source, tmp_path / "whole", tiny_model_dir) == first
