"""The Markdown report as one self-contained HTML file, for e-mail and the browser.

The Markdown is rendered with markdown-it-py (CommonMark and tables; raw HTML off, so text
from the data is always shown as text). The result loads nothing: figures are embedded as
``data:`` URIs, the style sheet is inline, and the only links kept are those to the
report's own headings, which get GitHub's anchors so the same ``#...`` links work on GitHub
and in the HTML.
"""

from __future__ import annotations

import base64
import html
import unicodedata
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bankseg.errors import InputError

IMAGE_TYPES = {
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
}

STYLE = """\
body { margin: 0; padding: 1rem; background: #ffffff; color: #1f2328;
  font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 16px; line-height: 1.5; }
.report { max-width: 60rem; margin: 0 auto; }
h1, h2, h3, h4, h5, h6 { line-height: 1.25; margin: 1.6em 0 0.6em; }
h1 { font-size: 1.8em; }
h2 { font-size: 1.4em; }
h1, h2 { padding-bottom: 0.3em; border-bottom: 1px solid #d0d7de; }
p, ul, ol, table, pre, blockquote { margin: 0 0 1em; }
a { color: #0969da; }
table { border-collapse: collapse; }
th, td { padding: 0.3em 0.75em; border: 1px solid #d0d7de; text-align: left; vertical-align: top; }
th { background: #eef1f4; font-weight: 600; }
tbody tr:nth-child(even) { background: #f6f8fa; }
th[style*="right"], td[style*="right"] { font-variant-numeric: tabular-nums; white-space: nowrap; }
img { display: block; max-width: 100%; height: auto; margin: 1em 0; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em;
  background: #f0f3f6; border-radius: 4px; }
code { padding: 0.1em 0.3em; }
pre { padding: 0.8em; overflow-x: auto; }
pre code { padding: 0; background: none; }
blockquote { padding: 0 1em; color: #59636e; border-left: 0.25em solid #d0d7de; }
hr { border: 0; border-top: 1px solid #d0d7de; }
@media (max-width: 40rem) {
  body { padding: 0.5rem; font-size: 15px; }
  th, td { padding: 0.25em 0.4em; }
}
"""


def report_html(markdown: str, images: dict[str, bytes], *, title: str = "Customer segments") -> str:
    """The report ``markdown`` as a standalone HTML document.

    ``images`` maps an image's file name (the last part of its path in the Markdown) to its
    bytes; each such image is embedded as a ``data:`` URI. Any other image is shown as its
    alt text, and any link that does not point to a heading of the report (``#...``) as its
    text. The output depends only on the arguments."""
    md = _markdown()
    env: dict = {}
    tokens = md.parse(markdown, env)
    _anchor_headings(tokens)
    for token in tokens:
        if token.type == "inline" and token.children:
            token.children = _safe_inline(md, token.children, images, env)
    body = md.renderer.render(tokens, md.options, env)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "<head>\n"
        '<meta charset="utf-8" />\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1" />\n'
        f"<title>{html.escape(title)}</title>\n"
        f"<style>\n{STYLE}</style>\n"
        "</head>\n"
        "<body>\n"
        '<div class="report">\n'
        f"{body}"
        "</div>\n"
        "</body>\n"
        "</html>\n"
    )


def embedded_images(markdown: str, folder: Path) -> dict[str, bytes]:
    """The images ``markdown`` shows, read from their paths relative to ``folder`` (the
    report's folder), by file name: the ``images`` argument of :func:`report_html`.

    Only relative file paths are accepted; an absolute path, a URL or a missing file is an
    :class:`InputError`."""
    found: dict[str, bytes] = {}
    paths: dict[str, str] = {}
    for src in _image_sources(_markdown().parse(markdown)):
        relative = _relative_file(src)
        if relative is None:
            raise InputError(f"report image {src!r}: only a file path relative to the report can be embedded")
        name = relative.name
        if name in paths:
            if paths[name] != str(relative):
                raise InputError(
                    f"report images {paths[name]} and {relative} have the same file name {name}; rename one"
                )
            continue
        path = Path(folder) / relative
        if not path.is_file():
            raise InputError(f"report image {path} not found (shown as {src} in the report); run dvc repro")
        paths[name] = str(relative)
        found[name] = path.read_bytes()
    return found


