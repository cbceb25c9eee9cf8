"""Security headers by response type, and input that must never come back as markup (in process)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from backprop_lens.web.security import DATA_CSP, PAGE_CSP, SVG_CSP
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
EVIL = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&"
COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


def directives(csp: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in csp.split(";"):
        name, *values = part.split()
        assert name not in out, f"directive {name} twice in {csp!r}"
        out[name] = values
    return out


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    """A synchronous in-process client: Starlette's TestClient runs the app's event loop in a thread of its own,
    so these tests do not depend on the state of this thread's loop (a session-wide browser keeps one running)."""
    with TestClient(app, base_url="http://test") as c:
        yield c


@pytest.fixture
def run_id(client: TestClient) -> str:
    r = client.post("/api/runs", json={"scenario": "lecture04", "params": {"epochs": 1}})
    assert r.status_code == 201
    return r.json()["id"]


def assert_common(r: Any, *, framable: bool = False) -> None:
    for name, value in COMMON.items():
        assert r.headers.get(name) == value, (r.url, name, r.headers.get(name))
    assert r.headers.get("x-frame-options") == (None if framable else "DENY"), r.url
    assert len(r.headers.get_list("content-security-policy")) == 1, r.url


# ---------------------------------------------------------------------------------------------------- policies


def test_page_policy_is_strict() -> None:
    d = directives(PAGE_CSP)
    for name, expected in {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }.items():
        assert d[name] == expected, name
    assert set(d["img-src"]) == {"'self'", "data:", "blob:"}
    assert set(d["worker-src"]) == {"'self'", "blob:"}
    assert "unsafe" not in PAGE_CSP and "*" not in PAGE_CSP and "http" not in PAGE_CSP


def test_svg_and_data_policies_load_nothing() -> None:
    assert directives(SVG_CSP) == {"default-src": ["'none'"], "style-src": ["'unsafe-inline'"]}
    assert directives(DATA_CSP) == {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}


# ---------------------------------------------------------------------------------------------- per route type


