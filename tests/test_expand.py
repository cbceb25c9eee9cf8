"""Big graphs open collapsed and expand on request: `expand=` in render, `?expand=` on graph.{fmt} and labels,
`render --expand` (issue 16).

The big graph is a user's model traced through the Python API (12+ residual blocks of nn.Linear + ReLU, in
stages); the web app serves built-in scenarios only, so its query parameters are checked on `two_layer`."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from typing import Any

import pytest
import torch
from backprop_lens.api import trace
from backprop_lens.render import LIMIT, BadArgument, LayoutCache, label_slots, modules_of, render
from backprop_lens.snapshot import Graph, Step
from torch import nn

NS = "{http://www.w3.org/2000/svg}"


class Block(nn.Module):
    """A small residual block: three Linear layers with ReLUs, plus the skip connection."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x))))))


class Net(nn.Module):
    """stages.S.B.fcN: three levels of modules below the top, as ResNet's layer1.0.conv1."""

    def __init__(self, c: int = 4, stages: int = 4, blocks: int = 8) -> None:
        super().__init__()
        self.stages = nn.Sequential(*[nn.Sequential(*[Block(c) for _ in range(blocks)]) for _ in range(stages)])
        self.head = nn.Linear(c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(x))


@pytest.fixture(scope="module")
def big() -> dict[str, Any]:
    """The traced step and, for the same model and input, plain PyTorch's loss and gradients (no tracer)."""
    torch.manual_seed(0)
    model, x = Net(), torch.randn(2, 4)
    params = dict(model.named_parameters())
    plain_loss = model(x).pow(2).mean()
    grads = dict(zip(params, torch.autograd.grad(plain_loss, list(params.values())), strict=True))
    with trace(model) as t:
        loss = model(x).pow(2).mean()
        loss.backward()
    step = Step(index=0, epoch=0, sample=None, loss=loss.item(), params={}, graph=t.graph)
    return {"graph": t.graph, "step": step, "loss": plain_loss.item(), "grads": grads}


def drawn(svg: bytes) -> dict[str, ET.Element]:
    """Every drawn box (a node or a collapsed module) by its id."""
    return {g.get("data-node-id", ""): g for g in ET.fromstring(svg).iter(f"{NS}g") if g.get("data-node-id")}


def boxes(svg: bytes) -> set[str]:
    return {i for i, g in drawn(svg).items() if g.get("data-kind") == "module"}


def size(svg: bytes) -> tuple[float, float]:
    root = ET.fromstring(svg)
    return float(root.get("width", 0)), float(root.get("height", 0))


def test_the_big_graph_is_big_and_plain_pytorch_agrees(big: dict[str, Any]) -> None:
    graph: Graph = big["graph"]
    assert len(graph.nodes) > 3 * LIMIT
    assert "stages.0.1.fc1" in modules_of(graph)
    data = json.loads(render(graph, fmt="json", expand="*"))
    by_id = {n["id"]: n for n in data["nodes"]}
    for name, g in big["grads"].items():  # the numbers behind every picture are PyTorch's own
        assert torch.allclose(torch.tensor(by_id[f"param:{name}"]["grad"]), g, rtol=1e-5, atol=1e-7), name
    (loss,) = [n for n in data["nodes"] if n["is_loss"]]
    assert loss["value"] == pytest.approx(big["loss"], rel=1e-6)
    assert json.loads(render(graph, fmt="json")) == data  # JSON is the whole step, collapsed or not


def test_first_view_has_at_most_limit_boxes_and_expand_all_draws_every_node(big: dict[str, Any]) -> None:
    graph: Graph = big["graph"]
    first = render(graph, cache=LayoutCache())
    shown = drawn(first)
    assert len(shown) <= LIMIT
    assert boxes(first)  # collapsed to module boxes, not just trimmed
    full = render(graph, cache=LayoutCache(), expand="*")
    every = drawn(full)
    assert {n.id for n in graph.nodes if n.kind == "op"} <= set(every)
    assert set(every) == {n.id for n in graph.nodes} and not boxes(full)
    w1, h1 = size(first)
    w2, h2 = size(full)
    assert w1 * h1 < w2 * h2 / 2  # the first view's canvas is a fraction of the full one


def test_expanding_one_module_opens_it_and_leaves_the_others_collapsed(big: dict[str, Any]) -> None:
    graph: Graph = big["graph"]
    first = boxes(render(graph))
    target = "module:stages.0.1"
    assert target in first  # the first view draws each block as one box
    opened = render(graph, expand="stages.0.1")
    now = boxes(opened)
    assert target not in now
    assert {"module:stages.0.1.fc1", "module:stages.0.1.fc2", "module:stages.0.1.fc3"} <= now  # its children
    own = {n.id for n in graph.nodes if n.module == "stages.0.1"}  # the block's own ReLUs and skip addition
    assert own and own <= set(drawn(opened))
    assert first - {target} <= now  # every other block stays one box
    assert len(drawn(opened)) <= LIMIT
    # deeper: opening one Linear opens its block and stage too, the block's other children stay boxes
    deep = boxes(render(graph, expand="stages.2.5.fc2"))
    assert "module:stages.2.5" not in deep and "module:stages.2.5.fc2" not in deep
    assert {"module:stages.2.5.fc1", "module:stages.2.5.fc3", "module:stages.0.1"} <= deep
    assert render(graph, expand="stages.2.5.fc2,stages.2.5.fc2") == render(graph, expand=["stages.2.5.fc2"])


def texts(svg: bytes) -> dict[str, str]:
    """Every data-label's text of a picture, by slot."""
    out = {}
    for el in ET.fromstring(svg).iter():
        if el.get("data-label"):
            out[el.get("data-label", "")] = "".join(el.itertext())
    return out


