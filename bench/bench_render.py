"""Render benchmark against torchviz, same run, same graphs. Run: .venv/bin/python bench/bench_render.py

(1) Lecture 04, all 300 steps: per-step SVG. Ours draws from the cached layout (Graphviz ran once, for step 0);
    torchviz runs `make_dot(loss, params={"w": w}).pipe(format="svg")` at every step of the plain lecture loop.
    Steady state = median over steps 1..299 (the first, layout-computing render is reported separately).
    Goal: ours >= 20x faster.
(2) A ResNet-style conv net of ~200 autograd nodes: the first SVG fully expanded (expand="*": it would open
    collapsed otherwise, see bench_models.py for first views), ours (with values and gradients, including
    the one Graphviz layout, on a fresh cache) vs torchviz's make_dot + pipe on the same loss. Goal: <= 1.5x.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
import torch.nn.functional as F
from backprop_lens.render import LayoutCache, render
from backprop_lens.snapshot import Graph
from torch import nn
from torchviz import make_dot

REPEATS = 15


def cpu() -> float:
    """CPU seconds of this process (all threads) plus its finished children (`dot`, `rsvg-convert`)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.2f} ms"


# --- (1) Lecture 04 per step ------------------------------------------------------------------------------


def torchviz_lecture04() -> list[float]:
    """The plain Lecture 04 loop; each step's loss graph rendered by torchviz before backward."""
    x_data, y_data = [1.0, 2.0, 3.0], [2.0, 4.0, 6.0]
    w = torch.tensor([1.0])
    w.requires_grad = True
    times = []
    for _epoch in range(100):
        for x, y in zip(x_data, y_data, strict=True):
            loss = (x * w - y) ** 2
            t0 = time.perf_counter()
            make_dot(loss, params={"w": w}).pipe(format="svg")
            times.append(time.perf_counter() - t0)
            loss.backward()
            w.data = w.data - 0.01 * w.grad.data
            w.grad.data.zero_()
    return times


def lecture04_steps() -> list[Any]:
    try:
        from backprop_lens.scenarios import build_run
    except ImportError:  # tracer not there yet: hand-made snapshots of the same maths
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from render_fixtures import lecture04_step

        print("   (backprop_lens.scenarios missing: using hand-made Lecture 04 snapshots)")
        return [lecture04_step(k) for k in range(300)]
    run = build_run("lecture04", {})
    return run.steps(0, run.step_count) if hasattr(run, "steps") else [run.step(k) for k in range(300)]


def bench_lecture04() -> float:
    print("(1) Lecture 04: per-step SVG, 300 steps")
    steps = lecture04_steps()
    cache = LayoutCache()
    t0 = time.perf_counter()
    first = render(steps[0], cache=cache)
    t_first = time.perf_counter() - t0
    ours = []
    for s in steps[1:]:
        t0 = time.perf_counter()
        render(s, cache=cache)
        ours.append(time.perf_counter() - t0)
    assert cache.misses == 1, "later steps must reuse the layout"
    tv = torchviz_lecture04()
    ours_med, tv_med = statistics.median(ours), statistics.median(tv[1:])
    print(f"   ours, first step (with the Graphviz layout): {ms(t_first)}  ({len(first)} bytes)")
    print(f"   ours, steady state median of {len(ours)}:      {ms(ours_med)}")
    print(f"   torchviz median of {len(tv) - 1}:                    {ms(tv_med)}")
    ratio = tv_med / ours_med
    print(f"   ratio torchviz / ours: {ratio:.1f}x faster  (goal >= 20x) {'OK' if ratio >= 20 else 'MISSED'}")
    return ratio


# --- (2) ResNet-style conv net, first SVG ------------------------------------------------------------------


class Block(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))) + x)


