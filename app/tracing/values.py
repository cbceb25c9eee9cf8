"""Turn tensors and Python numbers into plain values (what `tensor.tolist()` gives)."""

from __future__ import annotations

from typing import Any

import torch


def plain(x: Any) -> Any:
    """A tensor's values as plain Python (a 0-d tensor is a number); numbers pass through; None stays None."""
    if x is None:
        return None
    if isinstance(x, torch.Tensor):
        return x.tolist()
    if isinstance(x, bool):
        return x
    if isinstance(x, (int, float)):
        return float(x) if isinstance(x, float) else int(x)
    return None


def shape_of(x: Any) -> tuple[int, ...]:
    if isinstance(x, torch.Tensor):
        return tuple(x.shape)
    return ()
