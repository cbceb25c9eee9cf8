"""PNG benchmark: resvg (the `resvg-py` wheel we use) against librsvg's `rsvg-convert` (the subprocess we used
before), on the same SVG bytes at the same zoom, in the same run. Run: .venv/bin/python bench/bench_png.py

(1) Lecture 04, step 3 (6 nodes).  (2) A small MLP's step of ~60 autograd nodes (traced with backprop_lens.trace).
Each: median wall time of `repeats` rasterisations at the zoom we ship (`zoom_for`: 3x, at most MAX_PIXELS);
ratio = resvg / rsvg-convert (< 1: resvg is faster).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from backprop_lens import trace
from backprop_lens.render import LayoutCache, render
from backprop_lens.render.png import svg_to_png, zoom_for
from backprop_lens.scenarios import build_run
from torch import nn


def mlp_graph() -> Any:
    torch.manual_seed(0)
    model = nn.Sequential(*(m for _ in range(10) for m in (nn.Linear(3, 3), nn.Tanh())), nn.Linear(3, 1))
    x, y = torch.randn(4, 3), torch.randn(4, 1)
    with trace(model) as t:
        nn.functional.mse_loss(model(x), y).backward()
    return t.graph


def median_s(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench(name: str, graph_or_step: Any, repeats: int) -> None:
    svg = render(graph_or_step, fmt="svg", cache=LayoutCache())
    root = ET.fromstring(svg)
    width, height = float(root.get("width", "0")), float(root.get("height", "0"))
    nodes = svg.count(b'class="node')
    zoom = zoom_for(width, height)
    ours = median_s(lambda: svg_to_png(svg, width, height), repeats)
    px = width * height * zoom * zoom / 1e6
    line = f"{name:24} {nodes:3} nodes  zoom {zoom:4.2f} ({px:4.1f} Mpx)  resvg {ours * 1e3:8.1f} ms"
    exe = shutil.which("rsvg-convert")
    if exe:
        argv = [exe, "--format=png", f"--zoom={zoom:g}"]
        theirs = median_s(lambda: subprocess.run(argv, input=svg, capture_output=True, check=True), repeats)
        line += f"  rsvg-convert {theirs * 1e3:8.1f} ms  ratio {ours / theirs:5.2f}"
    else:
        line += "  (rsvg-convert not installed: no comparison)"
    print(line, flush=True)


def main() -> None:
    bench("lecture04 step 3", build_run("lecture04").step(3), repeats=5)
    bench("MLP (10 x Linear+Tanh)", mlp_graph(), repeats=1)


if __name__ == "__main__":
    main()
