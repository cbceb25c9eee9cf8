"""First view of a big graph: collapsed (render's default) against everything open (expand="*"), same run.

A stack of residual blocks (three nn.Linear + ReLU each, in stages: stages.S.B.fcN, as ResNet's layer1.0.conv1),
traced once through the Python API. Each repeat renders the SVG on a fresh layout cache and a fresh graph object,
so it pays what a first view pays: the tensors' conversion, the Graphviz layout and the drawing. Interleaved,
so both see the same machine load; medians, with the load average.

    .venv/bin/python bench/bench_expand.py [--stages 4 --blocks 8] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from backprop_lens.api import trace
from backprop_lens.render import LIMIT, LayoutCache, render
from backprop_lens.snapshot import Graph

from tests.test_expand import Net  # the test's model: 4 stages x 8 residual blocks by default


def traced(stages: int, blocks: int) -> Graph:
    torch.manual_seed(0)
    model = Net(c=8, stages=stages, blocks=blocks)
    with trace(model) as t:
        model(torch.randn(4, 8)).pow(2).mean().backward()
    return t.graph


def drawn(svg: bytes) -> tuple[int, str]:
    """(boxes drawn, canvas size) of a picture."""
    root = ET.fromstring(svg)
    boxes = sum(1 for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("data-node-id"))
    return boxes, f"{root.get('width')}x{root.get('height')} px"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stages", type=int, default=4)
    ap.add_argument("--blocks", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    graph = traced(args.stages, args.blocks)
    render(graph, fmt="dot")  # Graphviz's and the renderer's imports, outside the timings
    times: dict[str, list[float]] = {"first view": [], "expand=*": []}
    svgs: dict[str, bytes] = {}
    for _ in range(args.repeats):
        for name, expand in (("first view", None), ("expand=*", "*")):
            fresh = Graph(graph.nodes, graph.edges)  # no cached tensor conversion
            t0 = time.perf_counter()
            svgs[name] = render(fresh, cache=LayoutCache(), expand=expand)
            times[name].append(time.perf_counter() - t0)
    print(f"graph: {len(graph.nodes)} nodes, {len(graph.edges)} edges ({args.stages} stages x {args.blocks} blocks)")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; median of {args.repeats}")
    for name, ts in times.items():
        boxes, canvas = drawn(svgs[name])
        print(f"  {name:10}  {statistics.median(ts) * 1000:8.1f} ms  {boxes:5} boxes (LIMIT {LIMIT})  {canvas}")
    ratio = statistics.median(times["expand=*"]) / statistics.median(times["first view"])
    print(f"  expand=* / first view: {ratio:.1f}x")


if __name__ == "__main__":
    main()
