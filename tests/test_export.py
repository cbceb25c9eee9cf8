"""The offline HTML file: opened from file:// in Chromium with the network blocked, under its own CSP."""

from __future__ import annotations

import json
import runpy
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import backprop_lens.export.bundle as bundle
import pytest
import torch
from backprop_lens.export import export_html, load_recording, record, views
from backprop_lens.export.page import embed_json, embedded_data
from backprop_lens.export.source import from_run
from backprop_lens.present import messages
from backprop_lens.render import module_names, render, step_labels
from backprop_lens.scenarios import build_run
from backprop_lens.snapshot import step_to_dict
from playwright.sync_api import sync_playwright

from tests.page_helpers import CHROMIUM, CHROMIUM_ARGS, GRAPH_JS, READY, TEXTS_JS, wait_js

FIXTURES = Path(__file__).parent / "fixtures"
XSS = "<img src=x onerror=alert(1)>"
SVG = "{http://www.w3.org/2000/svg}"
HASH_JS = "new URLSearchParams(location.hash.slice(1))"
NODES_BOX_JS = f"""(() => {{
  const rs = [...{GRAPH_JS}.querySelectorAll('svg g.node')].map(g => g.getBoundingClientRect());
  const x0 = Math.min(...rs.map(r => r.left)), x1 = Math.max(...rs.map(r => r.right));
  const y0 = Math.min(...rs.map(r => r.top)), y1 = Math.max(...rs.map(r => r.bottom));
  return {{width: x1 - x0, height: y1 - y0}};
}})()"""

# Counts CSP violations and whether any injected handler ran; runs before the page's own scripts.
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture(scope="module")
def lecture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    with record() as rec:
        runpy.run_path(str(FIXTURES / "lecture04.py"), run_name="__main__")
    out = tmp_path_factory.mktemp("export") / "lecture.html"
    rec.save(out)
    return rec, out


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Opened:
    def __init__(self, browser: Any, url: str, viewport: tuple[int, int] = (1280, 900)) -> None:
        self.ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, device_scale_factor=2)
        self.left: list[str] = []  # requests that tried to leave the file
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.ctx.route("**/*", self._route)
        self.page = self.ctx.new_page()
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.add_init_script(WATCH)
        self.page.goto(url)
        self.page.wait_for_selector(READY, timeout=30_000)

    def _route(self, route: Any) -> None:
        if route.request.url.startswith(("file:", "blob:", "data:")):
            route.continue_()
        else:
            self.left.append(route.request.url)
            route.abort()

    def csp(self) -> list[str]:
        return self.page.evaluate("window.__csp")


def test_the_file_works_offline(lecture: tuple[Any, Path], browser: Any) -> None:
    rec, path = lecture
    view = Opened(browser, path.as_uri() + "#step=2&phase=backward")
    page = view.page
    wait_js(page, "document.querySelector('[data-testid=graph]').textContent.includes('-16.23')", 30_000)
    graph = page.inner_text("[data-testid=graph]")
    assert "-16.23" in graph and "w" in graph
    third_grad = [line.text for line in rec.lines if line.text.startswith("\tgrad:")][2]
    assert third_grad.strip() in page.inner_text("[data-testid=console]")
    page.click("[data-testid=step-next]")  # stepping works: step 3 is epoch 1's first sample
    wait_js(page, "document.querySelector('[data-testid=graph]').textContent.includes('Step 3')", 30_000)
    assert view.left == [] and view.csp() == [] and view.errors == []
    page.screenshot(path=str(path.with_suffix(".png")))
    view.ctx.close()


def test_the_file_carries_its_own_strict_csp(lecture: tuple[Any, Path]) -> None:
    html = lecture[1].read_text(encoding="utf-8")
    head = html[: html.index("</head>")]
    meta = head[head.index('http-equiv="Content-Security-Policy"') :]
    policy = meta[meta.index('content="') + 9 :].split('"', 1)[0]
    assert "default-src 'none'" in policy
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy and "http" not in policy
    assert 'src="/' not in html and 'href="/' not in html  # no reference the file cannot answer itself


def test_names_from_user_code_are_data(tmp_path: Path, browser: Any) -> None:
    model = torch.nn.Module()
    model.add_module(XSS, torch.nn.Linear(1, 1))
    x, y = torch.tensor([[1.0]]), torch.tensor([[2.0]])
    with record(title=XSS) as rec:
        for _ in range(2):
            loss = ((model.get_submodule(XSS)(x) - y) ** 2).sum()
            loss.backward()
    assert any(name.endswith(f"{XSS}.weight") for name in rec.steps[0].params)  # `model.` in front, or not
    out = tmp_path / "xss.html"
    rec.save(out)
    html = out.read_text(encoding="utf-8")
    assert XSS not in html  # every `<` of a name is escaped in the embedded JSON and SVG
    view = Opened(browser, out.as_uri())
    assert view.page.locator("img").count() == 0
    assert view.dialogs == [] and view.csp() == [] and view.left == []
    assert XSS in view.page.inner_text("[data-testid=graph]")  # shown, as text
    view.ctx.close()


