"""The threat model of SECURITY.md, class by class, through the real entry points.

Each test plays a careless user or an attacker against the command line (``python -m
bankseg``) or a stage (``python -m stages.<name>``) in a subprocess, and checks the outcome: one
``error:`` line and exit status 2, no traceback, no personal value in any message or file,
and nothing already written lost.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.slow  # seconds per test: subprocesses, apps or searches

ROOT = Path(__file__).resolve().parent.parent

# Recognisable personal values planted in the customer files.
NAMES = ["Zqxname Alpha", "Zqxname Beta", "Zqxname Gamma"]
PANS = ["ABCPK1234F", "BCDPL2345G", "CDEPM3456H"]
ADDRESSES = ["42 Zqx Street, Pune", "7 Zqx Lane, Mumbai", "9 Zqx Road, Delhi"]
PHONES = ["+91 98765 43210", "+91 91234 56780", "+91 99887 76655"]
PERSONAL = [*NAMES, *PANS, *ADDRESSES, *PHONES]


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), DVC_NO_ANALYTICS="1")
    env.pop("BANKSEG_DEBUG", None)
    return env


def run(args: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        **kwargs,
    )


def one_error(result: subprocess.CompletedProcess) -> str:
    """The single ``error:`` line of a refused run (exit status 2, no traceback)."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def no_personal_value(*texts: str) -> None:
    for text in texts:
        for value in PERSONAL:
            assert value.replace(" ", "") not in text.replace(" ", ""), value


@pytest.fixture
def customers(tiny_model_dir) -> pd.DataFrame:
    """The tiny model's new customers with recognisable personal values."""
    raw = pd.read_csv(tiny_model_dir / "new.csv", dtype=str, keep_default_na=False).head(30)
    raw["customer_name"] = [NAMES[i % 3] for i in range(len(raw))]
    raw["customer_pan_card_no"] = [PANS[i % 3] for i in range(len(raw))]
    raw["address"] = [ADDRESSES[i % 3] for i in range(len(raw))]
    raw["mobile_no"] = [PHONES[i % 3] for i in range(len(raw))]
    return raw


def assign(folder: Path, *args: str, params: Path | None = None) -> list[str]:
    return [
        "bankseg",
        "assign",
        *args,
        "--model",
        str(folder / "model.skops"),
        "--segments",
        str(folder / "segments.json"),
        "--params",
        str(params or folder / "params.yaml"),
    ]


# --- personal data under another spelling ------------------------------------------------


def refused_with_params(folder: Path, tmp_path: Path, customers: pd.DataFrame, edit) -> str:
    """The error line of ``assign`` on the customers, with the folder's params changed by ``edit``."""
    params = yaml.safe_load((folder / "params.yaml").read_text())
    edit(params)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    customers.to_csv(tmp_path / "in.csv", index=False)
    args = assign(
        folder, str(tmp_path / "in.csv"), str(tmp_path / "out.csv"), params=tmp_path / "params.yaml"
    )
    line = one_error(run(args, tmp_path))
    assert not (tmp_path / "out.csv").exists()
    return line


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        (
            {"prepare": {"profile_columns": ["Customer Name"]}},
            "profile column 'Customer Name' is personal data",
        ),
        (
            {"prepare": {"profile_columns": ["CUSTOMER-ADDRESS"], "personal_columns": ["customer_address"]}},
            "profile column 'CUSTOMER-ADDRESS' is personal data",
        ),
        ({"data": {"id_column": "Customer PAN Card No"}}, "'Customer PAN Card No' is personal data"),
        (
            {"prepare": {"profile_columns": ["mobile number"], "personal_columns": []}},
            "profile column 'mobile number' looks like personal data (its name says a phone number)",
        ),
        (
            {"features": {"categorical": {"Customer-Name": {"encoding": "onehot"}}}},
            "feature column 'Customer-Name' is personal data",
        ),
    ],
    ids=["profile", "profile, listed personal", "id", "by its name alone", "one-hot feature"],
)
def test_a_personal_column_under_another_spelling_is_refused(
    tiny_model_dir, tmp_path, customers, changes, refusal
):
    def edit(params: dict) -> None:
        for section, values in changes.items():
            for key, value in values.items():
                if isinstance(value, dict):
                    params[section][key].update(value)
                else:
                    params[section][key] = value

    line = refused_with_params(tiny_model_dir, tmp_path, customers, edit)
    assert refusal in line, line


def test_a_column_of_personal_values_under_an_innocent_name_is_refused(tiny_model_dir, tmp_path, customers):
    """kyc_status is a profile column; here it holds PANs."""
    customers["kyc_status"] = [PANS[i % 3] for i in range(len(customers))]
    customers.to_csv(tmp_path / "in.csv", index=False)
    line = one_error(run(assign(tiny_model_dir, str(tmp_path / "in.csv"), str(tmp_path / "o.csv")), tmp_path))
    assert "column 'kyc_status' looks like personal data" in line
    no_personal_value(line)


def test_a_file_without_a_header_row_shows_no_personal_value(tiny_model_dir, tmp_path, customers):
    customers.to_csv(tmp_path / "in.csv", index=False, header=False)
    line = one_error(run(assign(tiny_model_dir, str(tmp_path / "in.csv"), str(tmp_path / "o.csv")), tmp_path))
    assert "the first row holds values, not column names" in line
    no_personal_value(line)


