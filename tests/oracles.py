"""Plain PyTorch, written as the lecture writes it: the oracles our runs are checked against.

Nothing here imports backprop-lens. Each function runs the lecture's loop and returns what it prints.
"""

from __future__ import annotations

import contextlib
import io

import torch


def lecture04_log(
    lr: float = 0.01,
    epochs: int = 100,
    w0: float = 1.0,
    x_data: tuple[float, ...] = (1.0, 2.0, 3.0),
    y_data: tuple[float, ...] = (2.0, 4.0, 6.0),
    zero_grad: bool = True,
) -> str:
    """Lecture 04's script, verbatim but for its constants."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        w = torch.tensor([w0])
        w.requires_grad = True

        def forward(x):
            return x * w

        def loss(x, y):
            y_pred = forward(x)
            return (y_pred - y) ** 2

        print("predict (before training)", 4, forward(4).item())
        for epoch in range(epochs):
            for x, y in zip(x_data, y_data, strict=True):
                l = loss(x, y)  # noqa: E741
                l.backward()
                print("\tgrad:", x, y, w.grad.item())
                w.data = w.data - lr * w.grad.data
                if zero_grad:
                    w.grad.data.zero_()
            print("progress:", epoch, l.item())
        print("predict (after training)", 4, forward(4).item())
    return out.getvalue()


def quadratic_log(
    lr: float = 0.01,
    epochs: int = 100,
    inits: tuple[float, float, float] = (1.0, 1.0, 1.0),
    x_data: tuple[float, ...] = (1.0, 2.0, 3.0),
    y_data: tuple[float, ...] = (2.0, 4.0, 6.0),
    zero_grad: bool = True,
) -> str:
    """The lecture's homework: y_hat = w1 * x * x + w2 * x + b."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        w1, w2, b = (torch.tensor([v]) for v in inits)
        for t in (w1, w2, b):
            t.requires_grad = True

        def forward(x):
            return w1 * x * x + w2 * x + b

        def loss(x, y):
            return (forward(x) - y) ** 2

        print("predict (before training)", 4, forward(4).item())
        for epoch in range(epochs):
            for x, y in zip(x_data, y_data, strict=True):
                l = loss(x, y)  # noqa: E741
                l.backward()
                print("\tgrad:", x, y, w1.grad.item(), w2.grad.item(), b.grad.item())
                for t in (w1, w2, b):
                    t.data = t.data - lr * t.grad.data
                    if zero_grad:
                        t.grad.data.zero_()
            print("progress:", epoch, l.item())
        print("predict (after training)", 4, forward(4).item())
    return out.getvalue()


def dfs_order(root) -> list:
    """Autograd nodes reachable from `root`, depth first, inputs in `next_functions` order."""
    seen: list = []
    stack = [root]
    while stack:
        fn = stack.pop()
        if fn is None or any(fn is s for s in seen):
            continue
        seen.append(fn)
        stack.extend(reversed([child for child, _ in fn.next_functions]))
    return seen
