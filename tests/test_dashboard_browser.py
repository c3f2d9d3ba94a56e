"""The dashboard in a real browser: `python -m bankseg.dashboard` on a free port, driven by
Playwright with Debian's chromium (never a downloaded browser).

Uploads a CSV, segments it, opens every segment, downloads one segment's CSV and checks it,
checks that the page made no request outside the local server, and saves a screenshot
(also copied to /tmp/dashboard_screenshot.png). Skipped when chromium or playwright is missing.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from dashboard_data import ASSIGNED_COLUMNS, build_project, upload_customers

from bankseg.dashboard import core

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT_COPY = Path("/tmp/dashboard_screenshot.png")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, server: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"dashboard exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"dashboard did not start within {timeout} s:\n{log.read_text()}")


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def playwright_api():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    pytest.importorskip(
        "streamlit", reason="streamlit not installed (pip install -r requirements-dashboard.txt)"
    )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright not installed (pip install -r requirements-dashboard.txt)"
    )
    return sync_api


def test_upload_segment_and_download_in_a_browser(playwright_api, tmp_path, tiny_model_dir, params):
    project = build_project(tmp_path / "project", tiny_model_dir, params)
    raw = upload_customers(80)
    upload_file = tmp_path / "customers.csv"
    raw.to_csv(upload_file, index=False)
    expected = core.score(raw, core.load_pipeline(project), "customers.csv")
    formula_segment = int(
        expected.labelled.loc[expected.labelled["customer_id"] == "=1+1", "segment"].iloc[0]
    )
    expected_ids = set(core.segment_customers(expected, formula_segment)["customer_id"])

    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    log = tmp_path / "server.log"
    env = {k: v for k, v in os.environ.items() if k != core.ROOT_VARIABLE}
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "bankseg.dashboard", "--root", str(project), "--port", str(port)],
            cwd=ROOT,
            env={**env, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(url, server, log)
        with playwright_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1300, "height": 1400}, accept_downloads=True)
                requests: list[str] = []
                page.on("request", lambda request: requests.append(request.url))
                page.goto(url)
                page.get_by_text("Customer file").first.wait_for(timeout=60_000)

                with page.expect_response(lambda r: "/_stcore/upload_file/" in r.url, timeout=30_000) as sent:
                    page.locator("input[type=file]").set_input_files(str(upload_file))
                assert sent.value.ok
                page.get_by_role("button", name="Segment the uploaded file").click(timeout=30_000)

                counts = expected.labelled["segment"].value_counts()
                for seg, name in sorted(expected_names(project).items()):
                    title = f"Segment {seg}: {name} ({counts.get(seg, 0):,} customers)"
                    page.locator("summary", has_text=title).wait_for(timeout=60_000)
                page.get_by_text(f"{len(expected.labelled):,} customers from customers.csv").wait_for()

                page.locator("summary", has_text=f"Segment {formula_segment}:").click()
                button = page.get_by_role("button", name=f"Download segment {formula_segment} as CSV")
                with page.expect_download(timeout=30_000) as download_info:
                    button.click()
                download = download_info.value
                assert download.suggested_filename == f"customers_segment_{formula_segment}.csv"
                saved = tmp_path / download.suggested_filename
                download.save_as(saved)

                rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))
                assert rows[0] == ASSIGNED_COLUMNS
                ids = [r[0] for r in rows[1:]]
                assert "'=1+1" in ids and "=1+1" not in ids
                assert not [i for i in ids if i[:1] in ("=", "+", "@") and not i.lstrip("+").isdigit()]
                assert {i.lstrip("'") for i in ids} == expected_ids
                assert {r[1] for r in rows[1:]} == {str(formula_segment)}

                page.get_by_text("customers from customers.csv").scroll_into_view_if_needed()
                shot = tmp_path / "dashboard.png"
                page.screenshot(path=str(shot), full_page=True)
                shutil.copy(shot, SCREENSHOT_COPY)

                outside = sorted({u for u in requests if not u.startswith((url, "data:", "blob:"))})
                assert not outside, f"requests outside the local server: {outside}"
            finally:
                browser.close()
    finally:
        _stop(server)
    assert "Traceback" not in log.read_text(errors="replace")


def expected_names(project: Path) -> dict[int, str]:
    return core.load_pipeline(project).names
