"""The real headers in a real browser: the page and /docs work under the CSP the server sends (zero violations),
and text from the URL or from the server's error messages never becomes markup in the page."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests import page_helpers
from tests.page_helpers import ARTIFACTS, CHROMIUM, READY, STEP_JS, PageSession, Server


class BrowserThread:
    """Chromium driven from a thread of its own. Playwright's sync API refuses a thread whose asyncio loop is
    running, and a session-wide browser of another test module keeps one running in the main thread: here the
    tests do not depend on which modules ran before."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="chromium")
        self.call(self._start)

    def _start(self) -> None:
        from playwright.sync_api import sync_playwright

        self.playwright = sync_playwright().start()
        self.browser = page_helpers.launch_browser(self.playwright)

    def call(self, fn: Callable[[], None]) -> None:
        self.pool.submit(fn).result()

    def close(self) -> None:
        def stop() -> None:
            self.browser.close()
            self.playwright.stop()

        self.call(stop)
        self.pool.shutdown()


@pytest.fixture(scope="module")
def chromium() -> Iterator[BrowserThread]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (set CHROMIUM_PATH, or `make system-test-tools`)")
    pytest.importorskip("playwright.sync_api")
    thread = BrowserThread()
    yield thread
    thread.close()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    ARTIFACTS.mkdir(exist_ok=True)
    s = page_helpers.start_server(ARTIFACTS / "security-server.log")
    yield s
    page_helpers.stop_server(s)


@pytest.fixture
def in_browser(chromium: BrowserThread, server: Server) -> Callable[[Callable[[PageSession], None]], None]:
    """Run a check with a fresh page on the real server, in the browser's thread; JavaScript errors fail it."""

    def run(check: Callable[[PageSession], None]) -> None:
        def body() -> None:
            context = chromium.browser.new_context(
                viewport={"width": 1440, "height": 900}, accept_downloads=True, locale="en-US"
            )
            s = PageSession(context.new_page(), server.base)
            s.page.on("pageerror", lambda e: s.errors.append(str(e)))
            try:
                check(s)
            finally:
                context.close()
            assert not s.errors, f"JavaScript errors on the page: {s.errors}"

        chromium.call(body)

    return run


# Records violations, and whether an injected handler ran. An init script runs whatever the page's CSP says.
LISTENER = """window.__csp = []; window.__pwned = 0;
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(
  `${e.violatedDirective} ${e.blockedURI} ${e.sample} ${e.sourceFile}:${e.lineNumber}`));"""
EVIL = "<img src=x onerror=window.__pwned=1><script>window.__pwned=2</script>\"'&"


def watch(s: PageSession) -> list[str]:
    errors: list[str] = []
    s.page.add_init_script(LISTENER)
    s.page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def poll(page: Any, expression: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(50)


def csp_of(s: PageSession, path: str) -> str:
    response = s.page.goto(s.base + path)
    assert response is not None
    return response.headers["content-security-policy"]


def check_the_page_works_under_the_servers_own_csp(session: PageSession) -> None:
    errors = watch(session)
    assert "script-src 'self';" in csp_of(session, "/")
    session.open(query="scenario=two_layer", hash_="lang=en&theme=light")
    page = session.page
    for k in (1, 2):
        page.get_by_test_id("step-next").click()
        session.wait_step(k)
    page.locator("[data-testid=graph] g.node").first.click()
    with page.expect_download() as png:
        page.click("#export-png")  # the SVG drawn into a canvas via a blob: URL
    assert png.value.suggested_filename.endswith(".png")
    page.get_by_test_id("speed").select_option("120")
    page.get_by_test_id("play").click()
    poll(page, f"{STEP_JS} >= 12")
    page.get_by_test_id("play").click()
    page.get_by_test_id("theme-toggle").click()
    page.get_by_test_id("classroom").click()
    assert page.evaluate("window.__csp") == []
    assert [e for e in errors if "Content Security Policy" in e] == []
    # the policy is live: inline style that the page itself never uses is refused
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<i style=\"color:red\">x</i>')")
    poll(page, "window.__csp.length > 0")


