"""The offline HTML file: opened from file:// in Chromium with the network blocked, under its own CSP."""

from __future__ import annotations

import json
import runpy
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from backprop_lens.export import export_html, load_recording, record
from backprop_lens.export.page import embed_json
from backprop_lens.export.source import from_run
from backprop_lens.present import messages
from backprop_lens.render import render
from backprop_lens.scenarios import build_run
from backprop_lens.snapshot import step_to_dict
from playwright.sync_api import sync_playwright

from tests.page_helpers import CHROMIUM, CHROMIUM_ARGS, READY, wait_js

FIXTURES = Path(__file__).parent / "fixtures"
XSS = "<img src=x onerror=alert(1)>"

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
    def __init__(self, browser: Any, url: str) -> None:
        self.ctx = browser.new_context(viewport={"width": 1280, "height": 900})
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
    assert f"{XSS}.weight" in rec.steps[0].params
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


def test_the_offline_file_offers_no_module_boxes_it_cannot_draw(browser: Any, tmp_path: Path) -> None:
    """The file carries each step's first view (two_layer opens with its modules as boxes, as the server draws it):
    the chips that would ask the server for other views are not offered, and the picture is the server's."""
    run = build_run("two_layer", {"epochs": 2})
    out = tmp_path / "two_layer.html"
    out.write_text(export_html(from_run(run, "two_layer")), encoding="utf-8")
    server = ET.fromstring(render(run.step(1), phase="backward"))
    assert server.get("data-collapse"), "two_layer's first view has module boxes"
    view = Opened(browser, out.as_uri() + "#step=1&phase=backward")
    page = view.page
    wait_js(page, "!!document.querySelector('[data-testid=graph] svg [data-kind=module]')", 30_000)
    assert page.evaluate("document.querySelector('[data-testid=graph] svg').getAttribute('data-collapse')") == (
        server.get("data-collapse")
    )
    assert page.locator(".modules-bar").count() == 1 and not page.locator(".modules-bar").is_visible()
    assert view.left == [] and view.csp() == [] and view.errors == []
    view.ctx.close()
