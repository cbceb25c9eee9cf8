"""The page on every screen, in Chromium against a real server: layout per size, the timeline's fixed geometry,
the inspector beside the graph, readable text at Fit, the page's graph equal to the server's SVG in both
languages, no overlapping text, the walk hiding what is not computed, accessibility (axe-core)."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from tests import page_helpers
from tests.page_helpers import ARTIFACTS, GRAPH_JS, TOP, PageSession, Server

browser = page_helpers.browser
page_server = page_helpers.page_server

SIZES = [(390, 844), (1024, 768), (1280, 720), (1440, 900)]
READY_GRAPH = "[data-testid=graph]"
SVG_NS = "{http://www.w3.org/2000/svg}"
AXE = TOP / "static" / "vendor" / "axe-core-4.14.1.min.js"

# the smallest graph text as drawn, in CSS pixels: each sized element's font size times its screen scale
MIN_TEXT_PX_JS = f"""(() => {{ let m = Infinity;
  for (const el of {GRAPH_JS}.querySelectorAll('svg [font-size]')) {{
    if (!el.textContent.trim() || !el.getBoundingClientRect().width) continue;
    m = Math.min(m, Number(el.getAttribute('font-size')) * el.getScreenCTM().a);
  }} return m; }})()"""
# pairs of graph texts whose boxes overlap by more than half a pixel each way
OVERLAPS_JS = f"""(() => {{
  const boxes = [...{GRAPH_JS}.querySelectorAll('svg text')].filter(t => t.textContent.trim())
    .map(t => [t.textContent, t.getBoundingClientRect()]).filter(([, r]) => r.width && r.height);
  const out = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {{
    const [a, r] = boxes[i], [b, s] = boxes[j];
    const w = Math.min(r.right, s.right) - Math.max(r.left, s.left);
    const h = Math.min(r.bottom, s.bottom) - Math.max(r.top, s.top);
    if (w > 0.5 && h > 0.5) out.push([a, b]);
  }} return out; }})()"""
# every <text>/<title> of the drawn graph, and where each text element sits
SVG_PARTS_JS = f"""(() => {{ const svg = {GRAPH_JS}.querySelector('svg');
  return {{ texts: [...svg.querySelectorAll('text')].map(t => t.textContent),
           titles: [...svg.querySelectorAll('title')].map(t => t.textContent),
           places: [...svg.querySelectorAll('text, tspan')].map(t => [t.getAttribute('x'), t.getAttribute('y')]) }};
}})()"""
BOX_JS = (
    "(sel) => { const r = document.querySelector(sel).getBoundingClientRect(); "
    "return [r.x, r.width, r.top, r.bottom]; }"
)


@pytest.fixture
def at_size(browser: Any, page_server: Server) -> Iterator[Any]:
    """open(width, height, query, hash) -> a PageSession at that size (fresh context each time)."""
    contexts: list[Any] = []
    sessions: list[PageSession] = []

    def open_(width: int, height: int, query: str = "", hash_: str = "lang=en&theme=light") -> PageSession:
        context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
        contexts.append(context)
        s = PageSession.attach(context.new_page(), page_server.base)
        sessions.append(s)
        s.open(query, hash_)
        return s

    yield open_
    for c in contexts:
        c.close()
    errors = [e for s in sessions for e in s.errors]
    assert not errors, f"JavaScript errors on the page: {errors}"


def server_svg(base: str, run: str, k: int, phase: str, lang: str, collapse: str) -> ET.Element:
    query = urllib.parse.urlencode(
        {"phase": phase, "theme": "light", "lang": lang, **({"collapse": collapse} if collapse else {})}
    )
    with urllib.request.urlopen(f"{base}/api/runs/{run}/steps/{k}/graph.svg?{query}", timeout=60) as r:
        return ET.fromstring(r.read())


def svg_parts(root: ET.Element) -> dict[str, list[Any]]:
    return {
        "texts": ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")],
        "titles": ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}title")],
        "places": [[e.get("x"), e.get("y")] for e in root.iter() if e.tag in (f"{SVG_NS}text", f"{SVG_NS}tspan")],
    }


def test_timeline_and_inspector_at_every_size(at_size: Any) -> None:
    for width, height in SIZES:
        s = at_size(width, height)
        page = s.page
        boxes = []
        for k in (0, 150, 299):
            s.go(k, "backward")
            boxes.append(page.evaluate(BOX_JS, "[data-testid=timeline]")[:2])
        # the same pixel is the same step at every step
        assert boxes[0] == boxes[1] == boxes[2], (width, boxes)
        assert boxes[0][1] >= (250 if width < 500 else 400), (width, boxes)
        s.go(2, "backward")
        page.locator("svg g.node[data-node-id='op:2']").click()
        chain = page.locator("[data-testid=inspector] .chain-row").first
        chain.wait_for()
        page.wait_for_timeout(100)
        _, _, top, bottom = page.evaluate(BOX_JS, "[data-testid=inspector] .chain-row")
        assert top >= 0 and bottom <= height, (width, top, bottom)
        # the step's explanation of the node is on screen too (the panel, or the inspector's own lines)
        said = page.locator("[data-testid=inspector-explain]")
        assert said.is_visible() and "16.23" not in said.inner_text()  # the node's lines, not w's
        _, _, stop, sbottom = page.evaluate(BOX_JS, "[data-testid=inspector-explain]")
        assert stop >= 0 and sbottom <= height, (width, stop, sbottom)
        # the graph is on screen beside them
        _, _, gtop, _ = page.evaluate(BOX_JS, "[data-testid=graph]")
        assert gtop < height / 2, (width, gtop)
        page.screenshot(path=str(ARTIFACTS / f"layout-{width}x{height}.png"))


def test_graph_text_is_readable_at_fit(at_size: Any, page_server: Server) -> None:
    """Every built-in scenario reads at >= 9 px at Fit at 1280x720 (compact boxes; a graph of modules too wide for
    that opens with its modules collapsed), and presenter mode's Lecture 04 at >= 20 px (its larger style)."""
    with urllib.request.urlopen(f"{page_server.base}/api/scenarios") as r:
        scenarios = [sc["id"] for sc in json.loads(r.read())]
    assert len(scenarios) >= 9, scenarios
    small = {}
    for scenario in scenarios:
        s = at_size(1280, 720, f"scenario={scenario}", "lang=en&theme=light&step=1")
        s.page.wait_for_timeout(300)
        small[scenario] = s.page.evaluate(MIN_TEXT_PX_JS)
    assert all(px >= 9 for px in small.values()), small
    # a phone held upright gets the graph laid out tall (fit=tall): Lecture 04 top-down, 2.5x the strip's text
    s = at_size(390, 844, "scenario=lecture04", "lang=en&theme=light&step=1")
    s.page.wait_for_timeout(300)
    box = s.page.evaluate(
        f"(() => {{ const r = {GRAPH_JS}.querySelector('svg g.node').parentNode.getBBox(); "
        "return [r.width, r.height]; })()"
    )
    assert box[0] / box[1] < 1.2, box
    assert s.page.evaluate(MIN_TEXT_PX_JS) >= 7
    for lang in ("en", "zh"):
        s = at_size(1280, 720, "scenario=lecture04", f"lang={lang}&theme=light&step=1&classroom=1")
        s.wait_selector(f"{READY_GRAPH}[data-lang='{lang}']")
        s.page.wait_for_timeout(300)
        presenter = s.page.evaluate(MIN_TEXT_PX_JS)
        assert presenter >= 20, (lang, presenter)
        assert s.page.evaluate(OVERLAPS_JS) == [], lang


