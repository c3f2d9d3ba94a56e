"""bankseg.reporting.report_html: the Markdown report as one self-contained, safe HTML file."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bankseg.errors import InputError
from bankseg.reporting.report import escape_markdown
from bankseg.reporting.report_html import embedded_images, heading_anchor, report_html

ROOT = Path(__file__).resolve().parent.parent
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))  # any bytes: only their round trip is checked
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
HOSTILE = [
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    "![x](http://evil/x.png)",
    "costs $5 & more",
    "a | b",
    "*not emphasis* _nor this_ `nor code` ~~x~~ # ! \\",
]


class Document(HTMLParser):
    """The parts of an HTML document the tests look at; fails on a badly nested or unclosed tag."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.texts: list[str] = []
        self.cells: list[str] = []
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()
        assert self.open == [], f"unclosed tags: {self.open}"

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag in ("td", "th"):
            self._cell = []
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        assert tag in VOID, f"<{tag} /> is not a void element"
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        assert tag not in VOID, f"</{tag}> closes a void element"
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        self.texts.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def attributes(self, name: str) -> list[str]:
        return [attrs[name] for _, attrs in self.tags if name in attrs]

    def ids(self) -> list[str]:
        return self.attributes("id")


def data_report() -> str:
    """A report like the pipeline's, with names and values from the data escaped as it escapes them."""
    md = escape_markdown
    rows = "\n".join(f"| {md(value)} | {i} |" for i, value in enumerate(HOSTILE))
    bullets = "\n".join(f"- {md(value)}" for value in HOSTILE)
    return (
        f"# Customer segments\n\n**Read this first:** {md(HOSTILE[0])}\n\n"
        f"| value | count |\n|---|---:|\n{rows}\n\n"
        f"## Segment 0: {md(HOSTILE[3])}\n\n{bullets}\n\n"
        "## Plots\n\n![segment_profile.png](../plots/segment_profile.png)\n"
    )


def test_data_text_is_shown_as_text_and_never_markup():
    page = report_html(data_report(), {"segment_profile.png": PNG})
    doc = Document(page)
    for value in HOSTILE:
        assert doc.text.count(value) >= 2, value  # in the table and in the list, literally
    assert [value for value in HOSTILE if value in doc.cells] == HOSTILE  # one cell each: "|" splits nothing
    assert "<script" not in page
    assert {tag for tag, _ in doc.tags} <= {
        "html", "head", "meta", "title", "style", "body", "div", "h1", "h2", "p", "strong",
        "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "img",
    }  # fmt: skip
    for value in doc.attributes("href") + doc.attributes("src"):
        assert "javascript" not in value and "evil" not in value
    assert "text-align:right" in doc.attributes("style")


def test_links_and_images_that_escaped_the_escaping_are_dropped_to_their_text():
    markdown = (
        "# Links\n\n[click](javascript:alert(1)) [site](http://evil/page) [file](../data/raw/customers.csv) "
        "[data](data:text/html,hi) <http://evil/auto> [me](mailto:a@evil) ![pic](http://evil/x.png) "
        "![inline](data:image/png;base64,AAAA) ![abs](/etc/x.png) ![far](//evil/x.png) "
        '[back](#links "to the top")\n\n<script>alert(1)</script>\n\n<img src="http://evil/y.png">\n'
    )
    page = report_html(markdown, {"x.png": PNG})
    doc = Document(page)
    assert "javascript:" not in page
    assert "http://evil/x.png" not in page and "http://evil/page" not in page
    assert "<script" not in page and '<img src="http' not in page
    assert "click site file data http://evil/auto me pic inline abs far back" in doc.text  # their texts
    assert "<script>alert(1)</script>" in doc.text and '<img src="http://evil/y.png">' in doc.text
    assert doc.attributes("href") == ["#links"]
    assert doc.attributes("src") == []  # x.png is embeddable, but not from a URL or an absolute path


def test_images_are_embedded_and_nothing_is_loaded_from_elsewhere():
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'
    markdown = (
        "# Plots\n\n![profile](../plots/segment_profile.png)\n![vector](../plots/shape.svg)\n"
        "![missing](../plots/missing.png)\n\n| a | b |\n|---|---|\n| ![cell](../plots/segment_profile.png) | 1 |\n"
    )
    page = report_html(markdown, {"segment_profile.png": PNG, "shape.svg": svg, "unused.png": b"x"})
    doc = Document(page)
    sources = doc.attributes("src")
    assert len(sources) == 3
    assert all(src.startswith("data:") for src in sources)
    assert sources[0] == sources[2] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert base64.b64decode(sources[0].split(",", 1)[1], validate=True) == PNG
    assert base64.b64decode(sources[1].removeprefix("data:image/svg+xml;base64,"), validate=True) == svg
    assert [attrs["alt"] for tag, attrs in doc.tags if tag == "img"] == ["profile", "vector", "cell"]
    assert "missing" in doc.text and "missing.png" not in page
    no_data = re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+", "data:", page)
    assert not re.search(r"(?i)(https?:|file:|url\(|@import|<link|<script|\ssrc=\"(?!data:))", no_data)


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        (
            "How these segments were chosen, and how sure we are",
            "how-these-segments-were-chosen-and-how-sure-we-are",
        ),
        ("Segment 0: Young, no active SIP", "segment-0-young-no-active-sip"),
        ("Cramér's V (0 to 1)?", "cramérs-v-0-to-1"),
        ("max_category_agreement -- 0.8 & more!", "max_category_agreement----08--more"),
        ("  Trailing  spaces ", "trailing--spaces"),
        ("Ünïcode ÄÖ 123", "ünïcode-äö-123"),
    ],
)
def test_heading_anchor_follows_github(heading, anchor):
    page = report_html(f"## {heading}\n", {})
    assert heading_anchor(heading.strip()) == anchor
    assert Document(page).ids() == [anchor]


