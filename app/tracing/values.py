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


def handed(g: Any) -> Any:
    """What a snapshot holds of a gradient the engine handed a node hook: that tensor itself, no copy.

    Nobody else holds it and nothing writes into it: PyTorch sums gradients in place, or lets a leaf's `.grad`
    take the tensor over, only when no other reference to it exists (our reference rules both out). A leaf's
    incoming gradient is read after the leaf took it (`leaf_step`); one that is part of a graph
    (`create_graph=True`) or not strided is copied as `kept` copies it."""
    if isinstance(g, torch.Tensor) and not g.requires_grad and g.layout == torch.strided:
        return g
    return kept(g)


def leaf_step(g: Any, var: torch.Tensor) -> Any:
    """A leaf's incoming gradient, read by the hook after accumulation: a copy when the leaf's `.grad` took it
    over (the same memory, which `zero_()` will write), else `handed`."""
    grad = var.grad
    if isinstance(g, torch.Tensor) and isinstance(grad, torch.Tensor) and _shares(g, grad):
        return kept(g)
    return handed(g)


SHARE_FROM = 1024  # elements: a smaller `.grad` is copied (cheaper than comparing it)


def leaf_grad(var: torch.Tensor, step: Any, fresh: bool = False) -> Any:
    """The leaf's `.grad` as a snapshot holds it: the step's gradient itself when `.grad` has its very bits (the
    first accumulation), so one tensor serves both; else a copy.

    `fresh`: `.grad` was None before this backward, so accumulating set it to the step's gradient, that tensor
    or a copy of it (PyTorch's AccumulateGrad): the same bits, no need to compare them. Unless a hook ran after
    accumulation (an optimizer inside backward), which may have written it."""
    grad = var.grad
    if not isinstance(grad, torch.Tensor) or not isinstance(step, torch.Tensor):
        return kept(grad)
    if fresh and var._post_accumulate_grad_hooks is None and _alike(step, grad):
        return step
    if grad.numel() >= SHARE_FROM and not _shares(step, grad) and same_bits(step, grad):
        return step
    return kept(grad)


def _alike(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.layout == b.layout == torch.strided


_BITS = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal shape, dtype and bits (-0.0 is not 0.0, a NaN equals the same NaN): one may stand for the other."""
    if a.shape != b.shape or a.dtype != b.dtype or a.layout != torch.strided or b.layout != torch.strided:
        return False
    bits = _BITS.get(a.element_size())
    if bits is None:
        return False
    return bool(torch.equal(a.detach().view(bits), b.detach().view(bits)))


def _shares(a: torch.Tensor, b: torch.Tensor) -> bool:
    try:
        return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()
    except RuntimeError:  # no storage (a tensor subclass): assume it does
        return True


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
