"""The two PyTorch modes the tracer listens through, and what they hand it.

- `FunctionRecorder` (a torch function mode) sees each Python-level call with its arguments, so inputs that
  autograd does not keep (`y` in `y_hat - y`) are seen by identity; it also intercepts `backward()`.
- `OutputRecorder` (a dispatch mode) sees every aten op's output, also those inside composite functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

BACKWARD_FUNCS = (torch.Tensor.backward, torch.autograd.backward)


class Listener(Protocol):
    recording: bool
    pending: list[torch.Tensor]

    def on_call(self, func: Callable[..., Any], args: tuple[Any, ...], out: Any) -> None: ...

    def on_backward(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any: ...

    def on_grad(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any: ...


class FunctionRecorder(TorchFunctionMode):
    def __init__(self, listener: Listener) -> None:
        super().__init__()
        self.listener = listener

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in BACKWARD_FUNCS and self.listener.recording:
            return self.listener.on_backward(func, args, kwargs)
        if func is torch.autograd.grad and self.listener.recording:
            return self.listener.on_grad(func, args, kwargs)
        out = func(*args, **kwargs)
        if self.listener.recording:
            self.listener.on_call(func, args, out)
        return out


class OutputRecorder(TorchDispatchMode):
    def __init__(self, listener: Listener) -> None:
        super().__init__()
        self.listener = listener

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if self.listener.recording:
            self.listener.pending.extend(tensors(out))
        return out


def tensors(out: Any) -> Iterable[torch.Tensor]:
    """The tensors among an op's outputs (a tensor, or a tuple/list holding some)."""
    if isinstance(out, torch.Tensor):
        yield out
    elif isinstance(out, (tuple, list)):
        for o in out:
            if isinstance(o, torch.Tensor):
                yield o
