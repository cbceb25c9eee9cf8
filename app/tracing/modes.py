"""The two PyTorch modes the tracer listens through, and what they hand it.

- `FunctionRecorder` (a torch function mode) sees each Python-level call with its arguments, so inputs that
  autograd does not keep (`y` in `y_hat - y`) are seen by identity; it also intercepts `backward()`.
- `OutputRecorder` (a dispatch mode) sees every aten op's output, also those inside composite functions.
  It costs more than the function mode (a Python call per aten op) and changes what PyTorch builds (a
  `reshape` becomes `view` under any dispatch mode), so a tracer on a known topology enters it only around
  the calls that need it (`composite`), not for the whole forward.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import BuiltinFunctionType, MethodDescriptorType, WrapperDescriptorType
from typing import Any, Protocol

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

BACKWARD_FUNCS = (torch.Tensor.backward, torch.autograd.backward)


class Listener(Protocol):
    recording: bool
    pending: list[torch.Tensor]
    per_call_dispatch: bool

    def on_call(self, func: Callable[..., Any], args: tuple[Any, ...], out: Any) -> None: ...

    def on_backward(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any: ...

    def on_grad(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any: ...


class FunctionRecorder(TorchFunctionMode):
    def __init__(self, listener: Listener) -> None:
        super().__init__()
        self.listener = listener

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        listener = self.listener
        if not listener.recording or (not listener.pending and quiet(func)):
            return func(*args, **kwargs)
        if func in BACKWARD_FUNCS:
            return listener.on_backward(func, args, kwargs)
        if func is torch.autograd.grad:
            return listener.on_grad(func, args, kwargs)
        if listener.per_call_dispatch and composite(func) and not _views(func, args, kwargs):
            with OutputRecorder(listener):  # its inner aten ops make nodes no Python-level output shows
                out = func(*args, **kwargs)
        else:
            out = func(*args, **kwargs)
        if listener.recording:
            listener.on_call(func, args, out)
        return out


class OutputRecorder(TorchDispatchMode):
    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # Nothing compiles our handler: without this, torch wraps it in `_disable_dynamo` (a Python wrapper per
        # aten op, and the 3 s import of torch._dynamo on the first trace of a process).
        return False

    def __init__(self, listener: Listener) -> None:
        super().__init__()
        self.listener = listener

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if self.listener.recording:
            self.listener.pending.extend(tensors(out))
        return out


# Tensor attributes that never hold a tensor: reading one makes no node and shows no value (the name_result of
# every step reads `.grad_fn`), so the function mode hands it straight on.
_QUIET_ATTRIBUTES = frozenset(
    ["grad_fn", "shape", "requires_grad", "is_leaf", "dtype", "device", "ndim", "output_nr", "_version", "layout"]
)
_QUIET: dict[Any, bool] = {}


def quiet(func: Any) -> bool:
    """Is `func` the getter of one of `_QUIET_ATTRIBUTES`?"""
    found = _QUIET.get(func)
    if found is None:
        owner = getattr(func, "__self__", None)
        found = _QUIET[func] = (
            type(func).__name__ == "method-wrapper"
            and type(owner).__name__ == "getset_descriptor"
            and getattr(owner, "__name__", None) in _QUIET_ATTRIBUTES
        )
    return found


def tensors(out: Any) -> Iterable[torch.Tensor]:
    """The tensors among an op's outputs (a tensor, or a tuple/list holding some)."""
    if isinstance(out, torch.Tensor):
        yield out
    elif isinstance(out, (tuple, list)):
        for o in out:
            if isinstance(o, torch.Tensor):
                yield o


_RESHAPES = frozenset([torch.Tensor.reshape, torch.reshape])


def _views(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """A `reshape` that needs no copy makes one node, its output's: run it without the dispatch mode, which
    would turn PyTorch's `_reshape_alias` into a `view` (a copying reshape makes a hidden clone: keep the mode)."""
    if func not in _RESHAPES or kwargs or len(args) < 2 or not isinstance(args[0], torch.Tensor):
        return False
    try:
        args[0].detach().view(*args[1:])  # no autograd node: a detached alias
    except (RuntimeError, TypeError):
        return False
    return True


# Python-level names of Tensor operators -> the aten operator they call.
_DUNDER = {
    "__mul__": "mul",
    "__rmul__": "mul",
    "__add__": "add",
    "__radd__": "add",
    "__sub__": "sub",
    "__rsub__": "rsub",
    "__truediv__": "div",
    "__neg__": "neg",
    "__pow__": "pow",
    "__matmul__": "matmul",
    "__abs__": "abs",
}
_NATIVE = (BuiltinFunctionType, MethodDescriptorType, WrapperDescriptorType)
_COMPOSITE: dict[Any, bool] = {}  # func -> may it make autograd nodes its outputs do not show? (per process)


def composite(func: Any) -> bool:
    """May `func` build more than one autograd node per output (`F.linear`: `t` and `addmm`)?

    True for Python functions (their inner calls pass no function mode), for aten operators PyTorch decomposes
    before autograd (CompositeImplicitAutograd: linear, matmul, reshape, cross_entropy), for anything unknown,
    and for every function a trace saw doing it (`learn_composite`). False only for the native operators with a
    derivative of their own: one node per output, whose value the function mode sees.
    """
    found = _COMPOSITE.get(func)
    if found is None:
        found = _COMPOSITE[func] = _may_decompose(func)
    return found


def learn_composite(func: Any) -> None:
    _COMPOSITE[func] = True


def _may_decompose(func: Any) -> bool:
    # torch._tensor wraps some operators (`__pow__`) in a Python function that only turns a TypeError into
    # NotImplemented: judge the native operator it wraps.
    wrapped = getattr(func, "__wrapped__", None)
    if getattr(func, "__module__", None) == "torch._tensor" and isinstance(wrapped, _NATIVE):
        func = wrapped
    if type(func).__name__ == "method-wrapper" and type(getattr(func, "__self__", None)).__name__ == (
        "getset_descriptor"
    ):
        return False  # a tensor attribute (`.grad`, `.data`, `.T`): no op, or one op whose output is the value
    if not isinstance(func, _NATIVE):
        return True
    name = getattr(func, "__name__", "")
    name = _DUNDER.get(name, name)
    packet = getattr(torch.ops.aten, name, None) if name and not name.startswith("_") else None
    if packet is None or not hasattr(packet, "overloads"):
        return True
    return any(_decomposed(f"aten::{name}" if o == "default" else f"aten::{name}.{o}") for o in packet.overloads())


def _decomposed(qualified: str) -> bool:
    try:
        return torch._C._dispatch_has_kernel_for_dispatch_key(qualified, "CompositeImplicitAutograd")
    except RuntimeError:  # TorchScript's own overloads (`mul.int`) are no aten operators
        return False