def test_every_value_shown_collapsed_equals_the_expanded_pictures(big: dict[str, Any]) -> None:
    graph: Graph = big["graph"]
    for phase in ("forward", "backward"):
        small, full = texts(render(graph, phase=phase)), texts(render(graph, phase=phase, expand="*"))
        common = set(small) & set(full)
        assert len(common) > 20
        assert {k: small[k] for k in common} == {k: full[k] for k in common}  # nodes and edges drawn in both
        # a collapsed module lists its parameters: each value (and gradient) as the expanded node shows it
        checked = 0
        for box in boxes(render(graph, phase=phase)):
            path, row = box.removeprefix("module:"), 0
            while f"n:{box}:{row}:k" in small:
                name = small[f"n:{box}:{row}:k"]
                node = f"n:param:{path}.{name}"
                assert small[f"n:{box}:{row}:v"] == full[f"{node}:0:v"], (box, name)
                if phase == "backward":
                    assert small[f"n:{box}:{row + 1}:k"] == full[f"{node}:1:k"] == "grad"
                    assert small[f"n:{box}:{row + 1}:v"] == full[f"{node}:1:v"], (box, name)
                row += 2 if phase == "backward" else 1
                checked += 1
        assert checked >= 32 * 6  # every block's six parameters
    slots = label_slots(big["step"], expand="stages.0.1")["texts"]  # the page's slots follow expand too
    assert "n:module:stages.0.1.fc1:title" in slots and "n:module:stages.0.1:title" not in slots


def test_an_unknown_module_to_expand_is_named(big: dict[str, Any]) -> None:
    for bad in ("nope", "stages.0.1,nope", "stages.0.1.fc1.weight"):
        with pytest.raises(BadArgument) as e:
            render(big["graph"], expand=bad)
        assert e.value.field == "expand" and "expand" in str(e.value) and "stages.0.1" in str(e.value)


# ---------------------------------------------------------------------------------------- the web app


URL = "/api/runs/two_layer/steps/3/graph"


BAD = [("svg", "nope"), ("svg", "layer1,nope"), ("svg", "layer"), ("png", "nope"), ("dot", "nope"), ("json", "nope")]


@pytest.mark.parametrize(("fmt", "expand"), BAD)
async def test_unknown_expand_is_a_422_naming_expand(client, fmt, expand):
    r = await client.get(f"{URL}.{fmt}", params={"expand": expand})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["detail"][0]["field"] == "expand"
    assert "expand" in body["message"] and "layer1" in body["message"]  # says which modules exist


async def test_unknown_expand_on_labels_is_a_422(client):
    r = await client.get("/api/runs/two_layer/labels", params={"start": 0, "stop": 1, "expand": "nope"})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == "expand"


async def test_expand_reopens_named_boxes_and_star_opens_everything(client):
    both = await client.get(f"{URL}.svg", params={"collapse": "layer1,layer2", "expand": "layer1"})
    alone = await client.get(f"{URL}.svg", params={"collapse": "layer2"})
    assert both.status_code == alone.status_code == 200, both.text
    assert boxes(both.content) == {"module:layer2"}  # expand wins over collapse, the other box stays
    assert both.content == alone.content
    plain = await client.get(f"{URL}.svg", params={"expand": "*"})  # two_layer opens collapsed (too wide)
    star = await client.get(f"{URL}.svg", params={"collapse": "layer1", "expand": "*"})
    assert star.status_code == 200 and not boxes(star.content)
    assert star.content == plain.content
    dot = await client.get(f"{URL}.dot", params={"collapse": "layer1,layer2", "expand": "layer2"})
    assert 'id="module:layer1"' in dot.text and 'id="module:layer2"' not in dot.text


async def test_expand_spellings_share_one_body(client):
    a = await client.get(f"{URL}.svg", params={"collapse": "layer1,layer2", "expand": "layer2,layer1"})
    b = await client.get(f"{URL}.svg", params={"collapse": "layer1,layer2", "expand": " layer1 , layer2,layer1,"})
    assert a.status_code == b.status_code == 200
    assert a.content == b.content and a.headers["etag"] == b.headers["etag"]
    assert not boxes(a.content)  # both boxes opened again
    star = await client.get(f"{URL}.svg", params={"collapse": "layer1", "expand": "layer2,*"})
    only = await client.get(f"{URL}.svg", params={"collapse": "layer1", "expand": "*"})
    assert star.status_code == 200 and star.headers["etag"] == only.headers["etag"]  # "*" with others is "*"


async def test_labels_follow_expand_as_the_picture_does(client):
    base = "/api/runs/two_layer/labels"
    got = await client.get(base, params={"start": 3, "stop": 4, "collapse": "layer1,layer2", "expand": "layer1"})
    want = await client.get(base, params={"start": 3, "stop": 4, "collapse": "layer2"})
    assert got.status_code == want.status_code == 200, got.text
    assert got.json()[0]["phases"] == want.json()[0]["phases"]
    texts = got.json()[0]["phases"]["backward"]["texts"]
    assert "n:module:layer2:title" in texts and "n:module:layer1:title" not in texts


# ---------------------------------------------------------------------------------------- the command line


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "backprop_lens", "render", "two_layer", "--step", "0", *args]
    return subprocess.run(cmd, capture_output=True, text=True)


def test_cli_render_expand(tmp_path):
    out = tmp_path / "g.svg"
    ok = cli("-o", str(out), "--collapse", "layer1,layer2", "--expand", "layer1")
    assert ok.returncode == 0, ok.stderr
    assert boxes(out.read_bytes()) == {"module:layer2"}  # expand wins over collapse, as ?expand= does
    bad = cli("-o", str(out), "--expand", "nope")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "expand" in bad.stderr and "'nope'" in bad.stderr and "layer1" in bad.stderr  # the reason, named
