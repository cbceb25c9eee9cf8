"""Keep tensors as tensors: a snapshot holds detached copies; lists appear only when JSON is asked for
(`snapshot.to_jsonable`, `snapshot.plain_graph`)."""

from __future__ import annotations

from typing import Any

import torch


def kept(x: Any) -> Any:
    """What a snapshot holds: a detached copy of a tensor (later in-place changes, `zero_()` of a `.grad`,
    cannot reach it); Python numbers as `plain` gives them."""
    if isinstance(x, torch.Tensor):
        return x.detach().clone()
    return plain(x)


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
