"""The graph's nodes by keyboard: Tab visits them in autograd's order, each announced with its name, value and
gradient (the server's words and numbers, checked against plain PyTorch), Enter or Space opens the inspector,
the focus ring shows, and axe finds nothing serious with a node focused. (The API test runs first: the
browser, once started, keeps an event loop running for the rest of the module.)"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests import page_helpers
from tests.page_helpers import PageSession
from tests.test_page_layout import axe_violations

browser = page_helpers.browser
page_server = page_helpers.page_server
session = page_helpers.session

FOCUSED_JS = "(() => { const g = document.activeElement.closest('g.node'); return g ? g.dataset.nodeId : null; })()"
ARIA_JS = "document.activeElement.getAttribute('aria-label')"


def lecture_step_2() -> dict[str, float]:
    """Lecture 04's step 2 in plain PyTorch: y_hat = 3 × w, after two updates of w."""
    torch = pytest.importorskip("torch")
    w = torch.tensor([1.0], requires_grad=True)
    for x, y in ((1.0, 2.0), (2.0, 4.0)):
        ((x * w - y) ** 2).backward()
        w.data = w.data - 0.01 * w.grad.data
        w.grad.data.zero_()
    before = w.item()
    y_hat = 3.0 * w
    y_hat.retain_grad()
    loss = (y_hat - 6.0) ** 2
    loss.retain_grad()
    loss.backward()
    return {"w": before, "w.grad": w.grad.item(), "loss": loss.item(), "loss.grad": loss.grad.item(),
            "y_hat": y_hat.item(), "y_hat.grad": y_hat.grad.item()}  # fmt: skip


def numbers(aria: str) -> dict[str, float]:
    """The value and gradient an accessible name says ("…: value 7.316; grad 1")."""
    return {k: float(v) for k, v in re.findall(r"\b(value|grad) (-?[\d.]+(?:e[-+]?\d+)?)", aria)}


def tab_to_graph(session: PageSession) -> str:
    """From the last graph tool, Tab until a node has focus; its id."""
    page = session.page
    page.locator("#zoom-fit").focus()
    for _ in range(4):
        page.keyboard.press("Tab")
        node = page.evaluate(FOCUSED_JS)
        if node:
            return str(node)
    raise AssertionError("Tab never reached a node of the graph")


def autograd_order(step: dict[str, Any]) -> list[str]:
    """The backward walk's order of the step JSON (the loss first), then the nodes autograd never visits."""
    nodes = step["graph"]["nodes"]
    walked = sorted((n for n in nodes if n.get("order") is not None), key=lambda n: n["order"])
    return [n["id"] for n in walked] + [n["id"] for n in nodes if n.get("order") is None]


@pytest.mark.asyncio
async def test_the_names_are_the_servers_in_both_languages(client: Any) -> None:
    s = lecture_step_2()
    said = {}
    for lang in ("en", "zh"):
        item = (await client.get(f"/api/runs/lecture04/labels?start=2&stop=3&lang={lang}")).json()[0]
        said[lang] = item["phases"]["backward"]["aria"]["param:w"]
    assert said["en"]["full"].startswith("w, param: ") and said["en"]["short"] == "w, param: not computed yet"
    got = re.fullmatch(r"w，参数：值 (\S+)；梯度 (\S+)", said["zh"]["full"])
    assert got is not None, said["zh"]
    assert [float(got[1]), float(got[2])] == pytest.approx([s["w"], s["w.grad"]], rel=5e-4)
    assert said["zh"]["short"] == "w，参数：尚未计算"


def test_tab_walks_the_nodes_in_autograds_order_with_their_numbers(session: PageSession) -> None:
    s = lecture_step_2()
    session.open(hash_="lang=en&theme=light&step=2&phase=backward")
    page = session.page
    order = autograd_order(session.step_json(2))
    assert order[:4] == ["op:0", "op:1", "op:2", "param:w"]  # loss, y_hat - y, y_hat, w: as autograd walks back
    assert tab_to_graph(session) == order[0]
    seen, names = [order[0]], [page.evaluate(ARIA_JS)]
    for _ in order[1:]:
        page.keyboard.press("Tab")
        seen.append(page.evaluate(FOCUSED_JS))
        names.append(page.evaluate(ARIA_JS))
    assert seen == order
    said = dict(zip(seen, names, strict=True))
    # each name says the node's name and its numbers, the server's text of PyTorch's numbers (4 digits shown)
    assert said["op:0"].startswith("loss: **2") and "PowBackward0" in said["op:0"]
    assert numbers(said["op:0"]) == pytest.approx({"value": s["loss"], "grad": s["loss.grad"]}, rel=5e-4)
    assert said["op:2"].startswith("y_hat: *")
    assert numbers(said["op:2"]) == pytest.approx({"value": s["y_hat"], "grad": s["y_hat.grad"]}, rel=5e-4)
    assert said["param:w"].startswith("w, param")
    assert numbers(said["param:w"]) == pytest.approx({"value": s["w"], "grad": s["w.grad"]}, rel=5e-4)
    assert numbers(said["data:x"]) == {"value": 3.0}
    # past the last node Tab leaves the graph; Shift+Tab comes back to it
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED_JS) is None
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUSED_JS) == order[-1]


def test_enter_and_space_open_the_inspector_and_the_focus_shows(session: PageSession) -> None:
    s = lecture_step_2()
    session.open(hash_="lang=en&theme=light&step=2&phase=backward")
    page = session.page
    tab_to_graph(session)
    for _ in range(3):
        page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED_JS) == "param:w"
    ring = page.evaluate("(() => { const c = getComputedStyle(document.activeElement);"
                         " return [c.outlineStyle, parseFloat(c.outlineWidth)]; })()")  # fmt: skip
    assert ring[0] == "solid" and ring[1] >= 2
    session.shot("page-keyboard-focus.png")
    page.keyboard.press("Enter")
    inspector = page.get_by_test_id("inspector")
    inspector.get_by_text("AccumulateGrad", exact=True).first.wait_for()
    assert session.state()["selected"] == "param:w" and repr(s["w.grad"]) in inspector.inner_text()
    assert page.evaluate(FOCUSED_JS) == "param:w"  # the focus stays on the node
    page.keyboard.press("Shift+Tab")
    page.keyboard.press(" ")  # Space selects y_hat; it does not start playing
    inspector.get_by_text("MulBackward0", exact=True).first.wait_for()
    state = session.state()
    assert state["selected"] == "op:2" and not state["playing"] and state["k"] == 2


def test_a_node_not_reached_by_the_walk_keeps_its_numbers_to_itself(session: PageSession) -> None:
    session.open(hash_="lang=en&theme=light&step=2&phase=backward&by=node&reveal=1")
    page = session.page
    tab_to_graph(session)  # the loss: reached first
    assert "value" in page.evaluate(ARIA_JS)
    page.keyboard.press("Tab")  # y_hat - y: not reached yet
    aria = page.evaluate(ARIA_JS)
    assert aria == "y_hat - y: -, SubBackward0: not computed yet", aria


def test_axe_finds_nothing_serious_with_a_node_focused(session: PageSession) -> None:
    session.open(hash_="lang=en&theme=light&step=2&phase=backward")
    tab_to_graph(session)
    session.page.keyboard.press("Tab")
    assert session.page.evaluate(FOCUSED_JS) == "op:1"
    assert axe_violations(session) == []
    assert session.page.evaluate(FOCUSED_JS) == "op:1"
