"""Keep tensors as tensors: a snapshot holds detached copies; lists appear only when JSON is asked for
(`snapshot.to_jsonable`, `snapshot.plain_graph`)."""

from __future__ import annotations

from typing import Any

import torch


def plain(x: Any) -> Any:
    """A detached copy of a tensor (later in-place changes, `zero_()` of a `.grad`, cannot reach it); Python
    numbers pass through as float/int/bool; anything else is None."""
    if x is None:
        return None
    if isinstance(x, torch.Tensor):
        return x.detach().clone()
    if isinstance(x, bool):
        return x
    if isinstance(x, (int, float)):
        return float(x) if isinstance(x, float) else int(x)
    return None


def shape_of(x: Any) -> tuple[int, ...]:
    if isinstance(x, torch.Tensor):
        return tuple(x.shape)
    return ()
