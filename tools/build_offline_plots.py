"""Build tools/offline_plots.html: DVC's plots page with vega, vega-lite and vega-embed inlined.

DVC's own page loads the three chart libraries from a CDN, so ``dvc plots show`` and
``dvc plots diff`` draw nothing without internet. ``.dvc/config`` points
``plots.html_template`` at the page this script writes, which carries the libraries itself.

By default it bundles the versions DVC's own page loads (read from ``dvc_render``), fetched
with ``npm pack`` from the npm registry. Usage::

    python tools/build_offline_plots.py                 # versions DVC's page uses
    python tools/build_offline_plots.py --vega 5.20.2 --vega-lite 5.2.0 --vega-embed 6.18.2
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tools" / "offline_plots.html"
# npm package -> the browser build inside its tarball (the file the CDN serves for it)
BUILDS = {
    "vega": "package/build/vega.min.js",
    "vega-lite": "package/build/vega-lite.min.js",
    "vega-embed": "package/build/vega-embed.min.js",
}
# DVC fills these placeholders by plain text replacement, so no bundled script may contain them.
PLACEHOLDERS = ("{plot_divs}", "{scripts}", "{refresh_tag}")

PAGE = """<!DOCTYPE html>
<html>
<head>
    <meta charset="utf-8">
<!--
DVC plots page that works without internet (used through plots.html_template in .dvc/config).

It is DVC's default page (dvc_render PAGE_HTML) with the scripts placeholder replaced by the
chart libraries themselves, inlined below:
{versions}
Regenerate with: python tools/build_offline_plots.py   (needs npm and the npm registry)
Do not edit by hand. DVC puts the plots where the plot_divs placeholder in braces stands.

Licenses of the bundled libraries:
{licenses}
-->
    {{refresh_tag}}
    <title>DVC Plot</title>
{scripts}
    <style>
        table {{
            border-spacing: 15px;
        }}
    </style>
</head>
<body>
    {{plot_divs}}
</body>
</html>
"""


def dvc_versions() -> dict[str, str]:
    """The versions DVC's default page loads from the CDN."""
    from dvc_render.vega import VegaRenderer

    found = dict(re.findall(r"/npm/([a-z-]+)@([0-9.]+)", VegaRenderer.SCRIPTS))
    return {name: found[name] for name in BUILDS if name in found}


def npm_pack(name: str, version: str, workdir: Path) -> Path:
    result = subprocess.run(
        ["npm", "pack", "--silent", f"{name}@{version}"],
        cwd=workdir,
        check=True,
        capture_output=True,
        text=True,
    )
    return workdir / result.stdout.strip().splitlines()[-1]


def read_member(tarball: Path, member: str) -> str:
    with tarfile.open(tarball) as tar:
        extracted = tar.extractfile(member)
        if extracted is None:
            raise SystemExit(f"{tarball.name} has no file {member}")
        return extracted.read().decode("utf-8")


def inline_script(name: str, version: str, code: str) -> str:
    for placeholder in PLACEHOLDERS:
        if placeholder in code:
            raise SystemExit(f"{name}@{version} contains {placeholder}, which DVC would replace")
    # The page ships no source maps; drop the comment that would make devtools ask for one.
    code = re.sub(r"^//# sourceMappingURL=.*$", "", code, flags=re.MULTILINE)
    # An inline script ends at the first "</script"; keep any such text inside the code.
    code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)
    return f"    <script>/* {name}@{version} */\n{code.strip()}\n    </script>"


def build(versions: dict[str, str]) -> str:
    scripts, licenses = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name, member in BUILDS.items():
            version = versions[name]
            tarball = npm_pack(name, version, Path(tmp))
            scripts.append(inline_script(name, version, read_member(tarball, member)))
            license_text = read_member(tarball, "package/LICENSE").strip().replace("-->", "- ->")
            licenses.append(f"--- {name}@{version} ---\n{license_text}\n")
    listed = "\n".join(
        f"  {name}@{versions[name]}  ({BUILDS[name].removeprefix('package/')})" for name in BUILDS
    )
    return PAGE.format(versions=listed, licenses="\n".join(licenses), scripts="\n".join(scripts))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in BUILDS:
        parser.add_argument(f"--{name}", metavar="VERSION", help=f"{name} version (default: DVC's)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    versions = dvc_versions()
    for name in BUILDS:
        chosen = getattr(args, name.replace("-", "_"))
        if chosen:
            versions[name] = chosen
    missing = [name for name in BUILDS if name not in versions]
    if missing:
        parser.error(f"DVC's page names no version of {', '.join(missing)}: pass it")
    page = build(versions)
    args.output.write_text(page, encoding="utf-8")
    print(
        f"wrote {args.output} ({len(page.encode()):,} bytes): "
        + ", ".join(f"{n}@{v}" for n, v in versions.items())
    )


if __name__ == "__main__":
    main()
