"""One self-contained HTML file: the page (template, scripts, styles, vendored libraries) and a run's data.

It opens from file:// or any static host with no server and no network request, under its own strict CSP
(a <meta> tag: hashes for its own inline scripts and styles, module code only from blob: URLs it makes itself).
Built from whatever static/ holds: every module the page's entry scripts import, every worker they start.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import jinja2

_TAG = re.compile(r"<(link|script)\b([^>]*)>(\s*</script>)?", re.IGNORECASE)
_ATTR = re.compile(r"""([a-zA-Z-]+)\s*=\s*("[^"]*"|'[^']*')""")
_IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)(["'])(\.{1,2}/[^"'\n]+)\1""")
_WORKER = re.compile(r"""new\s+Worker\(\s*["']/static/([^"']+)["']""")
_META_URL = re.compile(r"""new\s+URL\(\s*["'](\.{1,2}/[^"'\n]+)["']\s*,\s*import\.meta\.url""")


def _static() -> Traversable:
    return resources.files("backprop_lens.static")


def _read(path: str) -> str:
    node = _static()
    for part in path.split("/"):
        node = node / part
    return node.read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def embed_json(value: Any) -> str:
    """JSON that cannot end its <script> element: every `<` escaped (names from user code are data)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def embed_packed(value: Any) -> str:
    """JSON gzipped and in base64 (no `<` can occur), unpacked by loader.js: a run's JSON repeats its keys and
    labels step after step, so the file is ~20x smaller (Lecture 04: 10 MB of JSON, 0.6 MB packed)."""
    raw = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return base64.b64encode(gzip.compress(raw, compresslevel=9, mtime=0)).decode("ascii")


def embedded_data(html: str) -> Any:
    """The data an exported file carries (what `page_html` packed): for tests and tools reading a file."""
    start = html.index('id="bl-data">') + len('id="bl-data">')
    return json.loads(gzip.decompress(base64.b64decode(html[start : html.index("</script>", start)])))


def modules_for(entries: list[str]) -> dict[str, str]:
    """Every module reachable from the entries by relative import, and every worker script they start."""
    found: dict[str, str] = {}
    todo = list(entries)
    while todo:
        path = todo.pop()
        if path in found:
            continue
        found[path] = source = _read(path)
        base = path.rsplit("/", 1)[0]
        for _, spec in _IMPORT.findall(source):
            todo.append(_join(base, spec))
        todo.extend(_WORKER.findall(source))
        todo.extend(_join(base, spec) for spec in _META_URL.findall(source))  # workers, assets next to a module
    return found


def _join(base: str, spec: str) -> str:
    parts = base.split("/") if base else []
    for piece in spec.split("/"):
        if piece == "..":
            parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def _attrs(text: str) -> dict[str, str]:
    return {k.lower(): v[1:-1] for k, v in _ATTR.findall(text)}


class _Inliner:
    """Rewrites the template's <link>/<script> tags to inline content, collecting hashes and entry modules."""

    def __init__(self) -> None:
        self.script_hashes: list[str] = []
        self.style_hashes: list[str] = []
        self.entries: list[str] = []

    def __call__(self, m: re.Match[str]) -> str:
        tag, attrs = m.group(1).lower(), _attrs(m.group(2))
        if tag == "link":
            return self._link(m.group(0), attrs)
        src = attrs.get("src", "")
        if not src.startswith("/static/"):
            return m.group(0)
        path = src.removeprefix("/static/")
        if attrs.get("type") == "module":
            self.entries.append(path)
            return ""
        return self.script(_read(path))

    def _link(self, original: str, attrs: dict[str, str]) -> str:
        href, rel = attrs.get("href", ""), attrs.get("rel", "")
        if not href.startswith("/static/"):
            return original
        path = href.removeprefix("/static/")
        if rel == "stylesheet":
            css = _read(path)
            self.style_hashes.append(_sha256(css))
            return f"<style>{css}</style>"
        data = base64.b64encode(_read(path).encode("utf-8")).decode()
        kind = "image/svg+xml" if path.endswith(".svg") else "application/octet-stream"
        return f'<link rel="{rel}" href="data:{kind};base64,{data}">'

    def script(self, code: str) -> str:
        self.script_hashes.append(_sha256(code))
        return f"<script>{code}</script>"


def csp(script_hashes: list[str], style_hashes: list[str]) -> str:
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {' '.join(script_hashes)} blob:",
            "worker-src blob:",
            f"style-src {' '.join(style_hashes)}",
            "img-src data: blob:",
            "connect-src blob: data:",
            "font-src data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


def page_html(data: dict[str, Any], title: str) -> str:
    """The page with `data` (see bundle.py) embedded: one HTML document, no external reference."""
    templates = resources.files("backprop_lens.templates")
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda n: (templates / n).read_text("utf-8")), autoescape=True
    )
    html = env.get_template("index.html").render(title=title, scenarios=[])
    # what needs a server says so (exporter.js); a file without its module views hides the chips (app.css)
    flags = "data-offline " if data.get("chips", True) else "data-offline data-no-chips "
    html = html.replace("<html ", "<html " + flags, 1)
    inliner = _Inliner()
    html = _TAG.sub(inliner, html)
    loader = (resources.files("backprop_lens.export") / "loader.js").read_text("utf-8")
    tail = (
        f'<script type="application/gzip" id="bl-data">{embed_packed(data)}</script>\n'
        f'<script type="application/gzip" id="bl-modules">{embed_packed(modules_for(inliner.entries))}</script>\n'
        f'<script type="application/json" id="bl-entries">{embed_json(inliner.entries)}</script>\n'
        + inliner.script(loader)
    )
    html = html.replace("</body>", tail + "\n</body>", 1)
    meta = f'<meta http-equiv="Content-Security-Policy" content="{csp(inliner.script_hashes, inliner.style_hashes)}">'
    return html.replace("<head>", "<head>\n  " + meta, 1)


def policy_of(html: str) -> str:
    """The CSP a page built by `page_html` carries in its <meta> tag (for servers that send it as a header)."""
    meta = html[html.index('http-equiv="Content-Security-Policy"') :]
    return meta[meta.index('content="') + len('content="') :].split('"', 1)[0]