def test_a_row_with_a_missing_field_puts_no_personal_value_in_the_rejected_file(
    tiny_model_dir, tmp_path, customers
):
    text = customers.drop(columns=["address"]).to_csv(index=False).splitlines()
    fields = text[3].split(",")
    text[3] = ",".join(fields[:1] + fields[2:])  # the name is gone: every later value would shift
    (tmp_path / "in.csv").write_text("\n".join(text) + "\n")
    out, rejected = tmp_path / "out.csv", tmp_path / "rejected.csv"
    result = run(
        assign(tiny_model_dir, str(tmp_path / "in.csv"), str(out), "--rejected", str(rejected)), tmp_path
    )
    assert result.returncode == 0, result.stderr
    listed = pd.read_csv(rejected, dtype=str)
    assert list(listed.columns) == ["file", "row", "customer_id", "reason"]
    assert listed.loc[listed["row"] == "3", "reason"].tolist() == [
        f"record has {len(fields) - 1} fields, expected {len(fields)}"
    ]
    no_personal_value(out.read_text(), rejected.read_text(), result.stderr)


# --- no flag may destroy an input -------------------------------------------------------


def test_a_stage_refuses_an_output_that_is_its_input(tiny_model_dir, tmp_path, customers):
    customers.to_csv(tmp_path / "raw.csv", index=False)
    customers.to_csv(tmp_path / "new.csv", index=False)
    shutil.copy(tiny_model_dir / "params.yaml", tmp_path / "params.yaml")
    before = (tmp_path / "raw.csv").read_bytes()
    args = ["stages.prepare", "--raw", "raw.csv", "--new", "new.csv", "--out-customers", "c.parquet"]
    args += ["--out-new", "n.parquet", "--metrics", "q.json"]
    line = one_error(run([*args, "--rejected", "./raw.csv"], tmp_path))
    assert (
        line
        == "error: --rejected raw.csv: is the same file as --raw (raw.csv); refusing to overwrite an input"
    )
    line = one_error(run([*args, "--rejected", "q.json"], tmp_path))
    assert "--metrics q.json: is the same file as --rejected (q.json)" in line
    assert (tmp_path / "raw.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv", "params.yaml", "raw.csv"]


def test_a_fifo_input_is_refused_instead_of_hanging(tiny_model_dir, tmp_path):
    os.mkfifo(tmp_path / "in.csv")
    line = one_error(run(assign(tiny_model_dir, str(tmp_path / "in.csv"), str(tmp_path / "o.csv")), tmp_path))
    assert (
        line == f"error: {tmp_path / 'in.csv'}: is a FIFO, not a regular file; expected a CSV or Parquet file"
    )


# --- writes that fail -------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A folder on a 64 KB file system: writing more fails with 'No space left on device'."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a small file system for the test: {mounted.stderr.decode()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_is_one_line_and_earlier_outputs_stay_whole(
    tiny_model_dir, tmp_path, customers, small_disk
):
    big = pd.concat([customers] * 200, ignore_index=True)
    big["customer_id"] = [str(i) for i in range(len(big))]
    big.to_csv(tmp_path / "in.csv", index=False)
    out = small_disk / "out.csv"
    out.write_text("earlier result\n")
    line = one_error(run(assign(tiny_model_dir, str(tmp_path / "in.csv"), str(out)), tmp_path))
    assert (
        line
        == f"error: {out}: cannot write (No space left on device); the earlier file, if any, is unchanged"
    )
    assert out.read_text() == "earlier result\n"
    assert sorted(p.name for p in small_disk.iterdir()) == ["out.csv"]  # no temporary file left


def test_an_output_that_is_a_folder_or_in_a_file_is_one_line(tiny_model_dir, tmp_path, customers):
    customers.to_csv(tmp_path / "in.csv", index=False)
    (tmp_path / "folder.csv").mkdir()
    line = one_error(
        run(assign(tiny_model_dir, str(tmp_path / "in.csv"), str(tmp_path / "folder.csv")), tmp_path)
    )
    assert line == f"error: OUTPUT {tmp_path / 'folder.csv'}: is a folder, expected a file name to write"
    target = tmp_path / "in.csv" / "out.csv"
    line = one_error(run(assign(tiny_model_dir, str(tmp_path / "in.csv"), str(target)), tmp_path))
    assert line == f"error: OUTPUT {target}: {tmp_path / 'in.csv'} is a file, not a folder"


def test_a_read_only_folder_is_one_line(tiny_model_dir, tmp_path, customers):
    customers.to_csv(tmp_path / "in.csv", index=False)
    folder = tmp_path / "ro"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)], check=True)
    try:
        line = one_error(
            run(assign(tiny_model_dir, str(tmp_path / "in.csv"), str(folder / "o.csv")), tmp_path)
        )
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
    assert (
        line
        == f"error: {folder / 'o.csv'}: cannot write (Read-only file system); the earlier file, if any, is unchanged"
    )


# --- the command line and params --------------------------------------------------------


def test_a_misspelled_key_no_longer_switches_the_guard_off(tiny_model_dir, tmp_path, customers):
    def misspell(params: dict) -> None:
        params["prepare"]["personal_colums"] = params["prepare"].pop("personal_columns")

    line = refused_with_params(tiny_model_dir, tmp_path, customers, misspell)
    assert "unknown key 'prepare.personal_colums'; did you mean 'prepare.personal_columns'?" in line


def test_an_alias_bomb_in_params_is_refused_at_once(tiny_model_dir, tmp_path, customers):
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i, name in enumerate("bcdefghi"):
        previous = "abcdefghi"[i]
        bomb += f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]\n"
    (tmp_path / "params.yaml").write_text(bomb)
    customers.to_csv(tmp_path / "in.csv", index=False)
    line = one_error(
        run(
            assign(
                tiny_model_dir,
                str(tmp_path / "in.csv"),
                str(tmp_path / "o.csv"),
                params=tmp_path / "params.yaml",
            ),
            tmp_path,
        )
    )
    assert "anchors and aliases" in line
