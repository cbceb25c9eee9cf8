"""A big model's first view (issue 16): ResNet-18 opens at its blocks (layer1.0 ... layer4.1 as boxes, as
repeated blocks are recognised), in one column top to bottom, no boxes overlapping, the canvas no bigger than
what is drawn."""

from __future__ import annotations

import re
import shutil
from itertools import pairwise
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from backprop_lens.api import trace
from backprop_lens.render import LayoutCache, layout_for, make_view, render
from backprop_lens.render.blocks import block_depth, structures
from backprop_lens.render.collapse import LIMIT
from backprop_lens.render.labels import PAGE
from backprop_lens.render.legend import legend_width
from backprop_lens.render.svg import make_labels
from backprop_lens.render.view import modules_of, placed_modules
from torch import nn

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
BLOCKS = [f"layer{i}.{j}" for i in range(1, 5) for j in (0, 1)]


class BasicBlock(nn.Module):  # torchvision.models.resnet.BasicBlock's layout
    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample: nn.Module | None = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + identity)


class ResNet18(nn.Module):  # torchvision's resnet18 layout, narrow (the graph is the same size at any width)
    def __init__(self, width: int = 4, classes: int = 5) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths = [width, 2 * width, 4 * width, 8 * width]
        layers, inplanes = [], width
        for k, planes in enumerate(widths):
            stride = 1 if k == 0 else 2
            layers.append(nn.Sequential(BasicBlock(inplanes, planes, stride), BasicBlock(planes, planes)))
            inplanes = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(8 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


@pytest.fixture(scope="module")
def resnet_graph() -> Any:
    torch.manual_seed(0)
    model = ResNet18()
    with trace(model) as t:
        F.cross_entropy(model(torch.randn(1, 3, 64, 64)), torch.tensor([3])).backward()
    return t.graph


def test_resnet18_opens_at_its_blocks(resnet_graph: Any) -> None:
    assert len(resnet_graph.nodes) > LIMIT  # big enough to open collapsed
    view = make_view(resnet_graph)
    assert sorted(b.path for b in view.boxes) == BLOCKS  # not their 40-odd convolutions and norms
    # each block holds its own parameters, and nothing else is hidden
    for b in view.boxes:
        assert {p.name for p in b.params} == {n for n, _ in _params_of(b.path)}
    expanded = make_view(resnet_graph, expand="layer2.0")
    assert "layer2.0" not in {b.path for b in expanded.boxes} and "layer2.0.conv1" in {b.path for b in expanded.boxes}


def _params_of(path: str) -> list[tuple[str, Any]]:
    torch.manual_seed(0)
    return [(n, p) for n, p in ResNet18().named_parameters() if n.startswith(path + ".")]


def test_alike_blocks_have_one_structure(resnet_graph: Any) -> None:
    structure = structures(resnet_graph, placed_modules(resnet_graph))
    assert structure["layer1.0"] == structure["layer1.1"]  # same ops, same wiring
    assert structure["layer2.1"] == structure["layer3.1"] == structure["layer4.1"]  # shapes do not count
    assert structure["layer2.0"] != structure["layer2.1"]  # the downsampling one differs
    assert block_depth(modules_of(resnet_graph), structure) == 2


def _boxes(svg: bytes) -> dict[str, tuple[float, float, float, float]]:
    """Each drawn node's rectangle (x, y, w, h) in canvas units, from its group's translate and its first rect."""
    out = {}
    pattern = rb'<g id="[^"]*" class="node[^"]*" data-node-id="([^"]+)"[^>]*'
    pattern += rb'transform="translate\(([-\d.]+),([-\d.]+)\)">'
    for m in re.finditer(pattern, svg):
        rest = svg[m.end() : m.end() + 4000]
        rect = re.search(rb'<rect[^>]* width="([\d.]+)" height="([\d.]+)"', rest)
        assert rect is not None
        out[m.group(1).decode()] = (float(m.group(2)), float(m.group(3)), float(rect.group(1)), float(rect.group(2)))
    return out


@needs_dot
def test_the_first_view_is_one_column_on_a_trimmed_canvas(resnet_graph: Any) -> None:
    cache = LayoutCache()
    svg = render(resnet_graph, cache=cache)
    width, height = (float(v) for v in re.search(rb'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg).groups())  # type: ignore[union-attr]
    boxes = _boxes(svg)
    view = make_view(resnet_graph)
    assert set(boxes) == {n.id for n in view.nodes} | {b.id for b in view.boxes}
    # no two boxes overlap
    items = list(boxes.values())
    for i, (x, y, w, h) in enumerate(items):
        for x2, y2, w2, h2 in items[i + 1 :]:
            assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y
    # the canvas is what is drawn: boxes, frames and chain-rule labels span the layout, the layout the canvas
    # (less its margins, header and legend)
    layout = layout_for(view, cache=cache)
    drawn = [*layout.nodes.values(), *(c.box for c in layout.clusters.values())]
    drawn += [e.label for e in layout.edges if e.label is not None]
    left, right = min(b.x for b in drawn), max(b.x + b.w for b in drawn)
    top, bottom = min(b.y for b in drawn), max(b.y + b.h for b in drawn)
    assert right - left >= 0.97 * layout.width and bottom - top >= 0.97 * layout.height
    legend = legend_width(make_labels(view, "backward").legend)  # the legend is drawn too
    assert width <= max(layout.width, legend, 420) + 2 * PAGE.margin + 1
    assert height <= layout.height + 200
    # one direction: block after block downwards, in one column (a staircase spreads them across the canvas)
    blocks = [boxes[f"module:{b}"] for b in BLOCKS]
    assert all(a[1] + a[3] <= b[1] for a, b in pairwise(blocks))
    spread = max(x + w for x, _, w, _ in blocks) - min(x for x, _, _, _ in blocks)
    assert spread <= 2 * max(w for _, _, w, _ in blocks)
    assert height > 2 * width  # deep: it reads top to bottom