def test_headings_get_unique_github_anchors_and_in_page_links_reach_them():
    markdown = (
        "# Customer segments\n\nSee [how sure we are](#how-these-segments-were-chosen-and-how-sure-we-are) "
        "and [the second notes](#notes-1).\n\n"
        "## How these segments were chosen, and how sure we are\n\n## Notes\n\n## Notes\n\n## Notes-1\n\n"
        "## Notes\n\n## Segment 0: *Young*, `no_SIP` \\<b\\> \\$ \\| \\&\n"
    )
    doc = Document(report_html(markdown, {}))
    assert doc.ids() == [
        "customer-segments",
        "how-these-segments-were-chosen-and-how-sure-we-are",
        "notes",
        "notes-1",
        "notes-1-1",  # github-slugger: the literal "Notes-1" never duplicates an id
        "notes-2",
        "segment-0-young-no_sip-b---",
    ]
    links = doc.attributes("href")
    assert links == ["#how-these-segments-were-chosen-and-how-sure-we-are", "#notes-1"]
    assert {link[1:] for link in links} <= set(doc.ids())


def test_output_is_a_well_formed_document():
    page = report_html(data_report(), {"segment_profile.png": PNG}, title='Segments <b>"Q3"</b> & co')
    Document(page)
    root = ET.fromstring(page)  # the output is also well-formed XML (XHTML-style void tags)
    assert root.tag == "html" and [child.tag for child in root] == ["head", "body"]
    head = root.find("head")
    assert head.find("meta").get("charset") == "utf-8"
    assert head.find("title").text == 'Segments <b>"Q3"</b> & co'
    style = head.find("style").text
    for rule in ("sans-serif", "max-width: 60rem", "border-collapse", "nth-child(even)", "max-width: 100%"):
        assert rule in style
    assert page.startswith("<!DOCTYPE html>\n")


def test_the_same_report_gives_the_same_bytes():
    images = {"segment_profile.png": PNG}
    assert report_html(data_report(), images) == report_html(data_report(), dict(images))


def test_embedded_images_reads_the_referenced_files(tmp_path):
    (tmp_path / "plots").mkdir()
    (tmp_path / "reports").mkdir()
    (tmp_path / "plots" / "segment_profile.png").write_bytes(PNG)
    (tmp_path / "plots" / "unused.png").write_bytes(b"never read")
    (tmp_path / "reports" / "local.svg").write_bytes(b"<svg/>")
    markdown = (
        "![a](../plots/segment_profile.png)\n![again](../plots/segment_profile.png)\n![b](local.svg)\n\n"
        "    ![in code](../plots/not_an_image.png)\n\n`![in code](nope.png)`\n"
    )
    images = embedded_images(markdown, tmp_path / "reports")
    assert images == {"segment_profile.png": PNG, "local.svg": b"<svg/>"}
    page = report_html(markdown, images)
    assert Document(page).attributes("src")[0] == "data:image/png;base64," + base64.b64encode(PNG).decode()


def test_a_missing_image_is_a_one_line_error_naming_it(tmp_path):
    with pytest.raises(InputError) as error:
        embedded_images("# R\n\n![p](../plots/projection.png)\n", tmp_path)
    message = str(error.value)
    assert "projection.png" in message and "\n" not in message


@pytest.mark.parametrize(
    "src",
    [
        "http://evil/x.png",
        "https://evil/x.png",
        "file:///etc/x.png",
        "//evil/x.png",
        "data:image/png;base64,AAAA",
        "javascript:alert(1)",
        "C:/plots/x.png",
        "x.png?size=2",
        "../plots/",
    ],
)
def test_embedded_images_refuses_anything_but_a_relative_file(tmp_path, src):
    (tmp_path / "x.png").write_bytes(PNG)
    with pytest.raises(InputError, match="relative"):
        embedded_images(f"![x]({src})\n", tmp_path)


def test_embedded_images_refuses_an_absolute_path(tmp_path):
    image = tmp_path / "x.png"
    image.write_bytes(PNG)
    with pytest.raises(InputError, match="relative"):
        embedded_images(f"![x](<{image.as_posix()}>)\n", tmp_path)


def test_two_images_with_one_file_name_are_refused(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.png").write_bytes(PNG)
    with pytest.raises(InputError, match="same file name"):
        embedded_images("![a](a/x.png) ![b](b/x.png)\n", tmp_path)


def test_the_pipeline_report_renders_with_its_plots():
    markdown = (ROOT / "reports" / "segments.md").read_text(encoding="utf-8")
    images = embedded_images(markdown, ROOT / "reports")
    assert images and all(data.startswith(b"\x89PNG") for data in images.values())
    page = report_html(markdown, images)
    doc = Document(page)
    ET.fromstring(page)
    assert len(doc.attributes("src")) == len(re.findall(r"!\[[^\]]*\]\(", markdown))
    assert all(src.startswith("data:image/png;base64,") for src in doc.attributes("src"))
    assert len(doc.ids()) == len(set(doc.ids())) == len(re.findall(r"(?m)^#{1,6} ", markdown))
    assert {href[1:] for href in doc.attributes("href")} <= set(doc.ids())
