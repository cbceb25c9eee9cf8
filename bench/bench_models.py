"""Benchmark on real models: trace, JSON and first view against plain PyTorch and torchviz, in the same run.

Cases (each in a fresh subprocess, so first-trace import costs and memory growth are its own; each bounded by
--timeout seconds, a case over it prints "timed out"):
  resnet18    torchvision's ResNet-18 layout built from BasicBlocks here (no download), one 1x3x64x64 image
  transformer one nn.TransformerEncoderLayer (d_model 64, 4 heads, 16 tokens)
  wide        ~15k autograd nodes: 7,500 terms w[i] * i -> sin, stacked and summed (fan-in 7,500)
  chain1k     a 1,000-op chain of single-input ops
  chain10k    a 10,000-op chain
Each prints: plain forward+backward, our trace (ratio), memory growth, for resnet18 the floor of any trace
(`floor_pass`), our first view (render's default: collapsed when big), torchviz make_dot(...).pipe("svg")
(ratio), for resnet18, transformer and chain1k the full picture (render(graph, expand="*"), every node drawn)
against torchviz, and to_dict + JSON as the step endpoint writes it (step_to_dict's conversion, then
responses.dumps; + JSON size).

    .venv/bin/python bench/bench_models.py [CASE ...] [--timeout 60]
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

CASES = ("resnet18", "transformer", "wide", "chain1k", "chain10k")


# --- models (torch imported inside the case process only) ---------------------------------------------------
def resnet18() -> tuple[Any, Callable[[], Any], dict[str, Any]]:
    import torch
    import torch.nn.functional as F
    from torch import nn

    class BasicBlock(nn.Module):  # torchvision.models.resnet.BasicBlock's layout
        expansion = 1

        def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Any = None) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample

        def forward(self, x: Any) -> Any:
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            if self.downsample is not None:
                identity = self.downsample(x)
            return self.relu(out + identity)

    class ResNet18(nn.Module):
        def __init__(self, classes: int = 1000) -> None:
            super().__init__()
            self.inplanes = 64
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            self.layer1 = self._layer(64, 1)
            self.layer2 = self._layer(128, 2)
            self.layer3 = self._layer(256, 2)
            self.layer4 = self._layer(512, 2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512, classes)

        def _layer(self, planes: int, stride: int) -> nn.Sequential:
            down = None
            if stride != 1 or self.inplanes != planes:
                down = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
            blocks = [BasicBlock(self.inplanes, planes, stride, down), BasicBlock(planes, planes)]
            self.inplanes = planes
            return nn.Sequential(*blocks)

        def forward(self, x: Any) -> Any:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    torch.manual_seed(0)
    model = ResNet18()
    x, y = torch.randn(1, 3, 64, 64), torch.tensor([3])
    return model, lambda: F.cross_entropy(model(x), y), dict(model.named_parameters())


def transformer() -> tuple[Any, Callable[[], Any], dict[str, Any]]:
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, dropout=0.0, batch_first=True)
    x = torch.randn(1, 16, 64)
    return model, lambda: model(x).pow(2).mean(), dict(model.named_parameters())


def wide() -> tuple[Any, Callable[[], Any], dict[str, Any]]:
    import torch

    w = torch.randn(7500, requires_grad=True)

    def loss() -> Any:
        return torch.stack([torch.sin(w[i] * float(i % 7 + 1)) for i in range(0, 7500, 2)]).sum()

    return None, loss, {"w": w}


def chain(n: int) -> Callable[[], tuple[Any, Callable[[], Any], dict[str, Any]]]:
    def make() -> tuple[Any, Callable[[], Any], dict[str, Any]]:
        import torch

        w = torch.tensor([0.5], requires_grad=True)

        def loss() -> Any:
            h = w
            for i in range(n):
                h = torch.sin(h) if i % 2 else h * 1.001
            return h.sum()

        return None, loss, {"w": w}

    return make


MODELS = {
    "resnet18": resnet18,
    "transformer": transformer,
    "wide": wide,
    "chain1k": chain(1000),
    "chain10k": chain(10_000),
}


# --- one case, in its own process ------------------------------------------------------------------------------
def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def plain_pass(loss_fn: Callable[[], Any], params: dict[str, Any]) -> float:
    def once() -> None:
        loss_fn().backward()
        for p in params.values():
            p.grad = None

    once()  # warm-up: allocator, kernels
    return min(timed(once)[0] for _ in range(3))


def floor_pass(loss_fn: Callable[[], Any], params: dict[str, Any]) -> float:
    """What any trace that records what ours records must do, without our bookkeeping: forward; backward with
    every op node called on ones in a post-hook (its local derivatives, kept) and every gradient held (so each
    `.grad` is a copy); the parameters' values copied. No graph, no relations: the seconds of one run."""
    import torch
    from backprop_lens.tracing.walk import Walk

    def once() -> list[Any]:
        loss = loss_fn()
        kept: list[Any] = []

        def hook(gf: Any) -> Callable[..., None]:
            return lambda ins, outs: kept.append((ins, outs, gf(*[torch.ones_like(t) for t in outs])))

        walk = Walk.from_roots([loss.grad_fn])
        handles = [gf.register_hook(hook(gf)) for gf in walk.order if gf not in walk.leaves]
        loss.backward()
        for h in handles:
            h.remove()
        kept.append([p.detach().clone() for p in params.values()])
        return kept

    for p in params.values():
        p.grad = None
    return timed(once)[0]


