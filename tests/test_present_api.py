"""The present endpoints: messages, labels (the same strings as the SVG, by slot), log.json, scenarios in zh,
graph.svg?lang=zh and ?fit=slide, and cache keys that change with the code version."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from backprop_lens.render import version
from backprop_lens.scenarios import build_run
from backprop_lens.web import Settings, create_app

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


async def test_a_changed_version_changes_etags_and_immutable_urls(monkeypatch):
    async def fetch(path: str) -> tuple[str, str]:
        import httpx

        app = create_app(Settings(warm_up=False))
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

    app = create_app(Settings(warm_up=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        stale = await c.get(f"{path}?v={v1}")  # an old page's URL: fresh bytes, never cached forever
        assert stale.status_code == 200 and stale.headers["cache-control"] == "no-cache"


async def test_labels_are_bounded_in_bytes():
    import httpx

    app = create_app(Settings(warm_up=False, max_batch_bytes=40_000))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.get("/api/runs/two_layer/labels?start=0&stop=50")
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == "stop"
        assert (await c.get("/api/runs/two_layer/labels?start=0&stop=1")).status_code == 200


async def test_labels_name_an_unknown_module(client):
    r = await client.get("/api/runs/two_layer/labels?start=0&stop=1&collapse=nope")
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "collapse"