def test_embedded_json_cannot_close_its_script() -> None:
    text = embed_json({"name": "</script><script>alert(1)</script>"})
    assert "<" not in text and json.loads(text) == {"name": "</script><script>alert(1)</script>"}


def test_json_round_trip(lecture: tuple[Any, Path], tmp_path: Path) -> None:
    rec = lecture[0]
    rec.save(tmp_path / "run.json")
    back = load_recording(tmp_path / "run.json")
    assert [step_to_dict(s) for s in back.steps] == [step_to_dict(s) for s in rec.steps]
    assert back.history == rec.history and back.lines == rec.lines


def test_a_built_in_scenario_exports_the_same_page(browser: Any, tmp_path: Path) -> None:
    run = build_run("lecture04", {"epochs": 2})
    out = tmp_path / "lecture04.html"
    out.write_text(export_html(from_run(run, "lecture04")), encoding="utf-8")
    view = Opened(browser, out.as_uri() + "#step=2")
    wait_js(view.page, "document.querySelector('[data-testid=graph]').textContent.includes('-16.23')", 30_000)
    assert view.left == [] and view.csp() == []
    view.ctx.close()


def test_the_offline_inspector_shows_tensors_in_full(browser: Any, tmp_path: Path) -> None:
    """The inspector's figures come from the file (the server serves them per node; the file holds them all)."""
    run = build_run("softmax", {"epochs": 2})
    out = tmp_path / "softmax.html"
    out.write_text(export_html(from_run(run, "softmax")), encoding="utf-8")
    node = next(n for n in step_to_dict(run.step(1))["graph"]["nodes"] if n["id"] == "param:linear.weight")
    view = Opened(browser, out.as_uri() + "#step=1&phase=backward&node=param:linear.weight")
    cells = view.page.locator("[data-testid=tensors] figure.value .heatmap .cell")
    cells.first.wait_for(timeout=30_000)
    cols = node["shape"][1]
    flat = [v for row in node["value"] for v in row]
    titles = cells.evaluate_all("els => els.map(e => e.title)")
    assert titles == [f"linear.weight[{i // cols}, {i % cols}] = {v!r}" for i, v in enumerate(flat)]
    assert view.left == [] and view.csp() == [] and view.errors == []
    view.ctx.close()


def test_the_offline_source_panel_shows_the_scripts_own_line(lecture: tuple[Any, Path], browser: Any) -> None:
    """A recording carries the code its nodes name: the file opened anywhere shows the lecture script's line that
    made `y_hat` (read here from the script itself), and the JSON keeps it."""
    rec, path = lecture
    script = FIXTURES / "lecture04.py"
    node = next(n for n in rec.steps[2].graph.nodes if n.source is not None and "x * w" in n.source.code)
    expected = script.read_text(encoding="utf-8").splitlines()[node.source.line - 1]
    assert rec.sources[node.source.file] == script.read_text(encoding="utf-8")
    view = Opened(browser, path.as_uri() + f"#step=2&phase=backward&node={node.id}")
    line = view.page.get_by_test_id("source-line")
    line.wait_for(timeout=30_000)
    assert line.inner_text().strip() == expected.strip()
    assert view.page.locator("#source-file").inner_text() == f"{node.source.file}:{node.source.line}"
    assert view.left == [] and view.csp() == [] and view.errors == []
    view.ctx.close()
    saved = path.with_name("lecture-sources.json")
    rec.save(saved)
    assert load_recording(saved).sources == rec.sources


def _tree(svg: bytes) -> list[tuple[str, dict[str, str], str, str]]:
    """An SVG as its elements in document order: tag, attributes, text and tail (what a viewer draws from)."""
    return [(e.tag, dict(e.attrib), e.text or "", e.tail or "") for e in ET.fromstring(svg).iter()]


