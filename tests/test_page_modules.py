"""Module chips on a graph the server opens collapsed (issue 13): pressed = drawn as one box, as the server drew
it; a click on a box opens exactly that module (`expand=`), a click on an open module draws it as one box,
"expand all" is `expand=*`; all of it in the URL.

The web app serves built-in scenarios only, and none of them is over the server's size threshold, so this module
starts its own server with the threshold lowered to 8 nodes: two_layer's 12-node graph then opens collapsed by
the server's own rule (`render.view.make_view`), as a big traced model's does. The page is told nothing about the
threshold: what is collapsed, it reads from the pictures the server sends."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from tests import page_helpers
from tests.page_helpers import ARTIFACTS, GRAPH_JS, TOP, PageSession, Server

browser = page_helpers.browser
SVG_NS = "{http://www.w3.org/2000/svg}"

# the server with a lower threshold: every graph of more than 8 nodes opens collapsed
SERVE = """import sys
import backprop_lens.render.collapse as collapse
import backprop_lens.render.view as view
collapse.LIMIT = view.LIMIT = 8
from backprop_lens.cli import main
sys.exit(main(["serve", "--port", sys.argv[1]]))
"""
BOXES_JS = f"[...{GRAPH_JS}.querySelectorAll('svg g.node[data-kind=module]')].map(g => g.dataset.module).sort()"
PRESSED_JS = """Object.fromEntries([...document.querySelectorAll('#modules-list .chip')]
  .map(b => [b.dataset.module, b.getAttribute('aria-pressed') === 'true']))"""
HASH_JS = "Object.fromEntries(new URLSearchParams(location.hash.slice(1)))"


@pytest.fixture(scope="module")
def small_limit_server() -> Iterator[Server]:
    port = page_helpers.free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    with open(ARTIFACTS / "page-server-modules.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-c", SERVE, str(port)], cwd=TOP, stdout=log, stderr=subprocess.STDOUT)
        server = Server(f"http://127.0.0.1:{port}", proc)
        try:
            page_helpers.wait_healthy(server.base, proc)
            yield server
        finally:
            page_helpers.stop_server(server)


@pytest.fixture
def modules_session(browser: Any, small_limit_server: Server) -> Iterator[PageSession]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
    s = PageSession.attach(context.new_page(), small_limit_server.base)
    yield s
    context.close()
    assert not s.errors, f"JavaScript errors on the page: {s.errors}"


def server_svg(s: PageSession, **query: str) -> ET.Element:
    q = urllib.parse.urlencode({"phase": "backward", "theme": "light", "lang": "en", **query})
    with urllib.request.urlopen(f"{s.base}/api/runs/{s.run_id()}/steps/3/graph.svg?{q}", timeout=60) as r:
        return ET.fromstring(r.read())


def server_boxes(root: ET.Element) -> list[str]:
    return sorted(g.get("data-module", "") for g in root.iter(f"{SVG_NS}g") if g.get("data-kind") == "module")


def wait_boxes(s: PageSession, want: list[str]) -> None:
    """The page's picture has exactly these module boxes, and each chip is pressed exactly for them."""
    s.wait_js(f"JSON.stringify({BOXES_JS}) === {json.dumps(json.dumps(sorted(want), separators=(',', ':')))}")
    pressed = s.page.evaluate(PRESSED_JS)
    assert pressed == {m: m in want for m in pressed}, (want, pressed)


def test_chips_follow_what_the_server_draws_and_open_exactly_one_module(modules_session: PageSession) -> None:
    s = modules_session
    page = s.page
    s.open("scenario=two_layer", "lang=en&theme=light&step=3&phase=backward")
    first = server_boxes(server_svg(s))
    assert {"layer1", "layer2"} <= set(first)  # the server opens this graph collapsed, nobody asked it to
    assert set(page.evaluate(PRESSED_JS)) >= {"layer1", "layer2"}
    wait_boxes(s, first)  # the chips say so: pressed = drawn as one box
    hash_ = page.evaluate(HASH_JS)
    assert "collapse" not in hash_ and "expand" not in hash_  # the page asked for nothing
    assert page.get_by_test_id("modules-all").inner_text() == "expand all"

    # a click on a box opens exactly that module; the others stay boxes, as the server draws expand=layer1
    page.get_by_test_id("module-layer1").click()
    s.wait_js("new URLSearchParams(location.hash.slice(1)).get('expand') === 'layer1'")
    want = server_boxes(server_svg(s, expand="layer1"))
    assert "layer1" not in want and "layer2" in want
    wait_boxes(s, want)
    assert "collapse" not in page.evaluate(HASH_JS)
    want_texts = ["".join(t.itertext()) for t in server_svg(s, expand="layer1").iter(f"{SVG_NS}text")]
    s.wait_js(f"{page_helpers.TEXTS_JS}.length === {len(want_texts)}")
    assert s.texts() == want_texts  # the page's picture is the server's, string for string
    s.shot("page-modules-expanded-one.png")

    # closing it again goes back to the server's first view
    page.get_by_test_id("module-layer1").click()
    s.wait_js("!location.hash.includes('expand=')")
    wait_boxes(s, first)

    # expand all: everything open, in the URL as expand=*
    page.get_by_test_id("modules-all").click()
    s.wait_js("new URLSearchParams(location.hash.slice(1)).get('expand') === '*'")
    wait_boxes(s, [])
    assert page.get_by_test_id("modules-all").inner_text() == "collapse all"

    # a click on an open module draws it (and only it) as one box; a reload keeps the view
    page.get_by_test_id("module-layer2").click()
    s.wait_js("new URLSearchParams(location.hash.slice(1)).get('collapse') === 'layer2'")
    assert "expand" not in page.evaluate(HASH_JS)
    wait_boxes(s, ["layer2"])
    page.reload()
    s.wait_selector("[data-testid=graph][data-ready='1']")
    wait_boxes(s, ["layer2"])

    # a click on a module's box in the graph opens it too
    page.locator(f"{page_helpers.READY} svg g.node[data-kind=module][data-module='layer2']").click()
    s.wait_js("new URLSearchParams(location.hash.slice(1)).get('expand') === 'layer2'")
    wait_boxes(s, server_boxes(server_svg(s, collapse="layer2", expand="layer2")))
