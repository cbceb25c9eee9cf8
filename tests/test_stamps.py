"""Repeated blocks open share one layout (issue 16): ResNet's layer1.0 and layer1.1 expanded look alike box for
box, Graphviz lays each group's block out once, and the composed picture holds together: no overlaps, every box
in its frames, every edge one continuous line from its source's box to its target's, the values unchanged."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from backprop_lens.api import trace
from backprop_lens.render import LayoutCache, compose, layout_for, make_view, render
from backprop_lens.render import layout as layout_mod
from backprop_lens.render.layout import Box, Layout
from backprop_lens.render.stamps import stamp_groups
from backprop_lens.render.view import View
from torch import nn

from tests.test_first_view import _boxes

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")


@pytest.fixture(scope="module")
def resnet() -> Any:
    from tests.test_first_view import ResNet18

    torch.manual_seed(0)
    model = ResNet18()
    with trace(model) as t:
        nn.functional.cross_entropy(model(torch.randn(1, 3, 64, 64)), torch.tensor([3])).backward()
    return t.graph


class Twin(nn.Module):
    """Two alike blocks side by side: a shallow graph (drawn left to right) with chain-rule labels on edges."""

    def __init__(self) -> None:
        super().__init__()
        self.left = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
        self.right = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.left(x) * self.right(x)


@pytest.fixture(scope="module")
def twin() -> Any:
    torch.manual_seed(0)
    model = Twin()
    with trace(model) as t:
        model(torch.randn(4, 2)).pow(2).mean().backward()
    return t.graph


def _inside(inner: Box, outer: Box, slack: float = 0.5) -> bool:
    return (
        inner.x >= outer.x - slack
        and inner.y >= outer.y - slack
        and inner.x + inner.w <= outer.x + outer.w + slack
        and inner.y + inner.h <= outer.y + outer.h + slack
    )


def _distance_to(box: Box, x: float, y: float) -> float:
    """How far a point is from a box's border (0 on it, or inside it)."""
    dx = max(box.x - x, 0.0, x - (box.x + box.w))
    dy = max(box.y - y, 0.0, y - (box.y + box.h))
    return float((dx * dx + dy * dy) ** 0.5)


def _segments(path: str) -> Iterator[tuple[str, list[tuple[float, float]]]]:
    for op, coords in re.findall(r"([MCL])([^MCL]+)", path):
        yield op, [tuple(float(v) for v in pair.split(",")) for pair in coords.split()]  # type: ignore[misc]


def _check_geometry(view: View, layout: Layout) -> None:
    drawn = {**{n.id: n for n in view.nodes}, **{b.id: b for b in view.boxes}}
    assert set(layout.nodes) == set(drawn)
    canvas = Box(0, 0, layout.width, layout.height)
    boxes = list(layout.nodes.items())
    for i, (a, ba) in enumerate(boxes):
        assert _inside(ba, canvas), a
        for b, bb in boxes[i + 1 :]:
            apart = ba.x + ba.w <= bb.x or bb.x + bb.w <= ba.x or ba.y + ba.h <= bb.y or bb.y + bb.h <= ba.y
            assert apart, (a, b)
    for item, path in view.owner.items():  # each box inside every frame around it
        while path is not None:
            assert _inside(layout.nodes[item], layout.clusters[path].box), (item, path)
            path = path.rpartition(".")[0] or None
    for c in view.clusters:
        assert _inside(layout.clusters[c.path].box, canvas)
        if c.parent is not None:
            assert _inside(layout.clusters[c.path].box, layout.clusters[c.parent].box), c.path
    for d, geo in zip(view.edges, layout.edges, strict=True):
        parts = list(_segments(geo.path))
        assert parts and parts[0][0] == "M"
        end = parts[0][1][-1]
        for op, points in parts[1:]:
            # a join between pieces closes a gap of a few points at most (whole-point ports: see compose._ported)
            if op == "L":
                assert abs(points[0][0] - end[0]) <= 3 and abs(points[0][1] - end[1]) <= 3, (d, geo.path)
            end = points[-1]
        start = parts[0][1][0]
        assert _distance_to(layout.nodes[d.source], *start) <= 2, (d, geo.path)
        tip = tuple(float(v) for v in geo.arrow.split()[0].split(","))
        assert _distance_to(layout.nodes[d.target], *tip) <= 2, (d, geo.arrow)


def _relative(layout: Layout, path: str, items: tuple[str, ...]) -> list[tuple[float, float, float, float]]:
    frame = layout.clusters[path].box
    return [(round(b.x - frame.x, 2), round(b.y - frame.y, 2), b.w, b.h) for b in (layout.nodes[i] for i in items)]


