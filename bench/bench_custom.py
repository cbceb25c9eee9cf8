"""Benchmark: the largest custom run the cost limit allows, against the same loop written in plain PyTorch.

Issue 16's goal was the largest allowed custom run in <= 5 s. The custom scenario's history is per-sample SGD:
sequential, one forward and backward of the expression per step, so plain eager PyTorch running the same
expression by hand is its floor. Both in this process, CPU time and wall time, with their ratio.
    .venv/bin/python bench/bench_custom.py [--epochs 5000]
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable

import torch
from backprop_lens.scenarios import build_run

MODEL = "sigmoid(w1*x) * tanh(w2*x) + sin(w1*x) * cos(w2*x) + exp(-w1*x*x) + b*x + w2*x*x - w1"
POINTS = [i / 10 for i in range(10)]  # 10 samples a epoch: 5,000 epochs = 50,000 steps (the limit: 51,724)
LR = 0.01


def ours(epochs: int) -> int:
    params = {"model": MODEL, "params": {"w1": 0.5, "w2": 0.5, "b": 0.0}, "epochs": epochs, "lr": LR}
    return len(build_run("custom", {**params, "x": POINTS, "y": POINTS}).history.steps)


def plain(epochs: int) -> int:
    """The same model and loop, by hand: what eager PyTorch costs per step."""
    w1, w2, b = (torch.tensor(v, requires_grad=True) for v in (0.5, 0.5, 0.0))
    xs = [torch.tensor(v) for v in POINTS]
    steps = 0
    for _ in range(epochs):
        for x, y in zip(xs, xs, strict=True):
            y_hat = (
                torch.sigmoid(w1 * x) * torch.tanh(w2 * x)
                + torch.sin(w1 * x) * torch.cos(w2 * x)
                + torch.exp(-w1 * x * x)
                + b * x
                + w2 * x * x
                - w1
            )
            ((y_hat - y) ** 2).backward()
            with torch.no_grad():
                for p in (w1, w2, b):
                    p -= LR * p.grad
                    p.grad.zero_()
            steps += 1
    return steps


def timed(fn: Callable[[int], int], epochs: int) -> tuple[float, float, int]:
    cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF).ru_utime, time.perf_counter()
    steps = fn(epochs)
    return resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu0, time.perf_counter() - wall0, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=5000)
    args = parser.parse_args()
    ours(1), plain(1)  # warm-up: imports, the expression's compilation
    base_cpu, base_wall, steps = timed(plain, args.epochs)
    our_cpu, our_wall, our_steps = timed(ours, args.epochs)
    print(f"custom, 9 terms, {our_steps:,} steps (torch {torch.__version__}, {torch.get_num_threads()} threads)")
    print(f"{'':24}{'CPU s':>8}{'wall s':>8}{'ratio (CPU)':>13}")
    print(f"{'plain PyTorch loop':24}{base_cpu:8.1f}{base_wall:8.1f}{1.0:12.2f}x   ({steps:,} steps)")
    print(f"{'our history':24}{our_cpu:8.1f}{our_wall:8.1f}{our_cpu / base_cpu:12.2f}x")
    print("goal: ours <= 5 s; the plain loop is the floor of a sequential per-sample run")


if __name__ == "__main__":
    main()