class ResNetish(nn.Module):
    def __init__(self, c: int = 8, blocks: int = 14, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c)
        self.blocks = nn.Sequential(*[Block(c) for _ in range(blocks)])
        self.fc = nn.Linear(c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(F.relu(self.bn(self.stem(x))))
        return self.fc(F.adaptive_avg_pool2d(h, 1).flatten(1))


def trace_graph(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Any:
    import backprop_lens.tracing as tr

    params = dict(model.named_parameters())
    if hasattr(tr, "trace"):
        ctx = tr.trace(params=params)
    else:
        ctx = tr.Tracer(params=params, modules=dict(model.named_modules()))
    with ctx as t:
        loss = F.cross_entropy(model(x), y)
        loss.backward()
    return t.graph


def count_autograd_nodes(loss: torch.Tensor) -> int:
    seen, todo = set(), [loss.grad_fn]
    while todo:
        fn = todo.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        todo.extend(f for f, _ in fn.next_functions)
    return len(seen)


def bench_resnet() -> float:
    print("(2) ResNet-style conv net: first SVG with values and gradients")
    torch.manual_seed(0)
    model = ResNetish()
    x, y = torch.randn(2, 3, 8, 8), torch.tensor([1, 2])
    graph = trace_graph(model, x, y)
    model.zero_grad()
    loss = F.cross_entropy(model(x), y)
    kinds: dict[str, int] = {}
    for n in graph.nodes:
        kinds[n.kind] = kinds.get(n.kind, 0) + 1
    print(f"   autograd nodes (grad_fn walk): {count_autograd_nodes(loss)}; our graph: {len(graph.nodes)} nodes "
          f"{kinds}, {len(graph.edges)} edges")  # fmt: skip
    params = dict(model.named_parameters())
    ours, tv, ours_cpu, tv_cpu = [], [], [], []
    for _ in range(REPEATS):  # interleaved, so both see the same machine load
        c0, t0 = cpu(), time.perf_counter()
        # a fresh cache and a fresh graph object: the Graphviz layout and the tensor conversion, every time
        svg = render(Graph(graph.nodes, graph.edges), cache=LayoutCache(), expand="*")
        ours.append(time.perf_counter() - t0)
        ours_cpu.append(cpu() - c0)
        c0, t0 = cpu(), time.perf_counter()
        tv_svg = make_dot(loss, params=params).pipe(format="svg")
        tv.append(time.perf_counter() - t0)
        tv_cpu.append(cpu() - c0)
    cache = LayoutCache()
    render(graph, cache=cache, expand="*")
    again = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        render(graph, cache=cache, expand="*")
        again.append(time.perf_counter() - t0)
    ours_med, tv_med = statistics.median(ours), statistics.median(tv)
    pairs = sorted(o / t for o, t in zip(ours, tv, strict=True))  # each repeat's ratio: the spread under load
    cpu_pairs = sorted(o / t for o, t in zip(ours_cpu, tv_cpu, strict=True))
    modules = len({n.module for n in graph.nodes if n.module})
    print(f"   load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"   ours first SVG, median of {REPEATS}: {ms(ours_med)}  ({len(svg) // 1024} KiB, {modules} module frames)")
    print(f"   torchviz, median of {REPEATS}:       {ms(tv_med)}  ({len(tv_svg) // 1024} KiB)")
    print(f"   ours, later steps (cached layout): {ms(statistics.median(again))}")
    print(
        f"   CPU time (ours incl. dot, torchviz incl. dot), medians: {ms(statistics.median(ours_cpu))} vs "
        f"{ms(statistics.median(tv_cpu))}  (a loaded machine skews wall time, CPU time less so)"
    )
    print(
        f"   per-repeat ratios ours / torchviz: wall min {pairs[0]:.2f} median {statistics.median(pairs):.2f} "
        f"max {pairs[-1]:.2f}; CPU min {cpu_pairs[0]:.2f} median {statistics.median(cpu_pairs):.2f} "
        f"max {cpu_pairs[-1]:.2f}"
    )
    ratio = ours_med / tv_med
    cpu_ratio = statistics.median(ours_cpu) / statistics.median(tv_cpu)
    print(
        f"   ratio ours / torchviz (medians): wall {ratio:.2f}x, CPU {cpu_ratio:.2f}x  (goal <= 1.5x) "
        f"{'OK' if ratio <= 1.5 else 'MISSED'}"
    )
    return ratio


def main() -> int:
    r1 = bench_lecture04()
    r2 = bench_resnet()
    print(f"summary: lecture04 steady state {r1:.1f}x faster than torchviz; resnet first SVG {r2:.2f}x torchviz")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