def test_alike_open_blocks_are_found_and_drawn_alike(resnet: Any) -> None:
    view = make_view(resnet, expand="*")
    groups = stamp_groups(view)
    assert [[s.path for s in g] for g in groups] == [["layer1.0", "layer1.1"], ["layer2", "layer3", "layer4"]]
    layout = layout_for(view, cache=LayoutCache())
    for group in groups:
        first, *rest = group
        shape = _relative(layout, first.path, first.items)
        frame = layout.clusters[first.path].box
        for other in rest:
            assert _relative(layout, other.path, other.items) == shape  # box for box, to the hundredth
            assert (layout.clusters[other.path].box.w, layout.clusters[other.path].box.h) == (frame.w, frame.h)
    # the expanded pair of the issue: layer1.0 and layer1.1 open (their layers as boxes) look alike too
    pair = make_view(resnet, expand="layer1.0,layer1.1")
    (blocks,) = [g for g in stamp_groups(pair) if g[0].path == "layer1.0"]
    laid = layout_for(pair, cache=LayoutCache())
    assert _relative(laid, "layer1.0", blocks[0].items) == _relative(laid, "layer1.1", blocks[1].items)


def test_each_block_is_laid_out_once(resnet: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    sources: list[str] = []
    real = compose.run_dot

    def spy(source: str) -> Any:
        sources.append(source)
        return real(source)

    monkeypatch.setattr(compose, "run_dot", spy)
    view = make_view(resnet, expand="*")
    layout_mod.compute_layout(view)
    groups = stamp_groups(view)
    assert len(sources) == len(groups) + 1  # a run per group, one for the rest
    index = {n.id: i for i, n in enumerate(resnet.nodes)}
    for group in groups:  # a block's DOT has its first copy's boxes, no other copy's
        (inner,) = [s for s in sources[:-1] if f"n{index[group[0].items[0]]} [" in s]
        for other in group[1:]:
            assert not any(f"n{index[i]} [" in inner for i in other.items if i in index)


def test_the_composed_resnet_holds_together(resnet: Any) -> None:
    for expand in ("*", "layer1.0,layer1.1", "layer2.0,layer2.1,layer3.0,layer3.1"):
        view = make_view(resnet, expand=expand)
        assert stamp_groups(view)
        _check_geometry(view, layout_for(view, cache=LayoutCache()))
    svg = render(resnet, cache=LayoutCache(), expand="*")
    rects = list(_boxes(svg).values())  # the drawn SVG too: no box over another
    for i, (x, y, w, h) in enumerate(rects):
        for x2, y2, w2, h2 in rects[i + 1 :]:
            assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y


def test_a_shallow_twin_is_drawn_left_to_right_with_its_labels(twin: Any) -> None:
    view = make_view(twin, expand="*")
    groups = stamp_groups(view)
    assert [[s.path for s in g] for g in groups] == [["left", "right"]]
    layout = layout_for(view, cache=LayoutCache())
    assert layout.rankdir == "LR" and layout.edge_labels
    _check_geometry(view, layout)
    assert _relative(layout, "left", groups[0][0].items) == _relative(layout, "right", groups[0][1].items)
    graph_nodes = {n.id: n for n in twin.nodes}
    labels = []
    for d, geo in zip(view.edges, layout.edges, strict=True):
        if graph_nodes[d.edge.source].kind not in ("data", "const"):  # every edge a gradient flows along
            assert geo.label is not None, d
            labels.append(geo.label)
    for label in labels:  # chain-rule labels clear of the boxes
        for box in layout.nodes.values():
            assert (
                label.x + label.w <= box.x
                or box.x + box.w <= label.x
                or label.y + label.h <= box.y
                or (box.y + box.h <= label.y)
            )


def _texts(svg: bytes) -> dict[str, str]:
    """Each drawn node's words and numbers, without positions."""
    return {
        g.get("data-node-id", ""): " ".join(g.itertext()) for g in ET.fromstring(svg).iter() if g.get("data-node-id")
    }


def test_stamping_moves_boxes_and_never_changes_a_word(resnet: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    composed = render(resnet, cache=LayoutCache(), expand="*")
    monkeypatch.setattr(layout_mod, "stamp_groups", lambda view: [])
    plain = render(resnet, cache=LayoutCache(), expand="*")
    assert _texts(composed) == _texts(plain) and len(_texts(plain)) == len(resnet.nodes)


def test_a_transformer_stack_draws_its_alike_layers_alike() -> None:
    """nn.TransformerEncoder's layers after the first (the first is fed by the input itself) share one layout."""
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(d_model=16, nhead=2, dim_feedforward=32, dropout=0.0, batch_first=True)
    model = nn.TransformerEncoder(layer, num_layers=3, enable_nested_tensor=False)
    with trace(model) as t:
        model(torch.randn(1, 5, 16)).pow(2).mean().backward()
    for expand in ("*", "layers.0,layers.1,layers.2"):
        view = make_view(t.graph, expand=expand)
        groups = {tuple(s.path for s in g): g for g in stamp_groups(view)}
        assert ("layers.1", "layers.2") in groups
        layout = layout_for(view, cache=LayoutCache())
        _check_geometry(view, layout)
        one, two = groups[("layers.1", "layers.2")]
        assert _relative(layout, one.path, one.items) == _relative(layout, two.path, two.items)