def test_the_page_draws_what_the_server_draws_in_both_languages(at_size: Any, page_server: Server) -> None:
    """Every scenario at three steps and three phases, in en and zh: every <text> and <title> of the page's graph
    and the place of every text element equal the server's SVG of that step; no two texts overlap."""
    with urllib.request.urlopen(f"{page_server.base}/api/scenarios") as r:
        scenarios = [sc["id"] for sc in json.loads(r.read())]
    s = at_size(1280, 720)
    page = s.page
    for scenario in scenarios:
        for lang in ("en", "zh"):
            s.open(f"scenario={scenario}", f"lang={lang}&theme=light")
            s.wait_selector(f"[data-testid=graph][data-lang='{lang}']")
            with urllib.request.urlopen(f"{page_server.base}/api/runs/{s.run_id()}") as r:
                total = json.loads(r.read())["steps"]
            for k in sorted({0, total // 2, total - 1}):
                for phase in ("forward", "backward", "update"):
                    s.go(k, phase)
                    collapse = page.evaluate("new URLSearchParams(location.hash.slice(1)).get('collapse') || ''")
                    want = svg_parts(server_svg(page_server.base, s.run_id(), k, phase, lang, collapse))
                    mine = page.evaluate(SVG_PARTS_JS)
                    if mine != want:  # a template of a new shape may be on its way
                        page.wait_for_timeout(500)
                        mine = page.evaluate(SVG_PARTS_JS)
                    assert mine == want, (scenario, lang, k, phase)
                    assert page.evaluate(OVERLAPS_JS) == [], (scenario, lang, k, phase)


# English words of the interface that the zh page must not show (identifiers such as `w`, `y_hat`, `loss` as a
# variable's name, or `MulBackward0` stay as they are; the training log is the script's own output)
ENGLISH_UI_WORDS = ["value", "grad", "data", "param", "progress", "upstream", "downstream", "local", "update",
                    "step", "epoch", "sample", "forward", "backward", "parameter", "operation", "gradient",
                    "inspector", "scenario", "speed", "phase", "export", "legend"]  # fmt: skip
ZH_TEXTS_JS = f"""(() => {{
  const out = [];
  for (const el of document.querySelectorAll('[data-i18n]')) if (el.offsetParent !== null) out.push(el.textContent);
  for (const el of document.querySelectorAll('[aria-label], [title]')) {{
    if (el.closest('svg')) continue; out.push(el.getAttribute('aria-label') || '', el.getAttribute('title') || '');
  }}
  for (const el of {GRAPH_JS}.querySelectorAll('[data-label]')) {{
    const slot = el.dataset.label;  // node titles and explanations carry identifiers: the words around them
    if (/^(h:|l:|e:)|:caption$|:\\d+:k$/.test(slot)) out.push(el.textContent);
  }}
  for (const el of document.querySelectorAll('.readout, .chart figcaption, #explain-progress'))
    out.push(el.textContent);
  return out; }})()"""


def test_the_zh_page_shows_no_english_words(at_size: Any) -> None:
    s = at_size(1280, 720, "scenario=lecture04", "lang=zh&theme=light&step=2&phase=backward&node=op:2")
    s.wait_selector("[data-testid=graph][data-lang='zh']")
    texts = s.page.evaluate(ZH_TEXTS_JS)

    def words(text: str) -> set[str]:
        return set(re.findall(r"[a-z]+", text.lower().replace("dl/d(", "")))

    found = sorted({w for t in texts for w in ENGLISH_UI_WORDS if w in words(t)})
    assert found == [], [t for t in texts if words(t) & set(found)]


def test_the_walk_hides_what_is_not_computed(at_size: Any) -> None:
    s = at_size(1280, 720, "scenario=lecture04", "lang=en&theme=light&step=2&phase=forward&by=node&reveal=1")
    page = s.page
    hidden = (
        "(sel) => [...document.querySelectorAll(sel)].map(e => [e.closest('g.node, g.chain').dataset.nodeId || "
        "e.closest('g.chain').dataset.target, getComputedStyle(e).visibility])"
    )
    # forward, one op computed: the later ops' values are not shown
    values = dict(page.evaluate(hidden, "[data-testid=graph] g.node .k-value tspan:last-child"))
    assert values["op:2"] == "visible" and values["op:1"] == "hidden" and values["op:0"] == "hidden"
    assert values["param:w"] == "visible" and values["data:x"] == "visible"
    # backward: autograd has visited the loss only; every other gradient and chain label is hidden
    nodes = s.step_json(2)["graph"]["nodes"]
    order = [n["id"] for n in sorted((n for n in nodes if n["order"] is not None), key=lambda n: n["order"])]
    page.locator("#phase input[value='backward']").check(force=True)
    s.wait_selector("[data-testid=graph][data-phase='backward'][data-reveal='1']")
    page.wait_for_timeout(1600)  # longer than an animated walk: stepping by node, the walk waits for the user
    assert s.state()["reveal"] == 1
    page.get_by_test_id("play").focus()
    grads = dict(page.evaluate(hidden, "[data-testid=graph] g.node .k-grad tspan:last-child"))
    assert grads[order[0]] == "visible" and all(grads[n] == "hidden" for n in order[1:] if n in grads)
    chains = page.evaluate(hidden, "[data-testid=graph] g.chain text")
    assert chains and all(v == "hidden" for t, v in chains if t != order[0])
    tip = page.locator(f"svg g.node[data-node-id='{order[-1]}'] > title").text_content() or ""
    assert "grad" not in tip  # the tooltip does not give it away either
    explain = page.get_by_test_id("explain")
    assert explain.locator("li:visible").count() == 1 and "16.23" not in explain.inner_text()
    page.get_by_test_id("step-next").click()
    s.wait_selector("[data-testid=graph][data-reveal='2']")
    assert explain.locator("li:visible").count() == 2


def test_a_bad_element_is_counted_from_one_and_keeps_the_run(at_size: Any) -> None:
    s = at_size(1280, 720, "scenario=lecture04")
    page = s.page
    run = s.run_id()
    page.get_by_test_id("param-x").fill("1, 2, a")
    page.get_by_test_id("run").click()
    error = page.get_by_test_id("param-x-error")
    error.wait_for(state="visible")
    assert "element 3" in error.inner_text()
    assert "a" not in urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query).get("x", [""])[0]
    assert s.run_id() == run and page.locator("[data-testid=graph] svg g.node").count() >= 3


def axe_violations(session: PageSession) -> list[str]:
    # from the server, like the page's own scripts (the page's CSP refuses inline ones); tests only load it
    session.page.add_script_tag(url=f"{session.base}/static/vendor/{AXE.name}")
    page = session.page
    result = page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
    )
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:4]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_axe_finds_nothing_serious(at_size: Any) -> None:
    views = [
        (1280, 720, "lang=en&theme=light&step=2&node=op:2"),
        (1280, 720, "lang=zh&theme=dark&step=2&node=param:w"),
        (1280, 720, "lang=en&theme=light&step=2&classroom=1"),
        (390, 844, "lang=en&theme=light&step=2&node=op:2"),
        (390, 844, "lang=zh&theme=dark&step=2"),
        (1024, 768, "lang=en&theme=dark&step=2&phase=update"),
        (1440, 900, "lang=zh&theme=light&step=2&phase=forward"),
        (1280, 720, "lang=en&theme=dark&step=2&phase=backward&by=node&reveal=1&practice=1"),
        (390, 844, "lang=zh&theme=light&step=2&phase=backward&by=node&reveal=2&practice=1"),
    ]
    found = {}
    for width, height, hash_ in views:
        s = at_size(width, height, "scenario=lecture04", hash_)
        s.page.wait_for_timeout(300)
        violations = axe_violations(s)
        if violations:
            found[f"{width}x{height} {hash_}"] = violations
    assert found == {}, found


def test_presenter_mode_titles_the_run_beside_its_readout(at_size: Any, page_server: Server) -> None:
    """Presenter mode's title is the server's line (scenario · model · loss · lr) in the page's language, on
    one row clear of the readout bar (which once covered the end of the title)."""
    for lang, (width, height) in (("en", (1280, 720)), ("zh", (1024, 768))):
        s = at_size(width, height, "scenario=lecture04", f"lang={lang}&theme=light&step=2&classroom=1")
        titles = json.loads(page_server.get("/api/runs/lecture04"))["titles"]
        title = s.page.inner_text("[data-testid=presenter-title]")
        assert title == titles[lang] and "(y_hat - y)**2" in title and title.endswith("lr 0.01"), title
        assert title.startswith("第 04 讲" if lang == "zh" else "Lecture 04")
        head = s.page.evaluate(BOX_JS, "[data-testid=presenter-title]")
        bar = s.page.evaluate(BOX_JS, ".classroom-bar")
        assert head[2] >= bar[3] or head[0] + head[1] <= bar[0], (head, bar)  # below the bar, or left of it
        assert head[0] + head[1] <= width and head[3] < height / 4, head
