"""The present endpoints: messages, labels (the same strings as the SVG, by slot), log.json, scenarios in zh,
graph.svg?lang=zh and ?fit=slide, and cache keys that change with the code version."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from backprop_lens.render import version
from backprop_lens.scenarios import build_run
from backprop_lens.web import create_app

from tests.apps import settings_for_tests

pytestmark = pytest.mark.asyncio


async def test_messages_in_both_languages(client):
    en, zh = (await client.get("/api/messages?lang=en")).json(), (await client.get("/api/messages?lang=zh")).json()
    assert set(en) <= set(zh) and en["phase.update"] == "update" and zh["phase.update"] == "更新"
    bad = await client.get("/api/messages?lang=fr")
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "lang"


async def test_scenarios_in_chinese(client):
    zh = {s["id"]: s for s in (await client.get("/api/scenarios?lang=zh")).json()}
    en = {s["id"]: s for s in (await client.get("/api/scenarios")).json()}
    assert zh["lecture04"]["title"].startswith("第 04 讲") and en["lecture04"]["title"].startswith("Lecture 04")
    assert zh["lecture04"]["params"] == en["lecture04"]["params"]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("phase", ["forward", "backward", "update"])
async def test_labels_are_the_svgs_strings_by_slot(client, lang, phase):
    batch = (await client.get(f"/api/runs/lecture04/labels?start=1&stop=3&lang={lang}")).json()
    assert [s["step"] for s in batch] == [1, 2]
    for item in batch:
        k = item["step"]
        svg = await client.get(f"/api/runs/lecture04/steps/{k}/graph.svg?phase={phase}&lang={lang}")
        root = ET.fromstring(svg.content)
        texts = {el.get("data-label"): "".join(el.itertext()) for el in root.iter() if el.get("data-label")}
        tips = {el.get("data-tip"): el.text or "" for el in root.iter() if el.get("data-tip")}
        slots = item["phases"][phase]
        assert {s: t for s, t in slots["texts"].items() if s in texts or t} == texts
        assert slots["tips"] == tips


async def test_labels_carry_the_explanation_and_the_inspector(client):
    item = (await client.get("/api/runs/lecture04/labels?start=2&stop=3")).json()[0]
    text = "\n".join(line["text"] for line in item["explain"])
    assert "-16.23" in text and "w.grad ← 0" in text
    assert item["inspector"]["param:w"] == [ln["text"] for ln in item["explain"] if ln["node"] == "param:w"]


async def test_labels_are_bounded(client):
    r = await client.get("/api/runs/lecture04/labels?start=0&stop=501")
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "stop"
    assert (await client.get("/api/runs/lecture04/labels?start=300")).status_code == 404


async def test_log_lines_know_their_steps(client):
    lines = (await client.get("/api/runs/lecture04/log.json")).json()
    log = (await client.get("/api/runs/lecture04/log")).text
    assert [line["text"] for line in lines] == log.splitlines()
    history = build_run("lecture04", {}).history
    grads = [ln for ln in lines if ln["text"].startswith("\tgrad:")]
    assert [ln["step"] for ln in grads] == [s.index for s in history.steps]
    assert all(ln["phase"] == "backward" for ln in grads)
    assert lines[0]["step"] is None and lines[4] == {"text": lines[4]["text"], "step": 2, "phase": "update"}


async def test_slide_exports_are_16_9_and_titled(client):
    r = await client.get("/api/runs/two_layer/steps/2/graph.svg?fit=slide&lang=zh")
    root = ET.fromstring(r.content)
    w, h = float(root.get("width")), float(root.get("height"))
    assert abs(w / h - 16 / 9) < 0.01
    title = "".join(root.find("{http://www.w3.org/2000/svg}title").itertext())
    assert "两层网络" in title and "lr 0.1" in title
    assert (await client.get("/api/runs/two_layer/steps/2/graph.svg?fit=wide")).status_code == 422


def _slide_title(svg: bytes) -> tuple[str, float, str]:
    root = ET.fromstring(svg)
    title = "".join(root.find("{http://www.w3.org/2000/svg}title").itertext())
    context = next("".join(el.itertext()) for el in root.iter() if el.get("data-label") == "h:context")
    return title, float(root.get("width")), context


async def test_a_slide_names_the_model_the_loss_and_the_lr_it_was_made_with(client):
    """The typed model and loss of a custom run, Lecture 04's squared error, a non-plain optimizer: in the
    picture's title and its context line, which the canvas is wide enough to hold (a long model widens it)."""
    model = " + ".join(f"w*x*{k}" for k in range(1, 13))  # a long line: wider than the graph
    r = await client.post(
        "/api/runs", json={"scenario": "custom", "params": {"model": model, "loss": "abs(y_hat - y)", "params": "w=1"}}
    )
    run = r.json()["id"]
    title, width, context = _slide_title(
        (await client.get(f"/api/runs/{run}/steps/0/graph.svg?fit=slide&phase=backward")).content
    )
    assert f"y_hat = {model}" in title and "loss = abs(y_hat - y)" in title and "lr 0.01" in title
    assert context in title and width >= 0.6 * 13 * len(context)  # DejaVu Sans averages ~0.6 em a character
    title, _, _ = _slide_title((await client.get("/api/runs/lecture04/steps/2/graph.svg?fit=slide")).content)
    assert "(y_hat - y)**2" in title and "lr 0.01" in title
    r = await client.post("/api/runs", json={"scenario": "linear_module", "params": {"optimizer": "adam"}})
    title, _, _ = _slide_title((await client.get(f"/api/runs/{r.json()['id']}/steps/1/graph.svg?fit=slide")).content)
    assert "MSELoss" in title and "lr 0.01 (adam)" in title