def run_case(name: str) -> None:
    t_import, _ = timed(lambda: __import__("torch"))
    model, loss_fn, params = MODELS[name]()
    from backprop_lens.api import trace
    from backprop_lens.render import LayoutCache, render
    from backprop_lens.snapshot import graph_to_dict
    from backprop_lens.web.responses import dumps

    # The imports leave ~200k new objects to the next full collection (~90 ms): collected here, it lands in no
    # measurement (it landed in the second trace of a process that imported less)
    gc.collect()
    plain = plain_pass(loss_fn, params)
    before = rss_mb()

    def traced() -> Any:
        with trace(model if model is not None else params) as t:
            loss_fn().backward()
        return t.graph

    t_trace, graph = timed(traced)
    grown = rss_mb() - before
    for p in params.values():
        p.grad = None
    t_again, _ = timed(traced)
    print(f"[{name}] {len(graph.nodes)} nodes, {len(graph.edges)} edges (torch import {t_import:.2f} s)")
    print(f"   plain forward+backward   {plain * 1e3:9.1f} ms")
    print(f"   trace, first in process  {t_trace * 1e3:9.1f} ms  {t_trace / plain:7.2f}x plain   (+{grown:.0f} MB RSS)")
    print(f"   trace, second            {t_again * 1e3:9.1f} ms  {t_again / plain:7.2f}x plain")
    if name == "resnet18":  # issue 16's goal for it: how near the trace is to what no trace can avoid
        t_floor = floor_pass(loss_fn, params)  # after the second trace, in the memory state it had
        print(f"   floor (floor_pass)       {t_floor * 1e3:9.1f} ms  {t_floor / plain:7.2f}x plain")
    t_view, svg = timed(lambda: render(graph, cache=LayoutCache()))
    print(f"   first view (render svg)  {t_view * 1e3:9.1f} ms  ({len(svg) // 1024} KiB)")
    t_tv = torchviz_case(loss_fn, params, t_trace + t_view)
    if name in FULL_SVG:
        t_full, full = timed(lambda: render(graph, cache=LayoutCache(), expand="*"))
        versus = f"   {t_full / t_tv:.2f}x torchviz" if t_tv else ""
        print(f"   full svg (expand=*)      {t_full * 1e3:9.1f} ms  ({len(full) // 1024} KiB){versus}")
    # what the step endpoint does: step_to_dict's conversion, then responses.dumps (to_jsonable again, orjson)
    t_dict, data = timed(lambda: dumps(graph_to_dict(graph)))
    print(f"   to_dict + dumps          {t_dict * 1e3:9.1f} ms  ({len(data) / 2**20:.1f} MiB)")


FULL_SVG = ("resnet18", "transformer", "chain1k")  # every node drawn: comparable to torchviz's picture


def torchviz_case(loss_fn: Callable[[], Any], params: dict[str, Any], ours: float) -> float | None:
    """torchviz's make_dot(...).pipe("svg") of the same loss: its seconds (None on a RecursionError)."""
    from torchviz import make_dot

    loss = loss_fn()
    try:
        t_tv, _ = timed(lambda: make_dot(loss, params=params).pipe(format="svg"))
    except RecursionError:
        print("   torchviz make_dot+pipe   RecursionError (deep graph)")
        return None
    print(f"   torchviz make_dot+pipe   {t_tv * 1e3:9.1f} ms   ours trace+first view / torchviz {ours / t_tv:.2f}x")
    return t_tv


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cases", nargs="*", default=list(CASES), metavar="CASE")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per case")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one case in this process
    args = parser.parse_args()
    if args.one:
        run_case(args.one)
        return 0
    for case in args.cases:
        # its own process group: on a timeout its `dot` goes too
        proc = subprocess.Popen([sys.executable, __file__, "--one", case], start_new_session=True)
        try:
            proc.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            print(f"[{case}] timed out after {args.timeout:.0f} s")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
