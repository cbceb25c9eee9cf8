"""make_dot benchmark: `backprop_lens.make_dot` against `torchviz.make_dot`, same process, same graphs.

Each case builds the Digraph (the walk and the labels; ours adds every value) and, for the small ones, pipes it
through Graphviz to SVG as a notebook display does. Alternating runs, medians, the ratio ours / torchviz.
Goal: building within 3x torchviz (the values cost a `tolist()` and a format per node); with Graphviz's layout
included, within 1.2x. Bounded: well under a minute.
    .venv/bin/python bench/bench_make_dot.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import backprop_lens
import torch
import torchviz
from torch import nn


def mlp() -> tuple[Any, dict[str, Any]]:  # torchviz's own test case
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))
    return model(torch.randn(1, 8)).mean(), dict(model.named_parameters())


def lstm() -> tuple[Any, dict[str, Any]]:  # torchviz's LSTMCell example: a tuple of outputs
    torch.manual_seed(0)
    cell = nn.LSTMCell(128, 128)
    return cell(torch.randn(1, 128)), dict(cell.named_parameters())


def chain() -> tuple[Any, dict[str, Any]]:  # 400 ops: torchviz's recursion still fits Python's limit
    w = torch.randn(4, requires_grad=True)
    out = w
    for _ in range(200):
        out = torch.sin(out) * 1.01
    return out.sum(), {"w": w}


CASES: list[tuple[str, Callable[[], tuple[Any, dict[str, Any]]], dict[str, Any], bool]] = [
    ("mlp", mlp, {}, True),
    ("mlp, show_attrs+show_saved", mlp, {"show_attrs": True, "show_saved": True}, True),
    ("lstm cell (h, c)", lstm, {}, True),
    ("chain of 400 ops", chain, {}, False),
]


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def jobs(var: Any, params: dict[str, Any], kwargs: dict[str, Any], pipe: bool) -> list[tuple[str, Callable[..., Any]]]:
    def build(f: Callable[..., Any]) -> Any:
        return f(var, params=params, **kwargs)

    def build_svg(f: Callable[..., Any]) -> Any:
        return build(f).pipe(format="svg")

    return [("build", build), ("build+svg", build_svg)] if pipe else [("build", build)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print(f"{'case':34} {'what':10} {'torchviz ms':>12} {'ours ms':>10} {'ratio':>7}")
    for name, make, kwargs, pipe in CASES:
        var, params = make()
        backprop_lens.make_dot(var, params=params, **kwargs)  # warm: imports, caches
        for what, job in jobs(var, params, kwargs, pipe):
            theirs_ms, ours_ms = [], []
            for _ in range(3):  # alternate, so load on the shared machine hits both alike
                theirs_ms.append(median_ms(lambda job=job: job(torchviz.make_dot), args.repeat))
                ours_ms.append(median_ms(lambda job=job: job(backprop_lens.make_dot), args.repeat))
            t, o = statistics.median(theirs_ms), statistics.median(ours_ms)
            print(f"{name:34} {what:10} {t:12.2f} {o:10.2f} {o / t:6.2f}x")


if __name__ == "__main__":
    main()
