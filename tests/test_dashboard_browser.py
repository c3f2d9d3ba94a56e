"""The dashboard in a real browser: `python -m bankseg.dashboard` on a free port, driven by
Playwright with Debian's chromium (never a downloaded browser).

Uploads a CSV, segments it, opens every segment, downloads one segment's CSV and checks it,
opens the status page, checks that the pages made no request outside the local server, and
saves a screenshot of each (also copied to /tmp/dashboard_screenshot.png and
/tmp/dashboard_status_screenshot.png). Checks the headers that forbid framing on
every kind of response, with both ways of starting the server, and that a page of another
origin cannot show the dashboard in a frame. Skipped when chromium or playwright is missing.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import functools
import http.server
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dashboard_data import ASSIGNED_COLUMNS, build_project, upload_customers

from bankseg.dashboard import core, server
from bankseg.dashboard.headers import SECURITY_HEADERS

pytestmark = [pytest.mark.slow, pytest.mark.browser]

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
STATUS_SCREENSHOT_COPY = Path("/tmp/dashboard_status_screenshot.png")


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


@contextlib.contextmanager
def _serving(command: Callable[[int], list[str]], project: Path, log: Path) -> Iterator[str]:
    """Run the dashboard server ``command(port)`` from the repository root, for ``project``,
    until the block ends; yields its URL."""
    port = _free_port()
    env = {**os.environ, server.ROOT_VARIABLE: str(project), "PYTHONPATH": str(ROOT)}
    with open(log, "wb") as out:
        process = subprocess.Popen(command(port), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_healthy(url, process, log)
        yield url
    finally:
        _stop(process)


def _launcher(port: int) -> list[str]:
    """The documented way: ``python -m bankseg.dashboard``."""
    return [sys.executable, "-m", "bankseg.dashboard", "--port", str(port)]


def _streamlit_run(port: int) -> list[str]:
    """The other way, with the settings of .streamlit/config.toml: ``streamlit run bankseg/dashboard/app.py``."""
    return [sys.executable, "-m", "streamlit", "run", "bankseg/dashboard/app.py", f"--server.port={port}"]


def test_upload_segment_and_download_in_a_browser(playwright_api, tmp_path, tiny_model_dir, params):
    project = build_project(tmp_path / "project", tiny_model_dir, params, with_drift=True)
    raw = upload_customers(80)
    upload_file = tmp_path / "customers.csv"
    raw.to_csv(upload_file, index=False)
    segmentation = core.load_segmentation(project)
    expected = core.score(raw, segmentation, "customers.csv")
    formula_segment = int(
        expected.labelled.loc[expected.labelled["customer_id"] == "=1+1", "segment"].iloc[0]
    )
    expected_ids = set(core.segment_customers(expected, segmentation, formula_segment)["customer_id"])

    log = tmp_path / "server.log"
    with _serving(_launcher, project, log) as url, playwright_api.sync_playwright() as pw:
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
            assert rows[0] == [*ASSIGNED_COLUMNS, *core.DOWNLOAD_EXTRA]
            ids = [r[0] for r in rows[1:]]
            assert "'=1+1" in ids and "=1+1" not in ids
            assert not [i for i in ids if i[:1] in ("=", "+", "@") and not i.lstrip("+").isdigit()]
            assert {i.lstrip("'") for i in ids} == expected_ids
            assert {r[1] for r in rows[1:]} == {str(formula_segment)}

            page.get_by_text("customers from customers.csv").scroll_into_view_if_needed()
            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            shutil.copy(shot, SCREENSHOT_COPY)

            # The status page: metrics as charts and tables with a sentence each, no JSON viewer.
            page.get_by_role("link", name="Pipeline status").click()
            page.get_by_role("heading", name="Pipeline status").wait_for(timeout=60_000)
            page.get_by_text("The pipeline suggests 3 segments").wait_for(timeout=30_000)
            page.get_by_text("Raw metrics files (for analysts)").wait_for()
            assert page.locator("[data-testid=stJson]").count() == 0
            assert page.locator("[data-testid=stVegaLiteChart]").count() >= 2
            assert page.locator("[data-testid=stDataFrame]").count() >= 6
            page.get_by_text("Stability is how often refits").wait_for()
            # Each kind of element loads its code on first use: wait for the headline figures.
            page.locator("[data-testid=stMetric]", has_text="silhouette").wait_for(timeout=30_000)
            assert "0.42" in page.locator("[data-testid=stMetric]", has_text="silhouette").inner_text()
            status_shot = tmp_path / "status.png"
            page.screenshot(path=str(status_shot), full_page=True)
            shutil.copy(status_shot, STATUS_SCREENSHOT_COPY)

            outside = sorted({u for u in requests if not u.startswith((url, "data:", "blob:"))})
            assert not outside, f"requests outside the local server: {outside}"
        finally:
            browser.close()
    assert "Traceback" not in log.read_text(errors="replace")


def expected_names(project: Path) -> dict[int, str]:
    return core.load_segmentation(project).names


def _response_headers(url: str, method: str = "GET") -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:  # an error response carries the headers too
        return error.code, dict(error.headers)


def _websocket_handshake(url: str, as_host: str | None = None) -> str:
    """The head of the server's answer to the page's websocket upgrade (/_stcore/stream), sent
    with the Host and Origin a page of ``as_host`` would send."""
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    key = base64.b64encode(os.urandom(16)).decode()
    named = as_host or host
    request = (
        f"GET /_stcore/stream HTTP/1.1\r\nHost: {named}:{port}\r\nOrigin: http://{named}:{port}\r\n"
        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: streamlit\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    return head.split(b"\r\n\r\n")[0].decode("latin-1")


def _forbids_framing(headers: dict[str, str]) -> bool:
    lower = {k.lower(): v for k, v in headers.items()}
    return all(lower.get(k.lower()) == v for k, v in SECURITY_HEADERS.items())


@pytest.mark.parametrize("command", [_launcher, _streamlit_run], ids=["launcher", "streamlit-run"])
def test_every_response_forbids_framing(tmp_path, tiny_model_dir, params, command):
    pytest.importorskip("streamlit")
    project = build_project(tmp_path / "project", tiny_model_dir, params)
    with _serving(command, project, tmp_path / "server.log") as url:
        status, headers = _response_headers(url)
        assert status == 200 and _forbids_framing(headers), headers
        with urllib.request.urlopen(url, timeout=10) as response:
            page = response.read().decode("utf-8")
        assets = re.findall(r'(?:src|href)="\./(static/[^"]+)"', page)
        assert any(a.endswith(".js") for a in assets), page[:500]
        for path in [*assets, "_stcore/health", "_stcore/host-config", "favicon.png"]:
            status, headers = _response_headers(url + path)
            assert status == 200 and _forbids_framing(headers), (path, headers)
        # Refused requests too: an upload without the XSRF token, a missing media file.
        for method, path in [("PUT", "_stcore/upload_file/session/file"), ("GET", "media/nothing.png")]:
            status, headers = _response_headers(url + path, method)
            assert status >= 400 and _forbids_framing(headers), (method, path, status, headers)
        handshake = _websocket_handshake(url)
        assert handshake.startswith("HTTP/1.1 101"), handshake
        for name, value in SECURITY_HEADERS.items():
            assert f"{name}: {value}".lower() in handshake.lower(), handshake
        # A site whose name resolves to this machine (DNS rebinding) cannot open the app.
        assert _websocket_handshake(url, "localhost").startswith("HTTP/1.1 101")
        refused = _websocket_handshake(url, "rebound.example")
        assert not refused.startswith("HTTP/1.1 101"), refused
        # A site whose name resolves to this machine (DNS rebinding) cannot open the app.
        assert _websocket_handshake(url, "localhost").startswith("HTTP/1.1 101")
        refused = _websocket_handshake(url, "rebound.example")
        assert refused.startswith("HTTP/1.1 403"), refused


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextlib.contextmanager
def _other_site(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on another local port (another origin than the dashboard's)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_another_site_cannot_frame_the_dashboard(playwright_api, tmp_path, tiny_model_dir, params):
    """A page of another origin puts the dashboard in an iframe (and, as a control, one of its
    own pages in another): chromium refuses to show the dashboard, which never starts there."""
    project = build_project(tmp_path / "project", tiny_model_dir, params)
    site = tmp_path / "site"
    site.mkdir()
    (site / "control.html").write_text("<p>a page of the framing site</p>", encoding="utf-8")
    with _serving(_launcher, project, tmp_path / "server.log") as url:
        (site / "framer.html").write_text(
            f'<h1>another site</h1><iframe name="dashboard" src="{url}" width="900" height="600"></iframe>'
            '<iframe name="control" src="control.html"></iframe>',
            encoding="utf-8",
        )
        with _other_site(site) as other, playwright_api.sync_playwright() as pw:
            assert other != url
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                requests: list[str] = []
                page.on("request", lambda request: requests.append(request.url))
                console: list[str] = []
                page.on("console", lambda message: console.append(message.text))
                with page.expect_response(lambda r: r.url == url, timeout=30_000) as framed:
                    page.goto(other + "framer.html")
                assert _forbids_framing(framed.value.headers)  # the server did answer
                page.frame(name="control").get_by_text("a page of the framing site").wait_for(timeout=30_000)

                frame = page.frame(name="dashboard")
                deadline = time.monotonic() + 30
                while not frame.url.startswith("chrome-error://") and time.monotonic() < deadline:
                    page.wait_for_timeout(200)
                assert frame.url.startswith("chrome-error://"), (frame.url, console)
                page.wait_for_timeout(2_000)  # time for the app to start, were it loaded
                assert "Customer segments" not in frame.evaluate("document.body.innerText")
                assert not [u for u in requests if u.startswith(url + "static/")], requests
                assert not [u for u in requests if u.startswith(url + "_stcore/")], requests
            finally:
                browser.close()