def heading_anchor(text: str) -> str:
    """GitHub's anchor for a heading's text, before duplicates are numbered: lowercase,
    punctuation and symbols removed (letters, digits, marks, ``_`` and ``-`` stay), each
    space a hyphen."""
    kept = (c for c in text.lower() if c in "- " or _word_character(c))
    return "".join(kept).replace(" ", "-")


def _word_character(c: str) -> bool:
    category = unicodedata.category(c)
    return category[0] in "LM" or category in ("Nd", "Nl", "Pc")


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    # Every link target is parsed as a link so it can be dropped whole (its text stays);
    # markdown-it would otherwise leave a refused link's source, target included, as text.
    md.validateLink = lambda url: True
    return md


def _anchor_headings(tokens: Sequence[Token]) -> None:
    """Give each heading GitHub's ``id``; a repeated one gets ``-1``, ``-2``, ... (as
    github-slugger numbers them, so ids stay unique)."""
    occurrences: dict[str, int] = {}
    for i, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        inline = tokens[i + 1]
        base = heading_anchor(_text_content(inline.children or []))
        anchor = base
        while anchor in occurrences:
            occurrences[base] += 1
            anchor = f"{base}-{occurrences[base]}"
        occurrences[anchor] = 0
        token.attrSet("id", anchor)


def _text_content(children: Sequence[Token]) -> str:
    """The text of rendered inline tokens, as a browser's ``textContent`` (an image has none)."""
    parts = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts)


def _safe_inline(md: MarkdownIt, children: list[Token], images: dict[str, bytes], env: dict) -> list[Token]:
    """Links to anything but a heading become their text; images become ``data:`` URIs, or
    their alt text when they are not in ``images``."""
    out: list[Token] = []
    kept_links: list[bool] = []
    for child in children:
        if child.type == "link_open":
            keep = str(child.attrGet("href") or "").startswith("#")
            kept_links.append(keep)
            if keep:
                out.append(child)
        elif child.type == "link_close":
            if kept_links.pop():
                out.append(child)
        elif child.type == "image":
            uri = _data_uri(str(child.attrGet("src") or ""), images)
            if uri is None:
                alt = md.renderer.renderInlineAsText(child.children or [], md.options, env)
                text = Token("text", "", 0)
                text.content = alt
                out.append(text)
            else:
                child.attrSet("src", uri)
                out.append(child)
        else:
            out.append(child)
    return out


def _data_uri(src: str, images: dict[str, bytes]) -> str | None:
    relative = _relative_file(src)
    if relative is None or relative.name not in images:
        return None
    kind = IMAGE_TYPES.get(relative.suffix.lower())
    if kind is None:
        return None
    return f"data:{kind};base64,{base64.b64encode(images[relative.name]).decode('ascii')}"


def _relative_file(src: str) -> PurePosixPath | None:
    """The relative file path an image source names, or None for a URL, an absolute path, or
    anything with a query or fragment."""
    parts = urlsplit(src)
    path = unquote(parts.path)
    if (
        not path
        or parts.scheme
        or parts.netloc
        or parts.query
        or parts.fragment
        or src.startswith(("/", "\\"))
        or path.startswith(("/", "\\"))
        or "\\" in path
        or "\x00" in path
        or path.endswith("/")
    ):
        return None
    relative = PurePosixPath(path)
    if relative.name in ("", ".", ".."):
        return None
    return relative


def _image_sources(tokens: Sequence[Token]) -> list[str]:
    sources = []
    for token in tokens:
        for child in token.children or []:
            if child.type == "image":
                sources.append(str(child.attrGet("src") or ""))
    return sources