@pytest.mark.parametrize(("lang", "phase"), [("en", "backward"), ("zh", "update")])
def test_the_offline_file_exports_the_steps_svg(lecture: tuple[Any, Path], browser: Any, lang: str, phase: str) -> None:
    """Export SVG offline writes the step's picture as the server draws it (render in-process is the server's
    graph.svg): every element, attribute and text the same, the XML declaration first. PNG says it needs one."""
    rec, path = lecture
    view = Opened(browser, path.as_uri() + f"#step=2&phase={phase}&lang={lang}")
    page = view.page
    wait_js(page, "document.querySelector('[data-testid=graph]').textContent.includes('-16.23')", 30_000)
    with page.expect_download() as info:
        page.get_by_test_id("export-svg").click()
    download = info.value
    assert download.suggested_filename == f"backprop-lens-recording-step2-{phase}.svg"
    data = Path(download.path()).read_bytes()
    server = render(rec.steps[2], phase=phase, theme="light", lang=lang)
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<svg')
    assert _tree(data) == _tree(server)
    png = page.get_by_test_id("export-png")
    assert png.get_attribute("aria-disabled") == "true"
    assert png.get_attribute("title") == png.get_attribute("aria-label") == messages(lang)["export.png.offline"]
    png.focus()  # it stays reachable (aria-disabled, not disabled): pressed, it says why and downloads nothing
    page.keyboard.press("Enter")
    wait_js(page, "!document.querySelector('#toast').hidden", 5_000)
    assert page.inner_text("#toast") == messages(lang)["export.png.offline"]
    assert view.left == [] and view.csp() == [] and view.errors == []
    view.ctx.close()


