"""Names from the user's code, by identity: the variables of the frames that called `backward()`.

A leaf that requires grad is named by the variable holding it (`w`); an nn.Module's parameters by their path
(`linear.weight`); data inputs (floats and tensors that need no grad) by the loop variables (`x`, `y`).
Ints are never data: small ints are shared objects, so `i = 2` would name the constant of `x * 2`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

import torch

# Frames of these packages are machinery, not the user's code.
_SKIP = ("torch", "backprop_lens", "runpy", "importlib", "contextlib", "IPython", "ipykernel")


def user_frames(stop: FrameType | None) -> Iterator[FrameType]:
    """The user's frames, innermost first, from the caller of backward() out to `stop` (the `with` block's)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if not module.startswith(_SKIP):
            yield frame
        if frame is stop:
            return
        frame = frame.f_back


def frame_variables(frame: FrameType) -> Iterator[tuple[str, Any]]:
    yield from frame.f_locals.items()
    if frame.f_globals is not frame.f_locals:
        yield from frame.f_globals.items()


def scan(frames: list[FrameType]) -> tuple[dict[int, tuple[str, Any]], dict[int, tuple[str, Any]], int | None]:
    """(params by id, data by id, the loop's `epoch` if an int of that name is in sight); innermost name wins."""
    params: dict[int, tuple[str, Any]] = {}
    data: dict[int, tuple[str, Any]] = {}
    epoch: int | None = None
    for frame in frames:
        for name, value in frame_variables(frame):
            if name.startswith("__"):
                continue
            if isinstance(value, torch.Tensor):
                target = params if value.requires_grad and value.is_leaf else data
                if value.requires_grad and not value.is_leaf:
                    continue
                target.setdefault(id(value), (name, value))
            elif isinstance(value, float):
                data.setdefault(id(value), (name, value))
            elif isinstance(value, torch.nn.Module):
                for path, p in module_parameters(name, value):
                    params.setdefault(id(p), (path, p))
            elif name == "epoch" and epoch is None and type(value) is int:
                epoch = value
    return params, data, epoch


def module_parameters(variable: str, module: torch.nn.Module) -> Iterator[tuple[str, torch.Tensor]]:
    """`named_parameters()` paths (`linear.weight`); a module without submodules is prefixed by its variable."""
    bare = next(iter(module.children()), None) is None
    for path, p in module.named_parameters():
        yield (f"{variable}.{path}" if bare else path), p
