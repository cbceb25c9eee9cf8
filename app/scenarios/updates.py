"""What the optimizer did to each parameter, read from `optimizer.state`, so `after` can be recomputed.

The rules are the ones torch.optim documents (default options apart from lr and momentum); the text is shown,
the numbers come from the optimizer's own state before and after its step.
"""

from __future__ import annotations

from typing import Any

import torch
from backprop_lens.snapshot import Update

# scenario optimizer name -> the param-group options its rule uses
_HYPER: dict[str, tuple[str, ...]] = {
    "sgd": ("lr", "momentum", "dampening", "weight_decay", "nesterov"),
    "momentum": ("lr", "momentum", "dampening", "weight_decay", "nesterov"),
    "adam": ("lr", "betas", "eps", "weight_decay", "amsgrad"),
    "adagrad": ("lr", "lr_decay", "eps", "weight_decay", "initial_accumulator_value"),
    "rmsprop": ("lr", "alpha", "eps", "weight_decay", "momentum", "centered"),
}

_FORMULA: dict[str, str] = {
    "sgd": "{w} ← {w} − lr · g",
    "momentum": "b ← momentum · b + g  (b ← g at the first step);  {w} ← {w} − lr · b",
    "adam": (
        "t ← t + 1;  m ← β₁·m + (1 − β₁)·g;  v ← β₂·v + (1 − β₂)·g²;  "
        "{w} ← {w} − lr · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)"
    ),
    "adagrad": "t ← t + 1;  s ← s + g²;  {w} ← {w} − lr / (1 + (t − 1)·lr_decay) · g / (√s + ε)",
    "rmsprop": "v ← α·v + (1 − α)·g²;  {w} ← {w} − lr · g / (√v + ε)",
}


# A long run's history repeats most of what each step records: its hyper-parameters, formulas, empty optimizer
# state, and values equal to the step before's. One shared object for each (never mutated once recorded) keeps a
# history of 30,000 steps from holding 30,000 copies of `{"lr": 0.01}`.
_NO_STATE: dict[str, Any] = {}
_shared: dict[Any, Any] = {}


def shared(key: Any, make: Any) -> Any:
    """The one object recorded for `key` (hashable), made by `make()` the first time (bounded: a run has few)."""
    found = _shared.get(key)
    if found is None:
        if len(_shared) > 4096:  # many runs with other options: start again rather than grow
            _shared.clear()
        found = _shared[key] = make()
    return found


def same_as(value: Any, earlier: Any) -> Any:
    """`earlier` when it holds the same values as `value` (this step's `before` is the step before's `after`;
    `grad_step` is `grad` when zero_grad is on): one list kept instead of two equal ones."""
    return earlier if earlier is not None and type(earlier) is type(value) and earlier == value else value


def grad_source(zero_grad: bool) -> str:
    """Which `.grad` the update read: this step's, or the sum over every step so far (zero_grad off)."""
    return "step" if zero_grad else "accumulated"


def plain_sgd(name: str, lr: float, grad: Any, zero_grad: bool) -> Update:
    """The lecture's own update `w.data = w.data - lr * w.grad.data`: no optimizer, no state."""
    return Update(
        optimizer="sgd",
        hyper=shared(("sgd", lr), lambda: {"lr": lr}),
        state_before=_NO_STATE,
        state_after=_NO_STATE,
        formula=shared(("sgd formula", name), lambda: f"{name} ← {name} − lr · {name}.grad"),
        grad=grad,
        grad_source=grad_source(zero_grad),
    )


def read_state(optimizer: torch.optim.Optimizer, p: torch.Tensor) -> dict[str, Any]:
    """`optimizer.state[p]` as plain values (momentum_buffer, exp_avg, exp_avg_sq, step, sum, square_avg)."""
    state = optimizer.state.get(p, {})
    return {k: (v.tolist() if isinstance(v, torch.Tensor) else v) for k, v in sorted(state.items())}


def optimizer_update(
    kind: str, optimizer: torch.optim.Optimizer, name: str, before: dict[str, Any], after: dict[str, Any], **kw: Any
) -> Update:
    """One parameter's update by a torch.optim optimizer: its options, its state before and after the step."""
    group = optimizer.param_groups[0]
    options = tuple((k, group[k]) for k in _HYPER[kind] if k in group)
    hyper = shared((kind, options), lambda: {k: (list(v) if isinstance(v, tuple) else v) for k, v in options})
    formula = shared((kind, "formula", name), lambda: _FORMULA[kind].format(w=name) + ";  g = " + f"{name}.grad")
    return Update(
        optimizer=kind,
        hyper=hyper,
        state_before=before or _NO_STATE,
        state_after=after or _NO_STATE,
        formula=formula,
        grad=kw.get("grad"),
        grad_source=grad_source(kw.get("zero_grad", True)),
    )