async def test_a_tall_picture_is_laid_out_for_a_phone(client):
    """Lecture 04 is a left-right strip (about 3.5:1); `fit=tall` lays it out top-down, closer to 3:4, with the
    same strings in the same slots (the page patches either)."""
    base = "/api/runs/lecture04/steps/2/graph.svg?phase=backward"
    wide, tall = [ET.fromstring((await client.get(base + q)).content) for q in ("", "&fit=tall")]
    aspect = [float(r.get("width")) / float(r.get("height")) for r in (wide, tall)]
    assert aspect[0] > 2 and aspect[1] < 1.2, aspect
    slots = [
        {el.get("data-label"): "".join(el.itertext()) for el in r.iter() if el.get("data-label")} for r in (wide, tall)
    ]
    assert slots[0] == slots[1]


async def test_a_changed_version_changes_etags_and_immutable_urls(monkeypatch):
    async def fetch(path: str) -> tuple[str, str]:
        import httpx

        app = create_app(settings_for_tests())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            v = (await c.get("/api/version")).json()["version"]
            old = await c.get(f"{path}?v={v}")
            assert old.headers["cache-control"].endswith("immutable")
            return v, old.headers["etag"]

    path = "/api/runs/lecture04/steps/0/graph.svg"
    v1, etag1 = await fetch(path)
    monkeypatch.setattr(version, "RENDER_VERSION", "changed-code")
    v2, etag2 = await fetch(path)
    assert v1 != v2 and etag1 != etag2
    import httpx

    app = create_app(settings_for_tests())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        stale = await c.get(f"{path}?v={v1}")  # an old page's URL: fresh bytes, never cached forever
        assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"


async def test_a_created_run_hands_out_urls_that_cannot_go_stale(monkeypatch, client):
    """POST answers the run's `?v=` URLs: each is served `immutable` (with the bytes the unversioned URL has),
    and after a code change the same POST hands out other URLs."""
    body = {"scenario": "lecture04", "params": {"epochs": 2}}
    created = (await client.post("/api/runs", json=body)).json()
    links = created["links"]
    assert created["version"] == (await client.get("/api/version")).json()["version"]
    for name, url in links.items():
        url = url.replace("{k}", "1")
        r, plain = await client.get(url), await client.get(url.split("?")[0])
        assert r.status_code == 200 and r.headers["cache-control"].endswith("immutable"), (name, r.status_code)
        assert r.content == plain.content and plain.headers["cache-control"] == "no-cache", name
    monkeypatch.setattr(version, "RENDER_VERSION", "changed-code")
    again = (await client.post("/api/runs", json=body)).json()
    assert again["id"] == created["id"] and set(again["links"].values()).isdisjoint(links.values())


async def test_labels_are_bounded_in_bytes():
    import httpx

    app = create_app(settings_for_tests(max_batch_bytes=40_000))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.get("/api/runs/two_layer/labels?start=0&stop=50")
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == "stop"
        assert (await c.get("/api/runs/two_layer/labels?start=0&stop=1")).status_code == 200


async def test_labels_name_an_unknown_module(client):
    r = await client.get("/api/runs/two_layer/labels?start=0&stop=1&collapse=nope")
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "collapse"


def _plain_lecture04_step(k: int) -> dict[str, float]:
    """Lecture 04's loop in plain PyTorch up to step k: the numbers the inspector must show."""
    import torch

    w = torch.tensor([1.0], requires_grad=True)
    xs, ys = [1.0, 2.0, 3.0], [2.0, 4.0, 6.0]
    out: dict[str, float] = {}
    for i in range(k + 1):
        x, y = xs[i % 3], ys[i % 3]
        y_hat = x * w
        y_hat.retain_grad()
        loss = (y_hat - y) ** 2
        loss.backward()
        if i == k:
            out = {"w": w.item(), "y_hat": y_hat.item(), "up": y_hat.grad.item(), "grad": w.grad.item(), "x": x}
        with torch.no_grad():
            w -= 0.01 * w.grad
        if i == k:
            out["after"] = w.item()
        w.grad.zero_()
    return out