def test_page_headers(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert_common(r)
    assert r.headers["content-security-policy"] == PAGE_CSP


def test_docs_has_its_own_policy_that_allows_only_its_inline_script_by_hash(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200
    assert_common(r)
    csp = r.headers["content-security-policy"]
    d = directives(csp)
    assert "unsafe-eval" not in csp and "'unsafe-inline'" not in d["script-src"]
    inline = re.findall(r"<script>(.*?)</script>", r.text, re.S)
    assert inline, "Swagger UI's page starts itself with one inline script"
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in d["script-src"]
    assert d["object-src"] == ["'none'"] and d["frame-ancestors"] == ["'none'"] and d["base-uri"] == ["'none'"]
    assert d["connect-src"] == ["'self'"]  # "Try it out" talks to this server only
    assert "validatorUrl" in r.text  # no badge that would send the spec's URL to a third-party validator


def test_docs_is_offline_when_swagger_ui_is_vendored(app_factory: Any, tmp_path: Path) -> None:
    vendor = tmp_path / "vendor" / "swagger-ui"
    vendor.mkdir(parents=True)
    (vendor / "swagger-ui-bundle.js").write_text("// bundle")
    (vendor / "swagger-ui.css").write_text("/* css */")
    with TestClient(app_factory(static_dir=tmp_path)) as c:
        r = c.get("/docs")
    assert "http" not in r.headers["content-security-policy"]  # no other host may serve anything
    assert re.search(r"https?://", r.text) is None, "the vendored docs page names no other host"


@pytest.mark.parametrize(
    ("path", "media"),
    [
        ("/healthz", "application/json"),
        ("/openapi.json", "application/json"),
        ("/api/scenarios", "application/json"),
        ("/api/runs/{id}", "application/json"),
        ("/api/runs/{id}/log", "text/plain"),
        ("/api/runs/{id}/steps/0", "application/json"),
        ("/api/runs/{id}/steps?start=0&stop=2", "application/json"),
        ("/api/runs/{id}/steps/0/graph.json", "application/json"),
        ("/api/runs/{id}/steps/0/graph.dot", "text/vnd.graphviz"),
        ("/api/runs/{id}/steps/9999", "application/json"),  # 404
        ("/api/runs/nope", "application/json"),  # 404
        ("/api/runs/{id}/steps/0/graph.svg?phase=sideways", "application/json"),  # 422
        ("/static/css/app.css", "text/css"),
    ],
)
def test_data_headers(client: TestClient, run_id: str, path: str, media: str) -> None:
    r = client.get(path.format(id=run_id))
    assert r.headers["content-type"].split(";")[0] == media
    assert_common(r)
    assert r.headers["content-security-policy"] == DATA_CSP


def test_error_responses_carry_the_headers(client: TestClient) -> None:
    r413 = client.post("/api/runs", content=b"x" * (65 * 1024), headers={"content-type": "application/json"})
    r405 = client.delete("/healthz")
    r422 = client.post("/api/runs", json={"scenario": "lecture04", "params": {"lr": -1}})
    for r, status in ((r413, 413), (r405, 405), (r422, 422)):
        assert r.status_code == status
        assert_common(r)
        assert r.headers["content-security-policy"] == DATA_CSP


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_images_may_be_framed_by_slides(client: TestClient, run_id: str, fmt: str) -> None:
    r = client.get(f"/api/runs/{run_id}/steps/0/graph.{fmt}")
    assert r.status_code == 200
    assert_common(r, framable=True)
    assert r.headers["content-security-policy"] == (SVG_CSP if fmt == "svg" else DATA_CSP)


def test_javascript_carries_the_page_policy_its_worker_runs_under(client: TestClient) -> None:
    r = client.get("/static/js/history-worker.js")
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert r.headers["content-security-policy"] == PAGE_CSP


def test_304_keeps_the_headers(client: TestClient, run_id: str) -> None:
    first = client.get(f"/api/runs/{run_id}/steps/0")
    r = client.get(f"/api/runs/{run_id}/steps/0", headers={"If-None-Match": first.headers["etag"]})
    assert r.status_code == 304
    for name, value in COMMON.items():
        assert r.headers[name] == value


# ------------------------------------------------------------------------------------------ the page's markup


class _Scan(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts: list[str] = []
        self.handlers: list[tuple[str, str]] = []
        self.style_attrs: list[str] = []
        self.style_elements = 0
        self.javascript_urls: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self._in_script = "src" not in a
        if tag == "style":
            self.style_elements += 1
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.handlers.append((tag, name))
            if name.lower() == "style":
                self.style_attrs.append(tag)
            if value and value.strip().lower().startswith("javascript:"):
                self.javascript_urls.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline_scripts.append(data)


def test_the_page_has_no_inline_script_handler_or_style(client: TestClient) -> None:
    """What the strict CSP would block: inline <script>, on*= handlers, javascript: URLs, inline styles."""
    r = client.get("/")
    scan = _Scan()
    scan.feed(r.text)
    assert [s for s in scan.inline_scripts if s.strip()] == []
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", r.text) == []  # even an empty inline one
    assert scan.handlers == []
    assert scan.javascript_urls == []
    assert scan.style_attrs == [] and scan.style_elements == 0


def test_static_files_hold_no_eval() -> None:
    """'unsafe-eval' is not in the policy: our own scripts must not need it (vendored ones are checked in the
    browser test, under the real policy)."""
    for path in sorted((ROOT / "static" / "js").glob("*.js")):
        text = path.read_text()
        assert re.search(r"\beval\s*\(|new\s+Function\s*\(|set(?:Timeout|Interval)\s*\(\s*['\"`]", text) is None, path


# ---------------------------------------------------------------------------------------- nothing echoed raw


def test_the_page_does_not_reflect_its_query(client: TestClient) -> None:
    plain = client.get("/")
    evil = client.get("/", params={"scenario": EVIL, "model": EVIL, EVIL: EVIL})
    assert evil.status_code == 200
    assert evil.content == plain.content  # the URL state is read by the page's script, never by the template


def test_a_comment_cannot_carry_markup_into_an_expression(client: TestClient) -> None:
    """A comment was the one place an accepted expression could carry arbitrary text: comments are refused, and
    the refusal names the column, not the text."""
    model = "w1*x*x + w2*x + b  # " + EVIL
    r = client.post("/api/runs", json={"scenario": "custom", "params": {"model": model, "epochs": 1}})
    assert r.status_code == 422 and r.headers["content-type"] == "application/json"
    assert r.json()["detail"][0]["field"] == "model" and "column 20" in r.json()["message"]
    for needle in ("<script", "<img", "onerror", "alert("):
        assert needle not in r.text


@pytest.mark.parametrize(
    "body",
    [
        {"scenario": EVIL},
        {"scenario": "lecture04", "params": {EVIL: 1}},
        {"scenario": "lecture04", "params": {"lr": EVIL}},
        {"scenario": "custom", "params": {"model": EVIL}},
        {"scenario": "custom", "params": {"model": "w1*x + " + EVIL}},
        {"scenario": "custom", "params": {"loss": "(y_hat - y)**2 " + EVIL}},
        {"scenario": "custom", "params": {"params": {EVIL: 1.0}}},
        {"scenario": "custom", "params": {"params": EVIL}},
        {"scenario": "custom", "params": {"params": [EVIL]}},
        {EVIL: EVIL},
    ],
)
def test_errors_echo_input_only_as_json(client: TestClient, body: dict[str, Any]) -> None:
    r = client.post("/api/runs", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == DATA_CSP
    data = r.json()  # well-formed JSON whatever the input: a string stays inside its string
    assert data["detail"] and isinstance(data["message"], str)


@pytest.mark.parametrize(
    "path",
    [
        "/api/runs/<script>alert(1)</script>",
        "/api/runs/lecture04~%3Cscript%3E/steps/0",
        "/api/runs/x/steps/%3Cimg%20src=x%3E",
        "/api/runs/x/steps/0/graph.%3Cscript%3E",
        "/%3Cscript%3Ealert(1)%3C/script%3E",
    ],
)
def test_bad_urls_answer_json_never_html(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code in (404, 422), (path, r.status_code)
    assert r.headers["content-type"] == "application/json"
    assert r.headers["content-security-policy"] == DATA_CSP
    r.json()


def test_no_page_loads_from_another_host(client: TestClient) -> None:
    """FastAPI's ReDoc page would pull its script from a CDN: it is switched off (404), /docs is the one UI."""
    assert (client.get("/redoc")).status_code == 404
    for path in ("/", "/docs"):
        assert re.search(r"(src|href)=\"https?://", (client.get(path)).text) is None, path


def test_a_bug_answers_500_json_with_the_headers(app_factory: Any) -> None:
    """An unexpected exception is answered outside the middleware stack: it still carries the headers."""
    app = app_factory()

    def boom() -> None:
        raise RuntimeError("<script>secret</script>")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom")
    assert r.status_code == 500 and r.headers["content-type"] == "application/json"
    assert_common(r)
    assert r.headers["content-security-policy"] == DATA_CSP
    assert "secret" not in r.text  # no exception text, no traceback
