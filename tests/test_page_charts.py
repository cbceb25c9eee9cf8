"""The charts draw what the server sends: L(w) of the step's sample as PyTorch computes it on a grid (the page has
no model of its own), the prediction's target where the data lie on a line through the origin, and four charts
that fill their rows. Expected numbers come from plain PyTorch in the test."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests import page_helpers
from tests.page_helpers import PageSession

browser = page_helpers.browser
page_server = page_helpers.page_server
session = page_helpers.session

X_DATA, Y_DATA = [1.0, 2.0, 3.0], [2.0, 4.0, 6.0]


def lecture_ws(steps: int, lr: float = 0.01) -> tuple[list[float], list[float], float]:
    """Plain Lecture 04: w before each step, w.grad of each step, and the prediction at 4 after the loop."""
    torch = pytest.importorskip("torch")
    w = torch.tensor([1.0], requires_grad=True)
    ws, grads = [], []
    for k in range(steps):
        x, y = X_DATA[k % 3], Y_DATA[k % 3]
        ws.append(w.item())
        loss = (x * w - y) ** 2
        loss.backward()
        grads.append(w.grad.item())
        w.data = w.data - lr * w.grad.data
        w.grad.data.zero_()
    return ws, grads, (4 * w).item()


async def summary(client: Any, params: dict[str, Any]) -> dict[str, Any]:
    run = (await client.post("/api/runs", json={"scenario": "lecture04", "params": params})).json()
    return dict((await client.get(f"/api/runs/{run['id']}")).json())


@pytest.mark.asyncio
async def test_the_served_curve_is_pytorchs_loss_on_the_grid(client: Any) -> None:
    torch = pytest.importorskip("torch")
    s = await summary(client, {})
    curve = s["curve"]
    assert curve["param"] == "w" and len(curve["loss"]) == 3  # one curve per sample
    w = torch.tensor(curve["w"])  # the grid the server chose (float32, as the model's w)
    for i, (x, y) in enumerate(zip(X_DATA, Y_DATA, strict=True)):
        assert curve["loss"][i] == ((x * w - y) ** 2).tolist(), i
    # the grid holds the whole trajectory, so the step's point is always on the picture
    ws, _, _ = lecture_ws(300)
    assert curve["w"][0] < min(ws) and max(ws) < curve["w"][-1]
    assert curve["view"][0] <= min(ws) and max(ws) <= curve["view"][1]
    # a model of two parameters has no L(w) to draw
    quad = (
        await client.get("/api/runs/" + (await client.post("/api/runs", json={"scenario": "quadratic"})).json()["id"])
    ).json()
    assert quad["curve"] is None


@pytest.mark.asyncio
async def test_the_prediction_target_is_the_datas_line_at_four(client: Any) -> None:
    s = await summary(client, {})
    target = s["predict_target"]
    _, _, after = lecture_ws(300)  # the lecture prints "predict (after training) 4 7.999..."
    assert target["x"] == 4 and target["text"] == "8"
    assert target["value"] == pytest.approx(after, abs=1e-3) and target["value"] == 2.0 * 4
    assert (await summary(client, {"x": [1.0, 2.0, 3.0], "y": [3.0, 6.0, 9.0]}))["predict_target"]["value"] == 12.0
    assert (await summary(client, {"x": [1.0, 2.0, 3.0], "y": [2.0, 4.0, 7.0]}))["predict_target"] is None
    assert (await summary(client, {"x": [1.0, 2.0], "y": [3.0, 5.0]}))[
        "predict_target"
    ] is None  # a line, not through 0


def boxes(session: PageSession) -> dict[str, dict[str, float]]:
    return dict(
        session.page.evaluate(
            "Object.fromEntries([...document.querySelectorAll('.chart-grid .chart')].filter(f => !f.hidden)"
            ".map(f => { const r = f.getBoundingClientRect();"
            " return [f.id, {x: r.x, y: r.y, w: r.width, h: r.height}]; }))"
        )
    )


def test_the_prediction_chart_draws_the_target_and_l_of_w_shares_a_row(session: PageSession) -> None:
    page = session.page
    page.set_viewport_size({"width": 1280, "height": 720})
    session.open(hash_="lang=en&theme=light&step=2&phase=backward")
    key = page.get_by_test_id("pred-target")
    key.wait_for()
    assert key.get_attribute("data-value") == str(int(2.0 * 4))  # y = 2x at x = 4, as the server wrote it
    assert key.inner_text() == "target 8 (on the data's line)"
    assert page.locator("#chart-pred .plot").get_attribute("data-series") == "prediction target"
    # the four charts fill two rows of two: L(w) beside the prediction, not alone on a row
    b = boxes(session)
    assert set(b) == {"chart-loss", "chart-params", "chart-pred", "chart-curve"}
    assert abs(b["chart-curve"]["y"] - b["chart-pred"]["y"]) < 1 and b["chart-curve"]["x"] > b["chart-pred"]["x"]
    assert abs(b["chart-loss"]["y"] - b["chart-params"]["y"]) < 1
    assert abs(b["chart-curve"]["w"] - b["chart-loss"]["w"]) < 1  # even columns
    # the tangent's slope the note gives is PyTorch's w.grad of step 2
    _, grads, _ = lecture_ws(3)
    session.wait_js("!document.getElementById('curve-note').textContent.includes('…')")
    # the slope as the graph's boxes show PyTorch's gradient: four significant digits (-16.23)
    assert page.locator("#curve-note").inner_text().endswith(f"= {grads[2]:.4g}")
    # in Chinese the key is the server's Chinese text
    page.get_by_test_id("lang-toggle").click()
    session.wait_js("document.getElementById('pred-target-text').textContent.startsWith('目标值')")
    assert key.inner_text() == "目标值 8（数据所在直线上）"


def test_data_off_a_line_draw_no_target_and_a_phone_stacks_the_charts(session: PageSession) -> None:
    page = session.page
    page.set_viewport_size({"width": 390, "height": 844})
    session.open("scenario=lecture04&y=2,4,7", hash_="lang=en&theme=light&step=2&phase=backward")
    assert page.get_by_test_id("pred-target").is_hidden()
    assert page.locator("#chart-pred .plot").get_attribute("data-series") == "prediction"
    b = sorted(boxes(session).values(), key=lambda r: r["y"])
    assert len(b) == 4
    assert all(abs(r["x"] - b[0]["x"]) < 1 for r in b)  # one column
    assert all(lo["y"] + lo["h"] <= hi["y"] + 1 for lo, hi in itertools.pairwise(b))
