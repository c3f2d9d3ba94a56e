"""The Streamlit dashboard (bankseg.dashboard), run in-process with streamlit's AppTest.

The app reads its project folder from $BANKSEG_ROOT; each test points it at a small folder
laid out like the repository after `dvc repro` (see dashboard_data.py). Skipped when the
optional dashboard dependencies are not installed.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dashboard_data import ASSIGNED_COLUMNS, build_project, upload_customers

from bankseg.dashboard import core, server
from bankseg.dashboard.headers import SECURITY_HEADERS, SecurityHeaders
from bankseg.data.cleaning import clean_customers, needed_columns
from bankseg.errors import InputError
from bankseg.io.atomic import read_json
from bankseg.segmentation.assignment import read_segment_names

pytest.importorskip("streamlit")
from dashboard_app import start, summary_table, unescaped  # noqa: E402
from streamlit import config as st_config  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402
from streamlit.testing.v1.element_tree import Dataframe  # noqa: E402

pytestmark = pytest.mark.slow  # seconds per test: subprocesses, apps or searches

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "bankseg" / "dashboard" / "app.py"  # the ASGI app that serves it


@pytest.fixture(scope="module")
def project(tmp_path_factory, tiny_model_dir, params) -> Path:
    return build_project(
        tmp_path_factory.mktemp("dashboard") / "project", tiny_model_dir, params, with_drift=True
    )


@pytest.fixture
def project_copy(project, tmp_path) -> Path:
    """A copy of the project folder that a test may break."""
    return Path(shutil.copytree(project, tmp_path / "project"))


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
    # What reports/segments.json says of each segment is shown, without training counts.
    summary = summary_table(at)
    assert summary["description"].str.startswith("Typical customer: age ").all(), summary  # the portraits
    assert any(unescaped(m.value).startswith("Typical customer: age ") for m in at.markdown)


def test_uploaded_csv_is_segmented_like_the_assign_command(project, monkeypatch, params):
    raw = upload_customers()
    at = start(project, monkeypatch)
    upload(at, "customers.csv", csv_of(raw))
    assert not at.exception and not at.error, errors(at)
    expected = core.score(raw, core.load_segmentation(project), "customers.csv")
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
        ("missing.csv", _without_age, "missing.csv: required column 'age' is missing ("),
        (
            "types.csv",
            _text_ages,
            "types.csv: none of the 60 rows is valid; first problem, row 1: age: not a number (a text of 5 characters)",
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
        st_config.set_option("server.maxUploadSize", server.SAFE_OPTIONS["server.maxUploadSize"])
    assert not at.exception
    assert errors(at) == ["big.csv: 1.0 MB is larger than the upload limit of 1 MB"]


def test_cell_text_in_an_error_cannot_load_anything(project, monkeypatch):
    """A cell value quoted in an error is shown as text, not as Markdown (no image, no link).
    (A value with words in it is described, not quoted: this one has none.)"""
    raw = upload_customers(3).assign(income_slab="![1](//1.2.3.4/1)")
    at = start(project, monkeypatch)
    upload(at, "evil.csv", csv_of(raw))
    assert len(at.error) == 1
    assert "\\!\\[1\\]\\(//1\\.2\\.3\\.4/1\\)" in at.error[0].value
    assert "'![1](//1.2.3.4/1)'" in errors(at)[0]


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
    assert metrics["segments"] == "3"
    assert metrics["stability"] == "0.97"
    assert len(at.get("image")) == 2
    recorded = core.pipeline_status(project).model_md5
    assert recorded == hashlib.md5((project / "models/model.skops").read_bytes()).hexdigest()
    assert any(f"model MD5 in dvc.lock {recorded[:12]}" in unescaped(c.value) for c in at.caption)


def test_status_page_shows_metrics_as_tables_and_charts_not_json(project, monkeypatch):
    at = start(project, monkeypatch)
    at.switch_page("views/status.py").run()
    assert not at.exception and not at.error
    assert not at.json  # no JSON element anywhere on the page
    marks = [mark_types(json.loads(c.proto.spec)) for c in at.get("vega_lite_chart")]
    assert {"bar"} in marks and any("line" in m for m in marks), marks
    bars = next(c for c in at.get("vega_lite_chart") if '"bar"' in c.proto.spec)
    assert f"0: {names_of(project)[0]}" in str(bars.proto.datasets)  # bars named by segment
    names = names_of(project)
    tables = {tuple(df.value.columns): df.value for df in at.dataframe}
    segments = tables[("segment", "name", "customers", "share", "stability", "note")]
    assert segments["name"].tolist() == [names[s] for s in range(3)]
    assert "unstable" in segments["note"].iloc[2]  # Jaccard 0.6, below 0.75
    drift = tables[("feature", "PSI", "change")]
    assert drift.iloc[0].tolist() == ["age", "0.310", "shifted: new customers differ, worth checking"]
    assert ("column", "association", "segments follow it") in tables
    assert ("outcome", "segment", "figure", "lift") in tables
    assert ("criterion", "segments") in tables
    # Every table says in a sentence what it means: each is followed by a caption.
    kinds = [type(node).__name__ for node in at.main]
    for i, kind in enumerate(kinds[:-1]):
        if kind == "Dataframe" and i < kinds.index("Image"):
            assert kinds[i + 1] == "Caption", kinds
    text = " ".join(unescaped(m.value) for m in at.markdown)
    assert "The pipeline suggests 3 segments" in text and "The model has 3 segments." in text
    # The raw files stay available, collapsed, at the very bottom, as text.
    assert at.expander[-1].label == "Raw metrics files (for analysts)"
    assert type(list(at.main.children.values())[-1]).__name__ == "Expander"


def mark_types(spec: object) -> set[str]:
    """Every mark type in a Vega-Lite specification (layers included)."""
    if isinstance(spec, dict):
        found = set()
        if "mark" in spec:
            mark = spec["mark"]
            found.add(mark["type"] if isinstance(mark, dict) else mark)
        for value in spec.values():
            found |= mark_types(value)
        return found
    if isinstance(spec, list):
        return set().union(*(mark_types(v) for v in spec)) if spec else set()
    return set()


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
    with pytest.raises(
        InputError, match=r"^report\.xlsx: a zip archive or an Excel workbook; export the sheet as CSV"
    ):
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
    assert flat == server.SAFE_OPTIONS
    assert server.SAFE_OPTIONS["server.address"] == "127.0.0.1"
    assert server.SAFE_OPTIONS["browser.gatherUsageStats"] is False
    assert "--server.address=127.0.0.1" in server.option_args()
    assert "--browser.gatherUsageStats=false" in server.option_args()
    hosts = [a for a in server.option_args() if a.startswith("--server.allowedHosts=")]
    assert hosts == ["--server.allowedHosts=127.0.0.1", "--server.allowedHosts=localhost"]


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
    assert LAUNCHED == SERVER
    assert set(server.option_args()) <= set(cmd)
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


def repeated_parquet(path: Path, rows: int, **values: str) -> Path:
    """Every column of one generated customer (``values`` replacing some) repeated in ``rows``
    rows, dictionary-encoded: a few hundred kB on disk however many rows."""
    one = {**upload_customers(1).astype(str).iloc[0].to_dict(), **values}
    indices = pa.array(np.zeros(rows, dtype="int32"))
    table = pa.table({c: pa.DictionaryArray.from_arrays(indices, pa.array([v])) for c, v in one.items()})
    # A large dictionary page stays a dictionary page (by default pyarrow falls back to plain).
    pq.write_table(table, path, dictionary_pagesize_limit=64 << 20)
    return path


ROWS_BOMB = "bomb.parquet: 5,000,000 rows, more than the upload limit of 1,000,000 rows"


def test_parquet_with_millions_of_rows_is_refused_before_loading(project, tmp_path):
    path = repeated_parquet(tmp_path / "bomb.parquet", 5_000_000)
    assert path.stat().st_size < 1024 * 1024  # tiny on disk
    with pytest.raises(InputError, match=f"^{re.escape(ROWS_BOMB)}$"):
        core.read_upload("bomb.parquet", path.read_bytes(), 50)
    with pytest.raises(InputError, match=f"^{re.escape(ROWS_BOMB)}$"):
        core.score_upload("bomb.parquet", path.read_bytes(), core.load_segmentation(project), 50)


def test_a_value_repeated_in_every_row_is_measured_decoded(project, tmp_path):
    """20,000 rows sharing one 1 MB age: 8 kB on disk, 20 GB once every row holds its copy."""
    path = repeated_parquet(tmp_path / "long.parquet", 20_000, age="1" * (1 << 20))
    assert path.stat().st_size < 100 * 1024
    message = (
        r"^long\.parquet: 20,0\d\d\.\d MB in the columns read, decoded, more than the upload limit of 200 MB$"
    )
    with pytest.raises(InputError, match=message):
        core.score_upload("long.parquet", path.read_bytes(), core.load_segmentation(project), 50)


# The peak is VmHWM, this process's own: ru_maxrss would keep the test process's peak, which
# Linux carries over from the parent through fork and exec.
REFUSE_AND_MEASURE = """
import re, sys
from pathlib import Path
from bankseg.dashboard import core
from bankseg.errors import InputError
path, root = Path(sys.argv[1]), Path(sys.argv[2])
try:
    core.score_upload(path.name, path.read_bytes(), core.load_segmentation(root), 50)