def test_a_file_over_its_view_budget_offers_no_module_boxes(
    browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Module views cost every step's slots: over the budget the file carries each step's first view (two_layer
    opens with its modules as boxes, as the server draws it) and hides the chips that would ask for others."""
    monkeypatch.setattr(bundle, "MAX_VIEW_STEPS", 0)
    run = build_run("two_layer", {"epochs": 2})
    out = tmp_path / "two_layer.html"
    out.write_text(export_html(from_run(run, "two_layer")), encoding="utf-8")
    data = embedded_data(out.read_text(encoding="utf-8"))
    assert data["chips"] is False and data["views"] == [{"|": 0}]
    server = ET.fromstring(render(run.step(1), phase="backward"))
    assert server.get("data-collapse"), "two_layer's first view has module boxes"
    view = Opened(browser, out.as_uri() + "#step=1&phase=backward")
    page = view.page
    wait_js(page, "!!document.querySelector('[data-testid=graph] svg [data-kind=module]')", 30_000)
    drawn = page.evaluate(f"{GRAPH_JS}.querySelector('svg').getAttribute('data-collapse')")
    assert drawn == server.get("data-collapse")
    assert page.locator(".modules-bar").count() == 1 and not page.locator(".modules-bar").is_visible()
    assert view.left == [] and view.csp() == [] and view.errors == []
    view.ctx.close()


def test_a_graph_with_too_many_module_paths_carries_its_first_view_only() -> None:
    """Nine or more module paths: the chips' reach grows too fast to carry; the first view only, no chips."""
    graph = build_run("two_layer", {"epochs": 1}).step(0).graph
    many = replace(graph, nodes=[replace(n, module=f"m{i}") for i, n in enumerate(graph.nodes)])
    assert len(many.nodes) > views.MAX_PATHS
    table = views.chip_views(many)
    assert table.complete is False and table.queries == {"|": 0} and len(table.boxes) == 1
    assert views.chip_views(graph).complete is True  # two_layer's three modules: all their views


def _as_js(value: Any) -> str:
    """A JS string literal holding JSON.stringify(value)'s text (its separators have no spaces)."""
    return json.dumps(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _hash_query(page: Any) -> tuple[str, str]:
    return tuple(page.evaluate(f"[{HASH_JS}.get('collapse') || '', {HASH_JS}.get('expand') || '']"))


def _drawn(page: Any) -> dict[str, Any]:
    return {
        "texts": page.evaluate(TEXTS_JS),
        "collapse": page.evaluate(f"{GRAPH_JS}.querySelector('svg').getAttribute('data-collapse')"),
    }


def _served(step: Any, collapse: str, expand: str) -> dict[str, Any]:
    """What the server's graph.svg draws for the query (render in-process is it), filled with the step's strings."""
    svg = ET.fromstring(render(step, phase="backward", collapse=collapse or None, expand=expand or None))
    return {"texts": ["".join(t.itertext()) for t in svg.iter(f"{SVG}text")], "collapse": svg.get("data-collapse")}


def _same_slots(page: Any, step: Any, run_id: str, collapse: str, expand: str) -> None:
    """The file's labels for the query hold the server's value in every slot the server's picture has (the
    texts, tooltips and accessible names the patcher writes), and the same template id."""
    k = step.index
    url = f"/api/runs/{run_id}/labels?start={k}&stop={k + 1}&lang=en&collapse={collapse}&expand={expand}"
    got = page.evaluate(f"fetch({json.dumps(url)}).then(r => r.json())")[0]["phases"]
    server = step_labels(step, "en", None, module_names(collapse), None, module_names(expand))["phases"]
    for ph, slots in server.items():
        assert got[ph]["template"] == slots["template"], (ph, collapse, expand)
        for part in ("texts", "tips", "aria"):
            assert {k: got[ph][part].get(k) for k in slots[part]} == slots[part], (ph, part, collapse, expand)


def _click_through(page: Any, step: Any, run_id: str, clicks: tuple[str, ...]) -> list[tuple[tuple[str, str], str]]:
    """Click each control; after each, the picture and the labels are the server's for the query the page asks."""
    seen = []
    for click in clicks:
        before = _hash_query(page)
        page.get_by_test_id(click).click()
        wait_js(
            page,
            f"JSON.stringify([{HASH_JS}.get('collapse') || '', {HASH_JS}.get('expand') || '']) !== "
            f"{_as_js(list(before))}",
        )
        query = _hash_query(page)
        want = _served(step, *query)
        wait_js(page, f"JSON.stringify({TEXTS_JS}) === {_as_js(want['texts'])}")
        assert _drawn(page) == want, (click, query)
        _same_slots(page, step, run_id, *query)
        seen.append((query, want["collapse"]))
    return seen


def test_the_offline_chips_collapse_and_expand_as_the_server_draws(browser: Any, tmp_path: Path) -> None:
    """From file:// with the network blocked, each chip click asks for a query the file answers: the picture is
    then the server's for that query (texts, numbers and boxes), and nothing leaves the file."""
    run = build_run("two_layer", {"epochs": 2})
    step = run.step(1)
    out = tmp_path / "two_layer.html"
    out.write_text(export_html(from_run(run, "two_layer")), encoding="utf-8")
    view = Opened(browser, out.as_uri() + "#step=1&phase=backward&lang=en")
    page = view.page
    wait_js(page, f"{GRAPH_JS}.querySelectorAll('svg [data-kind=module]').length === 3", 30_000)
    assert page.locator(".modules-bar").is_visible()
    assert sorted(page.locator("#modules-list .chip").all_inner_texts()) == ["act", "layer1", "layer2"]
    clicks = ("module-layer1", "module-act", "module-layer1", "modules-all", "module-act", "module-layer2")
    seen = _click_through(page, step, "two_layer", clicks)
    assert any(q[0] for q, _ in seen) and any(q[1] for q, _ in seen)  # asked by collapse= and by expand=
    assert len({boxes for _, boxes in seen}) >= 4  # and the pictures differ
    page.screenshot(path=str(tmp_path / "chips-1280.png"))
    assert view.left == [] and view.csp() == [] and view.errors == []
    view.ctx.close()


def test_a_phone_gets_the_tall_picture_offline(browser: Any, tmp_path: Path) -> None:
    """At 390x844 (upright) the page asks for fit=tall: the file answers with the server's tall layout (lecture04's
    default canvas is 820x307, its tall one 500x615), so the graph on screen is tall, not a thin strip."""
    run = build_run("lecture04", {"epochs": 1})
    out = tmp_path / "lecture04.html"
    out.write_text(export_html(from_run(run, "lecture04")), encoding="utf-8")
    view = Opened(browser, out.as_uri() + "#step=2&phase=backward", viewport=(390, 844))
    page = view.page
    wait_js(page, f"{GRAPH_JS}.textContent.includes('-16.23')", 30_000)
    tall = ET.fromstring(render(run.step(2), phase="backward", fit="tall"))
    where = page.evaluate(
        f"[...{GRAPH_JS}.querySelectorAll('svg text')].map(t => [t.getAttribute('x'), t.getAttribute('y')])"
    )
    assert where == [[t.get("x"), t.get("y")] for t in tall.iter(f"{SVG}text")]  # laid out as the tall picture
    assert page.evaluate(TEXTS_JS) == ["".join(t.itertext()) for t in tall.iter(f"{SVG}text")]
    drawn = page.evaluate(NODES_BOX_JS)  # the boxes on screen: tall (the default, 2.7x wider, is <130 px high)
    assert drawn["height"] > 1.2 * drawn["width"] and drawn["height"] > 250, drawn
    page.screenshot(path=str(tmp_path / "phone-390.png"))
    assert view.left == [] and view.csp() == [] and view.errors == []
    view.ctx.close()


def test_a_recordings_chips_work_offline(browser: Any, tmp_path: Path) -> None:
    """A recorded script with nn.Modules (an MLP in a Sequential, MSELoss): its file carries the chips' views too."""
    with record() as rec:
        runpy.run_path(str(FIXTURES / "mlp_adam.py"), run_name="__main__")
    out = tmp_path / "mlp.html"
    rec.save(out)
    view = Opened(browser, out.as_uri() + "#step=1&phase=backward&lang=en")
    page = view.page
    wait_js(page, f"!!{GRAPH_JS}.querySelector('svg [data-kind=module]')", 30_000)
    assert page.locator(".modules-bar").is_visible()
    seen = _click_through(page, rec.steps[1], "recording", ("module-net", "module-net.1", "modules-all"))
    assert len({boxes for _, boxes in seen}) == 3
    assert view.left == [] and view.csp() == [] and view.errors == []
    view.ctx.close()
