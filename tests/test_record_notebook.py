"""In Jupyter: a recording shows the stepping page inline and offline, executed for real by nbclient."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient
from playwright.sync_api import sync_playwright

from tests.page_helpers import CHROMIUM, CHROMIUM_ARGS, READY, wait_js

LOCAL = ("file:", "blob:", "data:", "about:")
LOOP = """\
import torch, backprop_lens
x_data = [1.0, 2.0, 3.0]; y_data = [2.0, 4.0, 6.0]
w = torch.tensor([1.0]); w.requires_grad = True
with backprop_lens.record() as rec:
    for epoch in range(2):
        for x, y in zip(x_data, y_data):
            l = (x * w - y) ** 2
            l.backward()
            print('\\tgrad:', x, y, w.grad.item())
            w.data = w.data - 0.01 * w.grad.data
            w.grad.data.zero_()
rec.save("run.html")
rec"""


def test_a_notebook_shows_the_recording(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(LOOP)])
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[0].outputs
    printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert printed.splitlines()[2] == "\tgrad: 3.0 6.0 -16.228801727294922"
    shown = next(o for o in outputs if o.output_type == "execute_result")
    html = shown.data["text/html"]
    assert html.startswith("<iframe") and 'sandbox="allow-scripts allow-downloads"' in html and "srcdoc=" in html
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        left: list[str] = []
        page.route(
            "**/*",
            lambda r: r.continue_() if r.request.url.startswith(LOCAL) else (left.append(r.request.url), r.abort()),
        )
        page.set_content(f"<!doctype html><body>{html}</body>")  # the output as a notebook front end places it
        frame = page.frames[1]
        frame.wait_for_selector(READY, timeout=30_000)
        wait_js(frame, "document.querySelector('[data-testid=graph]').textContent.includes('Step 0')", 30_000)
        assert "-2" in frame.inner_text("[data-testid=graph]")
        assert left == []
        page.goto((tmp_path / "run.html").as_uri() + "#step=2")  # and the saved file opens on its own
        page.wait_for_selector(READY, timeout=30_000)
        wait_js(page, "document.querySelector('[data-testid=graph]').textContent.includes('-16.23')", 30_000)
        assert left == []
        browser.close()