except InputError as exc:
    print(exc)
status = Path("/proc/self/status").read_text()
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) // 1024)
"""


@pytest.mark.parametrize(
    ("rows", "values", "message"),
    [
        (5_000_000, {}, ROWS_BOMB),
        (20_000, {"age": "1" * (1 << 20)}, "bomb.parquet: 20,0"),
    ],
)
def test_refusing_a_parquet_bomb_takes_little_memory(project, tmp_path, rows, values, message):
    """Peak memory of a whole process that loads the model and refuses the file (about 210 MB
    of it is importing pandas, pyarrow and scikit-learn); the file loaded took gigabytes."""
    path = repeated_parquet(tmp_path / "bomb.parquet", rows, **values)
    result = subprocess.run(
        [sys.executable, "-c", REFUSE_AND_MEASURE, str(path), str(project)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    refusal, peak_mb = result.stdout.splitlines()
    assert refusal.startswith(message), refusal
    assert int(peak_mb) < 400, f"peak RSS {peak_mb} MB"


def _wide_csv(tmp_path):
    return ",".join(f"c{i}" for i in range(1_001)).encode() + b"\n" + b"1," * 1_000 + b"1\n"


def _wide_parquet(tmp_path):
    pq.write_table(pa.table({f"c{i}": [1] for i in range(1_001)}), tmp_path / "x.parquet")
    return (tmp_path / "x.parquet").read_bytes()


def _long_csv(tmp_path):
    return b"customer_id,age\n" + b"1,30\n" * 1_000_001


def _row_groups_parquet(tmp_path):
    pq.write_table(pa.table({"age": list(range(1_001))}), tmp_path / "x.parquet", row_group_size=1)
    return (tmp_path / "x.parquet").read_bytes()


def _nested_parquet(tmp_path):
    pq.write_table(pa.table({"customer_id": ["1"], "age": [[30, 40]]}), tmp_path / "x.parquet")
    return (tmp_path / "x.parquet").read_bytes()


@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        (
            "wide.csv",
            _wide_csv,
            "wide.csv: 1,001 columns (at most, in its header), more than the upload limit of 1,000 columns",
        ),
        (
            "wide.parquet",
            _wide_parquet,
            "wide.parquet: 1,001 columns, more than the upload limit of 1,000 columns",
        ),
        (
            "long.csv",
            _long_csv,
            "long.csv: 1,000,001 rows (at most, by its line breaks), more than the upload limit of 1,000,000 rows",
        ),
        (
            "groups.parquet",
            _row_groups_parquet,
            "groups.parquet: 1,001 row groups, more than the upload limit of 1,000 row groups",
        ),
        (
            "nested.parquet",
            _nested_parquet,
            "nested.parquet: column 'age' holds list<element: int64>, expected numbers or text",
        ),
    ],
)
def test_upload_caps(tmp_path, name, make, message):
    with pytest.raises(InputError, match=f"^{re.escape(message)}$"):
        core.read_upload(name, make(tmp_path), 50)


def test_parquet_uncompressed_size_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(core, "MAX_UPLOAD_UNCOMPRESSED_MB", 1)
    noise = [os.urandom(512).hex() for _ in range(2_000)]  # 2 MB that does not compress
    pq.write_table(pa.table({"customer_id": noise}), tmp_path / "x.parquet", compression="zstd")
    with pytest.raises(
        InputError, match=r"^noise\.parquet: 2\.\d MB uncompressed, more than the upload limit of 1 MB$"
    ):
        core.read_upload("noise.parquet", (tmp_path / "x.parquet").read_bytes(), 50)


def test_parquet_metadata_size_cap(tmp_path):
    """Parsing a footer takes about 12 times its size: it is measured from the file's last
    bytes first. 1,000 columns in 50 row groups of one row: about 4.5 MB of metadata."""
    table = pa.table({f"c{i}": pa.array([0] * 50, pa.int8()) for i in range(1_000)})
    pq.write_table(table, tmp_path / "x.parquet", row_group_size=1)
    message = r"^footer\.parquet: 4\.\d MB of metadata, more than the upload limit of 4 MB$"
    with pytest.raises(InputError, match=message):
        core.read_upload("footer.parquet", (tmp_path / "x.parquet").read_bytes(), 50)


@pytest.mark.parametrize("ending", [b"", b"\n", b"\r\n"])
def test_an_upload_at_the_row_cap_is_read(monkeypatch, ending):
    monkeypatch.setattr(core, "MAX_UPLOAD_ROWS", 3)
    rows = [b"customer_id,age", b"1,30", b"2,40", b"3,50"]
    line = b"\r\n" if ending == b"\r\n" else b"\n"
    assert len(core.read_upload("ok.csv", line.join(rows) + ending, 50)) == 3
    with pytest.raises(InputError, match=r"^more\.csv: 4 rows \(at most"):
        core.read_upload("more.csv", line.join([*rows, b"4,60"]) + ending, 50)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_only_the_columns_the_cleaning_uses_are_read(params, tmp_path, suffix):
    raw = upload_customers(20)
    path = tmp_path / f"customers.{suffix}"
    raw.to_csv(path, index=False) if suffix == "csv" else raw.to_parquet(path, index=False)
    frame = core.read_upload(path.name, path.read_bytes(), 50, columns=needed_columns(params))
    assert set(frame.columns) == {
        params.data.id_column,
        *params.features.columns,
        *params.prepare.profile_columns,
        "nationality",  # protected: profiled by segment, never a feature
    }
    assert not set(frame.columns) & set(params.prepare.personal_columns)
    assert frame.attrs["all_columns"] == list(raw.columns)  # named in a missing-column error


def test_parquet_bomb_upload_gives_one_line_error(project, monkeypatch, tmp_path):
    path = repeated_parquet(tmp_path / "bomb.parquet", 5_000_000)
    at = start(project, monkeypatch)
    uploader = at.file_uploader(key="upload")
    assert "1,000,000 rows" in uploader.proto.label
    for cap in ("1,000 columns", "1,000 MB uncompressed", "200 MB in the columns read", "1,000 row groups"):
        assert cap in uploader.proto.help
    upload(at, "bomb.parquet", path.read_bytes(), "application/octet-stream")
    assert not at.exception
    assert errors(at) == [ROWS_BOMB]
    assert not segment_labels(at)


def page_text(at: AppTest) -> str:
    """Everything the page shows: every element's message (labels, text, help, table data)
    and every table's values, with Markdown escapes removed."""
    parts = []
    for node in [*at.main, *at.sidebar]:
        if isinstance(node, Dataframe):
            parts.append(node.value.to_csv())
        if getattr(node, "proto", None) is not None:
            parts.append(str(node.proto))
    return "\n".join(parts).replace("\\", "")


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
@pytest.mark.parametrize("invalid", ["every row", "some rows"])
def test_personal_data_never_reaches_the_page(project, monkeypatch, params, tmp_path, suffix, invalid):
    raw = upload_customers(40)
    for column in params.prepare.personal_columns:
        raw[column] = [f"SECRETPII{i}{column}" for i in range(len(raw))]
    bad = raw.index if invalid == "every row" else raw.index[::4]
    raw.loc[bad, "age"] = "forty"
    path = tmp_path / f"personal.{suffix}"
    raw.to_csv(path, index=False) if suffix == "csv" else raw.to_parquet(path, index=False)
    assert b"SECRETPII" in path.read_bytes()
    at = start(project, monkeypatch)
    upload(at, path.name, path.read_bytes(), "application/octet-stream")
    assert not at.exception
    text = page_text(at)
    assert "age: not a number (a text of 5 characters)" in text  # the reason (in the error, or the table)
    if invalid == "every row":
        assert errors(at) == [
            f"{path.name}: none of the 40 rows is valid; first problem, row 1: age: not a number (a text of 5 characters)"
        ]
    else:
        assert not at.error and "10 of 40 rows rejected" in text
        # The rejected-rows table is the cleaning's rejected frame as it is: nothing added.
        expected = clean_customers(raw, params, source=path.name).rejected
        shown = [df.value for df in at.dataframe if "reason" in df.value.columns]
        assert len(shown) == 1 and list(shown[0].columns) == list(expected.columns)
    assert "SECRETPII" not in text


def test_security_headers_replace_the_applications_own():
    async def inner(scope, receive, send):
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"X-Frame-Options", b"SAMEORIGIN")]}
        )
        await send({"type": "http.response.body", "body": b"ok"})

    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(SecurityHeaders(inner)({"type": "http"}, None, send))
    headers = [(k.decode(), v.decode()) for k, v in sent[0]["headers"]]
    assert headers == [(k.lower(), v) for k, v in SECURITY_HEADERS.items()]
    assert sent[1] == {"type": "http.response.body", "body": b"ok"}


def test_params_changed_since_training_are_one_line_in_the_page(project_copy, monkeypatch):
    """A params.yaml edited after `dvc repro` no longer describes the model: the page says so
    instead of failing on the first upload."""
    params = (project_copy / "params.yaml").read_text()
    (project_copy / "params.yaml").write_text(params.replace("scaler: standard", "scaler: robust"))
    at = start(project_copy, monkeypatch)
    assert errors(at) == [
        "models/model.skops: trained with other scaling (featurize); expected a model trained with the "
        "settings of params.yaml (run dvc repro, or pass the params file it was trained with)"
    ]