def _rows(model, view):
    return {label: text for label, text, _cls, views in model["rows"] if view[0] in views}


async def test_the_inspector_is_the_servers_with_pytorchs_numbers(client):
    s = _plain_lecture04_step(2)
    item = (await client.get("/api/runs/lecture04/labels?start=2&stop=3")).json()[0]
    mul, w = item["nodes"]["op:2"], item["nodes"]["param:w"]
    assert _rows(mul, "forward")["value"] == repr(s["y_hat"]) and _rows(mul, "forward")["grad dL/d(node)"] == "—"
    assert _rows(mul, "backward")["grad dL/d(node)"] == repr(s["up"])
    assert _rows(mul, "pending")["grad dL/d(node)"] == "not reached yet in the backward pass"
    # upstream × local = downstream: the numbers shown satisfy it (float32, as autograd computed it)
    [into] = mul["chain"]["into"]["rows"]
    parts = [p[0] for p in into["claim"]]
    assert parts == [repr(s["up"]), " × ", repr(s["x"]), " = ", repr(s["grad"])]
    import torch

    assert (torch.tensor(float(parts[0])) * torch.tensor(float(parts[2]))).item() == float(parts[4])
    assert mul["local"]["lines"][:2] == ["z = a · b", "∂z/∂a = b"]
    assert _rows(w, "update")["before update"] == repr(s["w"]) and _rows(w, "update")["after update"] == repr(
        s["after"]
    )
    assert item["numbers"]["loss"] == f"{(s['y_hat'] - 6.0) ** 2:.4g}"
    assert item["numbers"]["params"]["w"]["grad"] == repr(s["grad"])


async def test_the_chinese_inspector_has_no_english_words(client):
    item = (await client.get("/api/runs/lecture04/labels?start=2&stop=3&lang=zh")).json()[0]
    words = [text for m in item["nodes"].values() for row in m["rows"] for text in row[:2]]
    words += [line for m in item["nodes"].values() if m["local"] for line in m["local"]["lines"]]
    words += [m["kind_text"] for m in item["nodes"].values()]
    english = {"value", "grad", "shape", "before", "after", "update", "input", "code", "operation", "parameter"}
    english |= {"order", "incoming", "stores", "usually"}  # identifiers (autograd, .grad) stay as they are
    found = {w for text in words for w in english if w in text.replace(".grad", "").replace("autograd", "")}
    assert not found, found


async def test_tensor_figures_hold_every_element_from_pytorch(client):
    created = await client.post("/api/runs", json={"scenario": "softmax", "params": {}})
    rid = created.json()["id"]
    step = (await client.get(f"/api/runs/{rid}/steps/3")).json()
    node = next(n for n in step["graph"]["nodes"] if n["id"] == "param:linear.weight")
    rows, cols = node["shape"]
    figures = (await client.get(f"/api/runs/{rid}/steps/3/tensors?node=param:linear.weight")).json()
    value = figures["value"]
    flat = [v for row in node["value"] for v in row]
    assert value["tips"] == [f"linear.weight[{i // cols}, {i % cols}] = {v!r}" for i, v in enumerate(flat)]
    assert (value["rows"], value["cols"], value["grid"]) == (rows, cols, True)
    top = max(abs(v) for v in flat)
    assert value["shades"] == [round(v / top, 3) for v in flat] and value["high"] == f"+{top:.4g}"
    assert [float(c) for c in value["cells"]] == pytest.approx(flat, rel=1e-3)
    assert all(repr(g) in figures["grad"]["listing"] for row in node["grad"] for g in row)
    missing = await client.get(f"/api/runs/{rid}/steps/3/tensors?node=op:nope")
    assert missing.status_code == 404 and missing.json()["detail"][0]["field"] == "node"
    assert (await client.get(f"/api/runs/{rid}/steps/3/tensors?node=op:1")).status_code == 200
    assert (await client.get(f"/api/runs/{rid}/steps/99999/tensors?node=op:1")).status_code == 404


@pytest.mark.parametrize("scenario", ["lecture04", "two_layer"])
async def test_the_labels_limit_a_422_names_is_one_that_answers(scenario):
    """The most steps of labels per call is estimated from the first step's measured labels: asking for that many
    answers (within max_batch_bytes), one more is refused up front (no body built then thrown away)."""
    import httpx

    bound = 300_000
    app = create_app(settings_for_tests(max_batch_bytes=bound))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        refused = await c.get(f"/api/runs/{scenario}/labels?start=0&stop=200&lang=zh")
        assert refused.status_code == 422
        most = refused.json()["detail"][0]["args"]["most"]  # the words are Chinese (lang=zh): read the data
        ok = await c.get(f"/api/runs/{scenario}/labels?start=0&stop={most}&lang=zh")
        assert ok.status_code == 200 and len(ok.content) <= bound, (most, len(ok.content))
        assert len(ok.json()) == most
