"""In a real Jupyter kernel (nbclient + ipykernel), a trace as a cell's last expression displays as its SVG, and
that SVG never needs a horizontal scroll bar: put inline into a narrow output area (as the classic notebook and
nbconvert's HTML do), Chromium draws it scaled down to the area's width with its aspect ratio kept."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.page_helpers import ARTIFACTS, CHROMIUM, launch_browser

CELLS = [
    "import torch, backprop_lens\n"
    "w = torch.tensor([1.0], requires_grad=True)\n"
    "x, y = 2.0, 4.0\n"
    "with backprop_lens.trace(params={'w': w}) as t:\n"
    "    loss = (x * w - y) ** 2\n"
    "    loss.backward()\n"
    "t",
    "backprop_lens.make_dot(loss, params={'w': w})",
]


MEASURE = """(() => {
    const r = document.querySelector('#area svg').getBoundingClientRect();
    return {w: r.width, h: r.height, scroll: document.documentElement.scrollWidth};
})()"""


@pytest.fixture(scope="module")
def outputs() -> list[dict]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    NotebookClient(nb, timeout=180, kernel_name="python3").execute()
    return [cell.outputs for cell in nb.cells]


def test_a_trace_displays_as_its_svg(outputs: list[dict]) -> None:
    (result,) = [o for o in outputs[0] if o["output_type"] == "execute_result"]
    svg = result["data"]["image/svg+xml"]
    assert svg.startswith("<svg") and 'style="max-width: 100%; height: auto;"' in svg
    assert "MulBackward0" in svg and 'data-phase="backward"' in svg
    assert result["data"]["text/plain"].startswith("<backprop_lens.Trace: 1 graph(s)")


def test_make_dot_displays_like_torchviz(outputs: list[dict]) -> None:
    (result,) = [o for o in outputs[1] if o["output_type"] == "execute_result"]
    assert "<svg" in result["data"]["image/svg+xml"]  # graphviz.Digraph's own display, as with torchviz
    assert "grad = &#45;8" in result["data"]["image/svg+xml"]  # w.grad, as Graphviz writes "-8" in SVG text


def test_inline_it_scales_down_to_the_output_area(outputs: list[dict]) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    svg = next(o for o in outputs[0] if o["output_type"] == "execute_result")["data"]["image/svg+xml"]
    vb = [float(v) for v in re.search(r'viewBox="([^"]+)"', svg).group(1).split()]  # type: ignore[union-attr]
    width = 480  # narrower than the drawing's natural width
    assert vb[2] > width
    html = f'<html><body style="margin:0"><div id="area" style="width:{width}px">{svg}</div></body></html>'
    with sync_playwright() as p:
        browser = launch_browser(p)
        try:
            page = browser.new_page(viewport={"width": width, "height": 800})
            page.set_content(html)
            box = page.evaluate(MEASURE)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "notebook-inline.png"))
        finally:
            browser.close()
    assert box["w"] == pytest.approx(width, abs=1)
    assert box["scroll"] <= width  # no horizontal scroll bar
    assert box["h"] / box["w"] == pytest.approx(vb[3] / vb[2], rel=0.01)  # scaled, not squeezed
