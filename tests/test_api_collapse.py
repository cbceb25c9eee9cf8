"""`?collapse=` on the graph endpoint: collapsed modules drawn as one box, validated names, its own cache entry."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from backprop_lens.scenarios import build_run

NS = "{http://www.w3.org/2000/svg}"
URL = "/api/runs/two_layer/steps/3/graph"


def module_paths() -> set[str]:
    """The two_layer scenario's module paths, read from its own graph (not hard-coded)."""
    return {n.module for n in build_run("two_layer", {}).step(0).graph.nodes if n.module}


def drawn(svg: bytes) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    return {g.get("data-node-id"): g for g in root.iter(f"{NS}g") if g.get("data-node-id")}


async def test_collapse_draws_module_boxes(client):
    modules = module_paths()
    assert {"layer1", "layer2"} <= modules
    full = await client.get(f"{URL}.svg", params={"expand": "*"})  # two_layer opens collapsed: too wide
    assert full.status_code == 200, full.text
    collapsed = await client.get(f"{URL}.svg", params={"collapse": "layer1,layer2"})
    assert collapsed.status_code == 200, collapsed.text
    graph = (await client.get("/api/runs/two_layer/steps/3")).json()["graph"]
    members = {n["id"] for n in graph["nodes"] if n["module"] in ("layer1", "layer2")}
    assert members and members <= set(drawn(full.content))
    nodes = drawn(collapsed.content)
    assert members.isdisjoint(nodes)
    assert {"module:layer1", "module:layer2"} <= set(nodes)
    box = nodes["module:layer1"]
    assert set(box.get("data-members").split()) == {n["id"] for n in graph["nodes"] if n["module"] == "layer1"}
    text = " ".join(t for t in box.itertext())
    assert "weight" in text and "bias" in text
    root = ET.fromstring(collapsed.content)
    assert root.get("data-collapse") == "layer1,layer2"


async def test_collapse_spelling_and_cache(client):
    a = await client.get(f"{URL}.svg", params={"collapse": "layer2,layer1"})
    b = await client.get(f"{URL}.svg", params={"collapse": " layer1 , layer2 ,"})
    assert a.status_code == b.status_code == 200
    assert a.content == b.content  # the same set, whatever the order and spaces
    plain = await client.get(f"{URL}.svg")
    empty = await client.get(f"{URL}.svg", params={"collapse": ""})
    assert plain.content == empty.content and plain.content != a.content
    assert plain.headers["etag"] != a.headers["etag"]  # a separate cache entry, not the uncollapsed bytes
    dot = await client.get(f"{URL}.dot", params={"collapse": "layer1"})
    assert dot.status_code == 200 and 'id="module:layer1"' in dot.text


@pytest.mark.parametrize("collapse", ["nope", "layer1,nope", "layer", "layer1.weight"])
@pytest.mark.parametrize("fmt", ["svg", "json"])
async def test_unknown_module_is_a_422_naming_collapse(client, collapse, fmt):
    r = await client.get(f"{URL}.{fmt}", params={"collapse": collapse})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["detail"][0]["field"] == "collapse"
    assert "collapse" in body["message"] and "layer1" in body["message"]  # says which modules exist


async def test_collapse_on_a_graph_without_modules(client):
    r = await client.get("/api/runs/lecture04/steps/0/graph.svg", params={"collapse": "linear"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "collapse"


async def test_overlong_collapse_is_a_422(client):
    r = await client.get(f"{URL}.svg", params={"collapse": "x" * 3000})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "collapse"


def test_cli_render_collapse(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "g.svg"
    cmd = [sys.executable, "-m", "backprop_lens", "render", "two_layer", "--step", "0", "-o", str(out)]
    ok = subprocess.run([*cmd, "--collapse", "layer1", "--collapse", "layer2"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    nodes = drawn(out.read_bytes())
    assert {"module:layer1", "module:layer2"} <= set(nodes)
    bad = subprocess.run([*cmd, "--collapse", "nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and "collapse" in bad.stderr and "Traceback" not in bad.stderr
