"""Names from the user's code, by identity: the variables of the frames that called `backward()`.

A leaf that requires grad is named by the variable holding it (`w`); an nn.Module by the variable holding it
(`model`) and its submodules by their `named_modules()` path under it (`model.0`); a module's parameters by the
same path (`model.0.weight`, `linear.weight`), so a leaf's name says which module frame it is drawn in; data
inputs (floats and tensors that need no grad) by the loop variables (`x`, `y`).
Ints are never data: small ints are shared objects, so `i = 2` would name the constant of `x * 2`.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
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


@dataclass
class InSight:
    """What the user's frames hold, by id: parameters and data (name, object), modules (path, module)."""

    params: dict[int, tuple[str, Any]] = field(default_factory=dict)
    data: dict[int, tuple[str, Any]] = field(default_factory=dict)
    modules: dict[int, tuple[str, torch.nn.Module]] = field(default_factory=dict)
    epoch: int | None = None  # the loop's `epoch`, if an int of that name is in sight


def scan(frames: list[FrameType]) -> InSight:
    """Everything the frames name; the innermost name wins, and a module's path wins over a tensor variable
    holding one of its parameters (the leaf is drawn in that module's frame: its name says so)."""
    seen = InSight(modules=named_modules(frames))
    for path, module in seen.modules.values():
        for name, p in module.named_parameters(recurse=False):
            seen.params.setdefault(id(p), (f"{path}.{name}", p))
    for frame in frames:
        for name, value in frame_variables(frame):
            if name.startswith("__"):
                continue
            if isinstance(value, torch.Tensor):
                if value.requires_grad and not value.is_leaf:
                    continue
                target = seen.params if value.requires_grad else seen.data
                target.setdefault(id(value), (name, value))
            elif isinstance(value, float):
                seen.data.setdefault(id(value), (name, value))
            elif name == "epoch" and seen.epoch is None and type(value) is int:
                seen.epoch = value
    return seen


def named_modules(frames: list[FrameType]) -> dict[int, tuple[str, torch.nn.Module]]:
    """Every module in sight by the path the user's code gives it: a root (one no other module in sight holds,
    with parameters) by its variable, its submodules by their `named_modules()` path under it (`model.0.fc`)."""
    held: dict[int, tuple[str, torch.nn.Module]] = {}
    for outer_names in (True, False):  # `self` (backward called in a method of the model) only if nothing else
        for frame in frames:
            for name, value in frame_variables(frame):
                if isinstance(value, torch.nn.Module) and not name.startswith("__") and (name != "self") is outer_names:
                    held.setdefault(id(value), (name, value))
    inner = {id(m) for _, module in held.values() for m in itertools.islice(module.modules(), 1, None)}
    paths: dict[int, tuple[str, torch.nn.Module]] = {}
    for name, root in held.values():
        # A root that holds no parameters (a loss function, a lone activation) is no frame: the loss is drawn
        # outside the model, as in the built-in scenarios, and stays in sight rather than in a box.
        if id(root) not in inner and next(root.parameters(), None) is not None:
            for path, m in root.named_modules(prefix=name):
                paths.setdefault(id(m), (path, m))
    return paths
