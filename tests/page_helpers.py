"""Browser-test fixtures: one real server (`python -m backprop_lens serve`) and one headless Chromium per session.

The server is polled on /healthz (never a fixed sleep). Chromium is Debian's (`CHROMIUM_PATH`, default
/usr/bin/chromium) driven by Playwright's Python package; without it the browser tests are skipped with the
reason. Screenshots go to artifacts/ (gitignored), kept as test artifacts.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

TOP = Path(__file__).resolve().parent.parent
ARTIFACTS = TOP / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
READY = "[data-testid=graph][data-ready='1']"
# what the page shows, read from its elements (tests drive and read the page through its UI, not its globals)
GRAPH_JS = "document.querySelector('[data-testid=graph]')"
STEP_JS = f"Number({GRAPH_JS}.dataset.step)"
VISIBLE_JS = f"""[...{GRAPH_JS}.querySelectorAll('svg text tspan, svg text')]
  .filter(t => !t.children.length && getComputedStyle(t).visibility !== 'hidden' && t.getClientRects().length)
  .map(t => t.textContent).join(' ')"""
TEXTS_JS = f"[...{GRAPH_JS}.querySelectorAll('svg text')].map(t => t.textContent)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not answer /healthz within {timeout:.0f} s")


@dataclass
class Server:
    base: str
    proc: subprocess.Popen[bytes]

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.base + path, timeout=60) as r:
            return r.read()


def start_server(log_path: Path | None = None) -> Server:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "backprop_lens", "serve", "--port", str(port)],
        cwd=TOP,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_healthy(base, proc)
    except Exception:
        proc.kill()
        proc.wait()
        raise
    return Server(base, proc)


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


def launch_browser(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def wait_js(page: Any, expression: str, timeout: float = 15_000) -> None:
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout / 1000:.0f} s waiting for {expression}")
        page.wait_for_timeout(40)


@dataclass
class PageSession:
    """A page plus what it did: JavaScript errors and requests, for assertions."""

    page: Any
    base: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    responses: list[str] = field(default_factory=list)  # "status url", for the diagnosis of a timeout

    @classmethod
    def attach(cls, page: Any, base: str) -> PageSession:
        """A session that records the page's JavaScript errors, requests and responses."""
        s = cls(page, base)
        page.on("pageerror", lambda e: s.errors.append(str(e)))
        page.on("request", lambda r: s.requests.append(r.url))
        page.on("response", lambda r: s.responses.append(f"{r.status} {r.url}"))
        return s

    def open(self, query: str = "", hash_: str = "lang=en&theme=light") -> None:
        url = f"{self.base}/{('?' + query) if query else ''}#{hash_}"
        self.page.goto(url)
        self.wait_selector(READY, timeout=60_000)

    def wait_selector(self, selector: str, timeout: float = 30_000) -> None:
        """wait_for_selector that, on timeout, says what the page showed and what it last asked the server."""
        try:
            self.page.wait_for_selector(selector, timeout=timeout)
        except Exception as e:
            if type(e).__name__ != "TimeoutError":
                raise
            raise AssertionError(f"{selector} did not appear within {timeout / 1000:.0f} s\n{self.diagnosis()}") from e

    def diagnosis(self) -> str:
        shown = self.page.evaluate(
            "(() => ['#progress-label', '#progress-elapsed', '#graph-empty', '#toast'].map((s) => {"
            " const el = document.querySelector(s);"
            " return `${s}: ${el ? el.textContent.trim() : '-'}`; }).join('\\n'))()"
        )
        graph = self.page.evaluate(f"JSON.stringify({GRAPH_JS}.dataset)")
        last = "\n".join(self.responses[-15:])
        return f"page shows:\n{shown}\ngraph: {graph}\nlast responses:\n{last}\nerrors: {self.errors}"

    def wait_step(self, k: int, phase: str | None = None) -> None:
        sel = f"[data-testid=graph][data-step='{k}']"
        if phase:
            sel += f"[data-phase='{phase}']"
        self.wait_selector(sel, timeout=15_000)

    def wait_js(self, expression: str, timeout: float = 15_000) -> None:
        """Wait until `expression` is true in the page. (Playwright's wait_for_function evaluates its text with
        eval, which the page's Content-Security-Policy forbids; evaluate goes through the debugger protocol.)"""
        wait_js(self.page, expression, timeout)

    def state(self) -> dict[str, Any]:
        """The view as the page shows it: the graph's data attributes and the controls."""
        return self.page.evaluate(
            f"(() => {{ const g = {GRAPH_JS}.dataset; return {{k: Number(g.step), phase: g.phase, "
            "reveal: g.reveal === '' ? null : Number(g.reveal), by: document.querySelector('[data-testid=by]').value, "
            "playing: document.querySelector('[data-testid=play]').getAttribute('aria-pressed') === 'true', "
            "theme: document.documentElement.dataset.theme, selected: g.selected || null, run: g.run}; })()"
        )

    def run_id(self) -> str:
        return str(self.state()["run"])

    def texts(self) -> list[str]:
        return list(self.page.evaluate(TEXTS_JS))

    def visible_graph_text(self) -> str:
        """The graph's text a student can see: what CSS hides (a pending gradient, a hidden label) left out."""
        return str(self.page.evaluate(VISIBLE_JS))

    def go(self, k: int, phase: str) -> None:
        """Go to a step and phase the way a pasted link does: through the URL's hash."""
        self.page.evaluate(
            "([k, p]) => { const h = new URLSearchParams(location.hash.slice(1)); h.set('step', k); "
            "h.set('phase', p); h.delete('reveal'); location.hash = h.toString(); }",
            [str(k), phase],
        )
        self.wait_step(k, phase)

    def step_json(self, k: int) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.base}/api/runs/{self.run_id()}/steps/{k}", timeout=60) as r:
            return dict(json.loads(r.read()))

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar would sit mid-picture otherwise
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(scope="session")
def page_server() -> Iterator[Server]:
    ARTIFACTS.mkdir(exist_ok=True)
    server = start_server(ARTIFACTS / "page-server.log")
    yield server
    stop_server(server)


# Module scope: Playwright's sync API keeps an event loop running in this thread while the browser lives, which
# would break any asyncio test that runs after the browser tests.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (set CHROMIUM_PATH, or `make system-test-tools`)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = launch_browser(p)
        yield b
        b.close()


@pytest.fixture
def session(browser: Any, page_server: Server) -> Iterator[PageSession]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True, locale="en-US")
    page = context.new_page()
    s = PageSession.attach(page, page_server.base)
    yield s
    context.close()
    assert not s.errors, f"JavaScript errors on the page: {s.errors}"