def check_docs_work_under_their_own_csp(session: PageSession) -> None:
    errors = watch(session)
    csp = csp_of(session, "/docs")
    assert "'sha256-" in csp and "unsafe" not in csp
    page = session.page
    page.locator(".opblock-summary-path", has_text="/healthz").first.click()
    page.get_by_text("Try it out").click()
    page.get_by_text("Execute").click()
    page.locator(".response .highlight-code", has_text='"ok"').first.wait_for(timeout=15_000)
    assert page.evaluate("window.__csp") == []
    assert [e for e in errors if "Content Security Policy" in e] == []


def check_a_standalone_svg_runs_nothing(session: PageSession) -> None:
    errors = watch(session)
    status, body = post_run(session.base, {"scenario": "lecture04", "params": {"epochs": 1}})
    assert status == 201
    csp = csp_of(session, f"/api/runs/{body['id']}/steps/0/graph.svg")
    assert csp.startswith("default-src 'none'")
    assert session.page.evaluate("window.__csp") == []
    assert session.page.locator("svg g.node").count() > 0
    assert errors == []


def post_run(base: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(
        f"{base}/api/runs", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def injected(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """({pwned: window.__pwned,
             imgs: [...document.querySelectorAll('img')].filter(i => (i.getAttribute('src') || '') === 'x').length,
             scripts: [...document.scripts].filter(s => !s.src).length,
             handlers: [...document.querySelectorAll('*')].filter(
               el => [...el.attributes].some(a => a.name.startsWith('on'))).length})"""
    )


def check_markup_in_the_url_stays_text(session: PageSession) -> None:
    """A shared link whose custom expression carries markup (after a `#`, which the server refuses): the page
    shows the text in the field and in the refusal, builds no element from it, runs nothing."""
    watch(session)
    query = urllib.parse.urlencode({"scenario": "custom", "model": "w1*x*x + w2*x + b  # " + EVIL, "epochs": "1"})
    page = session.page
    page.goto(f"{session.base}/?{query}#lang=en")
    # the server refuses the `#` (comments are not expressions): the text comes back in the form, as text
    page.get_by_test_id("param-model-error").wait_for(timeout=30_000)
    assert page.get_by_test_id("param-model").input_value().endswith(EVIL)
    assert page.get_by_test_id("param-model-where").inner_text().endswith(EVIL)
    assert injected(page) == {"pwned": 0, "imgs": 0, "scripts": 0, "handlers": 0}


def check_markup_in_error_messages_stays_text(session: PageSession) -> None:
    """The server's 422 names the offending text; the page shows that message as text, next to the field."""
    watch(session)
    # "name=number" pairs split at spaces and commas: a pair without either whose number is not a number is quoted
    # back in the message, markup and all
    pair = "<img/src=x/onerror=window.__pwned=1>=1"
    query = urllib.parse.urlencode({"scenario": "custom", "params": pair, "epochs": "1"})
    page = session.page
    page.goto(f"{session.base}/?{query}#lang=en")
    page.locator("[data-testid$='-error']:visible").first.wait_for(timeout=30_000)
    shown = " ".join(page.locator("[data-testid$='-error']:visible").all_inner_texts())
    assert pair in shown, shown  # the text itself, visible
    assert injected(page) == {"pwned": 0, "imgs": 0, "scripts": 0, "handlers": 0}
    assert page.locator(READY).count() in (0, 1)


def test_the_page_works_under_the_servers_own_csp(in_browser: Callable[[Callable[[PageSession], None]], None]) -> None:
    in_browser(check_the_page_works_under_the_servers_own_csp)


def test_docs_work_under_their_own_csp(in_browser: Callable[[Callable[[PageSession], None]], None]) -> None:
    in_browser(check_docs_work_under_their_own_csp)


def test_a_standalone_svg_runs_nothing(in_browser: Callable[[Callable[[PageSession], None]], None]) -> None:
    in_browser(check_a_standalone_svg_runs_nothing)


def test_markup_in_the_url_stays_text(in_browser: Callable[[Callable[[PageSession], None]], None]) -> None:
    in_browser(check_markup_in_the_url_stays_text)


def test_markup_in_error_messages_stays_text(in_browser: Callable[[Callable[[PageSession], None]], None]) -> None:
    in_browser(check_markup_in_error_messages_stays_text)
