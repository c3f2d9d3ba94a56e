"""``dvc plots show`` and ``dvc plots diff`` pages draw their charts without internet.

``.dvc/config`` sets ``plots.html_template`` to ``tools/offline_plots.html``, a copy of DVC's
page with vega, vega-lite and vega-embed inlined (built by ``tools/build_offline_plots.py``).
The fast tests check the template and the setting; the slow ones run the pipeline on a copy of
the repository, make the pages with the real DVC and open them in headless Chromium with the
network cut off, counting the charts it drew and taking screenshots. DVC's own page, opened
the same way, draws none of them: that is what the offline template is for, and it shows the
check can fail.
"""

from __future__ import annotations

import configparser
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from dvc_repo import ROOT, dvc
from reference_run import reference_run

TEMPLATE = ROOT / "tools" / "offline_plots.html"
CHROMIUM = Path("/usr/bin/chromium")
BUNDLED = ("vega", "vega-lite", "vega-embed")
# Every way out of the browser is shut: no proxy answers on port 9, and no host name resolves.
OFFLINE_FLAGS = ["--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND"]

_no_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is missing (.ci/run installs Debian's chromium; apt-get install chromium)",
)


def needs_chromium(test):
    """Marked ``browser``, and skipped, saying why, where chromium is missing."""
    return pytest.mark.browser(_no_chromium(test))


def declared_plots(repo: Path = ROOT) -> tuple[list[str], list[str]]:
    """The ids of dvc.yaml's top-level vega plots, and its image plots."""
    vega, images = [], []
    for item in yaml.safe_load((repo / "dvc.yaml").read_text())["plots"]:
        if isinstance(item, dict):
            vega.append(next(iter(item)))
        else:
            images.append(item)
    return vega, images


# --- the template and the setting (fast) ----------------------------------------------------


def test_dvc_config_points_at_the_offline_template():
    config = configparser.ConfigParser()
    config.read(ROOT / ".dvc" / "config")
    setting = config["plots"]["html_template"]
    # DVC reads a relative plots.html_template from the .dvc directory (dvc/commands/plots.py).
    assert (ROOT / ".dvc" / setting).resolve() == TEMPLATE


def test_template_fills_like_dvcs_page_and_loads_nothing_from_outside():
    page = TEMPLATE.read_text(encoding="utf-8")
    assert page.count("{plot_divs}") == 1  # where DVC puts the plots; it refuses a page without it
    assert "{scripts}" not in page  # DVC would put its CDN <script src=...> tags there
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "the page loads something"
    assert "sourceMappingURL" not in page
    assert '<meta charset="utf-8">' in page[:1024]  # the inlined builds are not all ASCII
    assert page.count("<script>") == len(BUNDLED)


def test_template_bundles_the_versions_dvcs_own_page_loads():
    """Regenerate the template (tools/build_offline_plots.py) when DVC moves to other versions."""
    from dvc_render.vega import VegaRenderer

    page = TEMPLATE.read_text(encoding="utf-8")
    for name in BUNDLED:
        version = re.search(rf"/npm/{name}@([0-9.]+)", VegaRenderer.SCRIPTS).group(1)
        assert f"<script>/* {name}@{version} */" in page
        assert f"  {name}@{version}  (build/{name}.min.js)" in page  # the header says so


def test_dvc_fills_the_template(tmp_path):
    """dvc_render fills the template as it does its own page, without the CDN scripts."""
    from dvc_render import VegaRenderer, render_html

    renderer = VegaRenderer([{"k": 2, "score": 1.0}, {"k": 3, "score": 0.5}], "demo", x="k", y="score")
    out = render_html([renderer], output_file=tmp_path / "index.html", html_template=TEMPLATE)
    page = Path(out).read_text(encoding="utf-8")
    assert "vegaEmbed('#demo', spec)" in page
    assert "cdn.jsdelivr" not in page
    assert "{plot_divs}" not in page and "{refresh_tag}" not in page


# --- the pages in a browser without network (slow) --------------------------------------------


class PageCounter(HTMLParser):
    """Charts drawn in a page Chromium rendered: marks per vega-embed element, and the images.

    The parser reads script contents as text, so the inlined libraries add nothing here.
    """

    def __init__(self) -> None:
        super().__init__()
        self.marks: dict[str, int] = {}
        self.images: list[str] = []
        self._plot: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        classes = attr.get("class", "").split()
        if tag == "div" and "vega-embed" in classes:
            self._plot = attr.get("id")
            self.marks.setdefault(self._plot, 0)
        elif tag in ("canvas", "svg") and "marks" in classes and self._plot is not None:
            # vega sizes its canvas (or svg) to the chart once it has drawn the view
            if int(float(attr.get("width", 0) or 0)) > 0 and int(float(attr.get("height", 0) or 0)) > 0:
                self.marks[self._plot] += 1
        elif tag == "img":
            self.images.append(attr.get("src", ""))


def chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    """Open ``page`` in headless Chromium with the network blocked; fail the test if it fails."""
    cmd = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        f"--user-data-dir={profile}",
        *OFFLINE_FLAGS,
        "--virtual-time-budget=10000",
        *args,
        page.as_uri(),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if result.returncode != 0:
        pytest.fail(f"chromium exited with {result.returncode}\n{result.stderr[-3000:]}", pytrace=False)
    return result


def rendered(page: Path, profile: Path) -> PageCounter:
    counter = PageCounter()
    counter.feed(chromium(page, profile, "--dump-dom").stdout)
    return counter


def screenshot(page: Path, profile: Path, png: Path, height: int = 3000) -> int:
    """Take a screenshot of ``page``; returns the number of distinct colours in it."""
    from PIL import Image

    chromium(page, profile, "--hide-scrollbars", f"--window-size=1400,{height}", f"--screenshot={png}")
    assert png.is_file(), f"chromium wrote no screenshot of {page}"
    with Image.open(png) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24)
    return len(colours)


def make_page(repo: Path, out: str, *args: str) -> Path:
    """Run ``dvc plots <args> -o <out>`` in ``repo``; the page DVC wrote."""
    dvc("plots", *args, "-o", out, cwd=repo)
    page = repo / out / "index.html"
    assert page.is_file()
    return page


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A copy of the reference run (tests/reference_run.py: ``dvc repro`` on 1,500 + 300
    generated customers, a shorter elbow search).

    Its ``plots/elbow.json`` then differs from the committed one, so ``dvc plots diff`` has two
    revisions to draw: HEAD and the workspace.
    """
    return reference_run(tmp_path_factory, "plots-offline").repo


@pytest.fixture(scope="module")
def dvc_default_page(tmp_path_factory) -> Path:
    """DVC's own page (the one used when plots.html_template is not set), as a template file."""
    from dvc_render.html import PAGE_HTML

    path = tmp_path_factory.mktemp("default-page") / "dvc_default.html"
    path.write_text(PAGE_HTML, encoding="utf-8")
    return path


def assert_all_drawn(counter: PageCounter, page: Path, revisions: int) -> None:
    vega, images = declared_plots()
    assert sorted(counter.marks) == sorted(vega), f"vega plots in {page}: {sorted(counter.marks)}"
    not_drawn = [plot for plot, marks in counter.marks.items() if marks != 1]
    assert not not_drawn, f"charts not drawn in {page}: {not_drawn} ({counter.marks})"
    assert len(counter.images) == len(images) * revisions, counter.images
    for src in counter.images:
        assert (page.parent / src).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", src
    for image in images:
        assert any(src.endswith("_" + image.replace("/", "_")) for src in counter.images), image


@pytest.mark.slow
@needs_chromium
def test_plots_show_draws_every_chart_offline(repo, tmp_path):
    page = make_page(repo, "dvc_plots", "show")  # the default output folder, as a user would run it
    assert "cdn.jsdelivr" not in page.read_text(encoding="utf-8")
    assert_all_drawn(rendered(page, tmp_path / "profile"), page, revisions=1)
    colours = screenshot(page, tmp_path / "profile", tmp_path / "plots_show.png")
    assert colours > 200, f"the screenshot of {page} has only {colours} colours"


@pytest.mark.slow
@needs_chromium
def test_plots_diff_draws_every_chart_offline(repo, tmp_path):
    page = make_page(repo, "diff_plots", "diff")  # the workspace against HEAD
    text = page.read_text(encoding="utf-8")
    assert '"rev": "HEAD"' in text and '"rev": "workspace"' in text
    assert_all_drawn(rendered(page, tmp_path / "profile"), page, revisions=2)
    colours = screenshot(page, tmp_path / "profile", tmp_path / "plots_diff.png", height=4000)
    assert colours > 200, f"the screenshot of {page} has only {colours} colours"


@pytest.mark.slow
@needs_chromium
def test_dvcs_own_page_draws_nothing_offline(repo, dvc_default_page, tmp_path):
    """The same charts: drawn with the offline template, missing from DVC's page (CDN scripts)."""
    vega, _ = declared_plots()
    ours = make_page(repo, "vega_only_offline", "show", *vega)
    default = make_page(repo, "vega_only_default", "show", *vega, "--html-template", str(dvc_default_page))
    assert "cdn.jsdelivr.net/npm/vega@" in default.read_text(encoding="utf-8")

    drawn = rendered(ours, tmp_path / "profile").marks
    assert drawn == dict.fromkeys(vega, 1)
    assert rendered(default, tmp_path / "profile").marks == {}  # vegaEmbed never ran: no chart at all

    # Pictures of the same six charts: lines and text in many shades, against a white page.
    assert screenshot(ours, tmp_path / "profile", tmp_path / "offline.png", height=1400) > 100
    assert screenshot(default, tmp_path / "profile", tmp_path / "default.png", height=1400) <= 2
