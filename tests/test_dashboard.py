"""The Streamlit dashboard (bankseg.dashboard), run in-process with streamlit's AppTest.

The app reads its project folder from $BANKSEG_ROOT; each test points it at a small folder
laid out like the repository after `dvc repro` (see dashboard_data.py). Skipped when the
optional dashboard dependencies are not installed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from dashboard_data import ASSIGNED_COLUMNS, build_project, upload_customers

from bankseg.assignment import read_segment_names
from bankseg.dashboard import core
from bankseg.errors import InputError
from bankseg.io import read_json

pytest.importorskip("streamlit")
from streamlit import config as st_config  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "bankseg" / "dashboard" / "app.py"


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir, params) -> Path:
    return build_project(tmp_path_factory.mktemp("dashboard") / "project", tiny_model_dir, params)


@pytest.fixture
def project_copy(project, tmp_path) -> Path:
    """A copy of the project folder that a test may break."""
    return Path(shutil.copytree(project, tmp_path / "project"))


def start(root: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv(core.ROOT_VARIABLE, str(root))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def unescaped(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


def errors(at: AppTest) -> list[str]:
    return [unescaped(e.value) for e in at.error]


def segment_labels(at: AppTest) -> list[str]:
    return [unescaped(e.label) for e in at.expander if e.label.startswith("Segment ")]


def upload(at: AppTest, name: str, data: bytes, mime: str = "text/csv") -> AppTest:
    at.file_uploader(key="upload").set_value((name, data, mime)).run()
    return at.button(key="segment_upload").click().run()


def names_of(project: Path) -> dict[int, str]:
    return read_segment_names(read_json(project / "models" / "segments.json"))


def csv_of(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode("utf-8")


def test_batch_button_shows_every_segment(project, monkeypatch):
    at = start(project, monkeypatch)
    assert not segment_labels(at)  # nothing segmented before a click
    at.button(key="segment_batch").click().run()
    assert not at.exception
    assert not at.error
    labels = segment_labels(at)
    assert len(labels) == 3
    for seg in range(3):
        assert any(label.startswith(f"Segment {seg}: {names_of(project)[seg]} (") for label in labels), labels
    assert "customers from data/raw/new_customers.csv" in unescaped(at.header[0].value)
    downloads = [b for b in at.get("download_button") if b.proto.label.startswith("Download segment")]
    assert len(downloads) == 3
    # The one-line descriptions of reports/segments.json are shown, without training counts.
    assert any("stands out as" in unescaped(m.value) for m in at.markdown)


def test_uploaded_csv_is_segmented_like_the_assign_command(project, monkeypatch, params):
    raw = upload_customers()
    at = start(project, monkeypatch)
    upload(at, "customers.csv", csv_of(raw))
    assert not at.exception and not at.error, errors(at)
    expected = core.score(raw, core.load_pipeline(project), "customers.csv")
    assert unescaped(at.header[0].value) == f"{len(expected.labelled):,} customers from customers.csv"
    counts = expected.labelled["segment"].value_counts()
    for seg in range(3):
        assert (
            f"Segment {seg}: {names_of(project)[seg]} ({counts.get(seg, 0):,} customers)"
            in segment_labels(at)
        )
    # Tables show ids as the CSV download will: formula-like ids neutralised.
    shown = pd.concat([df.value for df in at.dataframe if "customer_id" in df.value.columns])
    assert {"'=1+1", "'-2+3", "'@SUM(A1:A9)"} <= set(shown["customer_id"])


def test_uploaded_parquet(project, monkeypatch, tmp_path):
    path = tmp_path / "customers.parquet"
    upload_customers(30).to_parquet(path, index=False)
    at = start(project, monkeypatch)
    upload(at, "customers.parquet", path.read_bytes(), "application/octet-stream")
    assert not at.exception and not at.error, errors(at)
    assert len(segment_labels(at)) == 3


def _without_age(raw):
    return csv_of(raw.drop(columns="age"))


def _text_ages(raw):
    return csv_of(raw.assign(age="forty"))


def _header_only(raw):
    return csv_of(raw.iloc[:0])


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("missing.csv", _without_age, "missing.csv: required column 'age' is missing (found: "),
        (
            "types.csv",
            _text_ages,
            "types.csv: none of the 60 rows is valid; first problem, row 1: age: not a number ('forty')",
        ),
        ("empty.csv", lambda raw: b"", "empty.csv: file is empty, expected a header row and customer rows"),
        ("header.csv", _header_only, "header.csv: no customer rows, expected a header row and customer rows"),
        (
            "blank.csv",
            lambda raw: b"\n\n",
            "blank.csv: file is empty, expected a header row and customer rows",
        ),
        ("broken.parquet", lambda raw: b"not parquet at all", "broken.parquet: cannot be read as parquet"),
    ],
)
def test_bad_upload_gives_one_line_error(project, monkeypatch, name, make, message):
    at = start(project, monkeypatch)
    upload(at, name, make(upload_customers()))
    assert not at.exception
    assert len(at.error) == 1
    assert errors(at)[0].startswith(message), errors(at)
    assert "Traceback" not in errors(at)[0] and "/tmp" not in errors(at)[0]
    assert not segment_labels(at)


def test_upload_over_the_size_limit(project, monkeypatch):
    at = start(project, monkeypatch)
    st_config.set_option("server.maxUploadSize", 1)
    try:
        upload(at, "big.csv", csv_of(upload_customers()) + b"\n" * (1024 * 1024))
    finally:
        st_config.set_option("server.maxUploadSize", core.SAFE_OPTIONS["server.maxUploadSize"])
    assert not at.exception
    assert errors(at) == ["big.csv: 1.0 MB is larger than the upload limit of 1 MB"]


def test_cell_text_in_an_error_cannot_load_anything(project, monkeypatch):
    """A cell value quoted in an error is shown as text, not as Markdown (no image, no link)."""
    raw = upload_customers(3).assign(age="![x](http://example.invalid/x.png)")
    at = start(project, monkeypatch)
    upload(at, "evil.csv", csv_of(raw))
    assert len(at.error) == 1
    assert "\\!\\[x\\]\\(http\\:" in at.error[0].value
    assert "![x](http://example.invalid/x.png)" in errors(at)[0]


def test_error_is_replaced_by_the_next_result(project, monkeypatch):
    at = start(project, monkeypatch)
    upload(at, "empty.csv", b"")
    assert len(at.error) == 1
    at.button(key="segment_batch").click().run()
    assert not at.error
    assert len(segment_labels(at)) == 3


def test_missing_model_says_run_dvc_repro(project_copy, monkeypatch):
    shutil.rmtree(project_copy / "models")
    at = start(project_copy, monkeypatch)
    assert errors(at) == [
        f"models/model.skops: no trained model in {project_copy}; run the pipeline first (dvc repro)"
    ]
    assert "dvc repro" in unescaped(at.info[0].value)
    assert not at.button  # nothing to press without a model


def test_tampered_model_is_refused(project_copy, monkeypatch):
    with open(project_copy / "models" / "model.skops", "ab") as handle:
        handle.write(b"\0")
    at = start(project_copy, monkeypatch)
    assert len(at.error) == 1
    assert errors(at)[0].startswith(f"{project_copy / 'models/model.skops'}: MD5 ")
    assert "recorded in dvc.lock" in errors(at)[0] and "refusing to load it" in errors(at)[0]
    assert not at.button


def test_model_cache_is_keyed_by_the_model_and_dvc_lock(project_copy, monkeypatch):
    """A model loaded once is checked again when the file or dvc.lock changes."""
    at = start(project_copy, monkeypatch)
    assert not at.error
    key = core.model_cache_key(project_copy)
    lock = project_copy / "dvc.lock"
    lock.write_text(lock.read_text().replace("path: models/model.skops", "path: models/other.skops"))
    assert core.model_cache_key(project_copy) != key
    at.run()
    assert errors(at) == [
        f"{project_copy}/models/model.skops: not a model this project's dvc.lock records; only models "
        "the pipeline trained are loaded"
    ]


def test_missing_reports_still_segments(project_copy, monkeypatch):
    (project_copy / "reports" / "segments.json").unlink()
    at = start(project_copy, monkeypatch)
    at.button(key="segment_batch").click().run()
    assert not at.exception and not at.error
    assert len(segment_labels(at)) == 3
    assert any("reports/segments.json not found" in unescaped(c.value) for c in at.caption)


def test_status_page_shows_params_metrics_and_plots(project, monkeypatch):
    at = start(project, monkeypatch)
    at.switch_page("views/status.py").run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Pipeline status"
    assert "n_clusters: auto" in at.code[0].value  # params.yaml
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["silhouette"] == "0.42"
    assert metrics["segments (K)"] == "3"
    assert {e.label for e in at.expander} >= {"metrics/train.json", "metrics/stability.json"}
    assert len(at.get("image")) == 2
    recorded = core.pipeline_status(project).model_md5
    assert recorded == hashlib.md5((project / "models/model.skops").read_bytes()).hexdigest()
    assert any(f"model MD5 in dvc.lock {recorded[:12]}" in unescaped(c.value) for c in at.caption)


def test_status_page_without_pipeline_outputs(tmp_path, monkeypatch):
    at = start(tmp_path, monkeypatch)
    at.switch_page("views/status.py").run()
    assert not at.exception
    assert any("run dvc repro" in e for e in errors(at))


def test_csv_bytes_neutralises_formulas():
    df = pd.DataFrame(
        {
            "customer_id": ["=1+1", "+4420", "-3", "@SUM(A1)", "\tx", "7", "-cmd"],
            "segment": [0, 1, 2, 0, 1, 2, 0],
            "segment_name": ["Young", '=HYPERLINK("x")', "a", "b", "c", "d", "e"],
            "distance": [0.5, -1.25, 2.0, 0.0, 1.0, 3.0, 0.1],
        }
    )
    rows = list(csv.reader(io.StringIO(core.csv_bytes(df).decode("utf-8"))))
    assert rows[0] == ASSIGNED_COLUMNS
    assert [r[0] for r in rows[1:]] == ["'=1+1", "+4420", "-3", "'@SUM(A1)", "'\tx", "7", "'-cmd"]
    assert rows[2][2] == '\'=HYPERLINK("x")'
    assert [r[3] for r in rows[1:3]] == ["0.5", "-1.25"]  # numbers untouched
    assert df["customer_id"][0] == "=1+1"  # the input frame is not modified


def test_read_upload_names_the_uploaded_file_not_the_temporary_copy():
    with pytest.raises(InputError, match=r"^report\.xlsx: unsupported file type '\.xlsx'"):
        core.read_upload("report.xlsx", b"PK\x03\x04", 50)
    with pytest.raises(InputError, match=r"^x\.csv: 2\.0 MB is larger than the upload limit of 1 MB$"):
        core.read_upload("../../x.csv", b"a" * 2 * 1024 * 1024, 1)
    frame = core.read_upload("../odd name;.csv", b"customer_id,age\n1,30\n", 50)
    assert list(frame.columns) == ["customer_id", "age"]


def test_plain_escapes_markdown():
    assert core.plain("[a](http://x) ![i](y) :red[z] **b**") == (
        "\\[a\\]\\(http\\://x\\) \\!\\[i\\]\\(y\\) \\:red\\[z\\] \\*\\*b\\*\\*"
    )
    assert unescaped(core.plain("Young, 25-40 (SIP = yes)")) == "Young, 25-40 (SIP = yes)"


def test_server_settings_agree_with_config_toml():
    with open(ROOT / ".streamlit" / "config.toml", "rb") as handle:
        config = tomllib.load(handle)
    flat = {f"{section}.{key}": value for section, values in config.items() for key, value in values.items()}
    assert flat == core.SAFE_OPTIONS
    assert core.SAFE_OPTIONS["server.address"] == "127.0.0.1"
    assert core.SAFE_OPTIONS["browser.gatherUsageStats"] is False
    assert "--server.address=127.0.0.1" in core.option_args()
    assert "--browser.gatherUsageStats=false" in core.option_args()


def test_dashboard_pin_matches_pyproject():
    pins = dict(
        line.split("==")
        for line in (ROOT / "requirements-dashboard.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    )
    with open(ROOT / "pyproject.toml", "rb") as handle:
        extra = tomllib.load(handle)["project"]["optional-dependencies"]["dashboard"]
    assert extra == [f"streamlit=={pins['streamlit']}"]


def test_pipeline_does_not_import_streamlit():
    modules = [p.stem for p in (ROOT / "bankseg").glob("*.py") if p.stem != "__init__"]
    stages = [p.stem for p in (ROOT / "stages").glob("*.py") if p.stem != "__init__"]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module('bankseg.' + m)\n"
        f"for m in {stages!r}: importlib.import_module('stages.' + m)\n"
        "importlib.import_module('bankseg.dashboard.core')\n"
        "importlib.import_module('bankseg.dashboard.__main__')\n"
        "assert 'streamlit' not in sys.modules, 'streamlit imported'\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_launcher_passes_the_safe_settings():
    from bankseg.dashboard.__main__ import APP as LAUNCHED
    from bankseg.dashboard.__main__ import command

    cmd = command(8600)
    assert cmd[1:5] == ["-m", "streamlit", "run", str(LAUNCHED)]
    assert LAUNCHED == APP
    assert set(core.option_args()) <= set(cmd)
    assert cmd[-1] == "--server.port=8600"


def test_launcher_refuses_a_folder_without_params(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bankseg.dashboard", "--root", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == f"error: {tmp_path}: no params.yaml; pass --root with the project folder\n"
