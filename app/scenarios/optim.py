"""torch.optim without importing torch._dynamo: the built-in scenarios' optimizers, PyTorch's own code and numbers.

In torch 2.x the first optimizer in a process imports torch._dynamo (and sympy with it): ~80 MB of RSS and ~3 s,
in the server and in each of its worker processes, for code that matters only under torch.compile. Two places
in torch/optim/optimizer.py do it:
- `torch._disable_dynamo` wraps Optimizer.add_param_group (every constructor calls it), zero_grad, state_dict and
  load_state_dict. On its first call the wrapper imports torch._dynamo to build the function's "disabled" twin and
  caches it on the function as `__dynamo_disable`. Outside compilation that twin is the function itself, so we
  cache the function itself (`without_dynamo_import`), and the import never happens.
- `_use_grad_for_differentiable` wraps each optimizer's `step`: on every call it imports torch._dynamo for
  `graph_break()` (a no-op outside compilation) around `torch.set_grad_enabled(defaults["differentiable"])`.
  `step` below sets grad mode the same way and calls the optimizer's own step inside it.
Nothing here changes a number. Where torch does not look like this (another version), torch's own calls are used.
The server never compiles; a user's process (a notebook) keeps torch as it is unless it runs a scenario.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch

_DISABLED = ("add_param_group", "zero_grad", "state_dict", "load_state_dict")


@functools.cache
def without_dynamo_import() -> bool:
    """Cache each `torch._disable_dynamo`-wrapped Optimizer method as its own disabled twin (see above). True
    when every one was found as expected."""
    found = 0
    for attr in _DISABLED:
        wrapper = vars(torch.optim.Optimizer).get(attr)
        fn = getattr(wrapper, "__wrapped__", None)
        code = getattr(wrapper, "__code__", None)  # (functools.wraps gave the wrapper the function's __qualname__)
        if fn is None or code is None or "_disable_dynamo" not in code.co_qualname:
            continue
        if getattr(fn, "__dynamo_disable", None) is None:
            fn.__dynamo_disable = fn  # what the wrapper's first call would cache, less the import
        found += 1
    return found == len(_DISABLED)


def _own_step(optimizer: torch.optim.Optimizer) -> Callable[..., Any] | None:
    """The optimizer class's step under torch's wrappers (hooks, grad mode), or None if it is not wrapped so."""
    fn: Any = type(optimizer).step
    while fn is not None and getattr(fn, "__code__", None) is not None:
        if fn.__code__.co_qualname == "_use_grad_for_differentiable.<locals>._use_grad":
            return getattr(fn, "__wrapped__", None)
        fn = getattr(fn, "__wrapped__", None)
    return None


def step(optimizer: torch.optim.Optimizer) -> None:
    """`optimizer.step()` in grad mode as torch's wrapper sets it, without its torch._dynamo import. Step hooks do not
    run (the scenarios register none)."""
    own = _own_step(optimizer)
    if own is None:
        optimizer.step()
        return
    with torch.set_grad_enabled(bool(optimizer.defaults.get("differentiable", False))):
        own(optimizer)
