"""The update and zero_grad lines of an explanation: the rule of the optimizer that ran, with its numbers."""

from __future__ import annotations

from typing import Any

from backprop_lens.present.calc import holds, paren, scalar, shown
from backprop_lens.present.catalog import t
from backprop_lens.present.format import fmt_value
from backprop_lens.snapshot import ParamState

PLAIN = ("sgd", "assign")  # w ← w − lr · w.grad, as the lecture's script or torch.optim.SGD without momentum


def _hyper(hyper: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in hyper.items())


def _step_rule(name: str, before: float | None, lr: float | None, g: float | None, after: float | None) -> str | None:
    """`w ← w − lr · G = 1.0984 − 0.01 × (-16.229) = 1.2607` when the numbers satisfy it, else None."""
    nums = [before, lr, g]
    if after is None or any(x is None for x in nums) or not holds("sgd", nums, after):
        return None
    s = shown("sgd", nums, after)
    b, r, gg = s.operands
    return f"{b} − {r} × {paren(gg)} {s.sign} {s.result}"


def _momentum(name: str, state: ParamState, hyper: dict[str, Any], before: float | None) -> str | None:
    """PyTorch's SGD with momentum (no dampening, no Nesterov, no weight decay), with the buffer's numbers."""
    up = state.update
    if up is None or hyper.get("dampening") or hyper.get("nesterov") or hyper.get("weight_decay"):
        return None
    g, mu, lr = scalar(state.grad), scalar(hyper.get("momentum")), scalar(hyper.get("lr"))
    b0, b1 = scalar(up.state_before.get("momentum_buffer")), scalar(up.state_after.get("momentum_buffer"))
    if g is None or mu is None or b1 is None:
        return None
    if b0 is None:  # the first step: the buffer starts as the gradient
        if b1 != g:
            return None
        first = f"b ← {name}.grad = {fmt_value(b1)}"
    elif holds("fma", [mu, b0, g], b1):
        s = shown("fma", [mu, b0, g], b1)
        m, b, gg = s.operands
        first = f"b ← momentum · b + {name}.grad = {m} × {paren(b)} + {paren(gg)} {s.sign} {s.result}"
    else:
        return None
    second = _step_rule(name, before, lr, b1, scalar(state.after))
    return f"{first};  {name} ← {name} − lr · b = {second}" if second else None


def _states(up: Any) -> str:
    keys = [k for k in up.state_after if k != "step"]

    def was(k: str) -> str:
        return fmt_value(up.state_before[k]) if k in up.state_before else "—"  # not there before the first step

    return "; ".join(f"{k}: {was(k)} → {fmt_value(up.state_after[k])}" for k in keys)


def update_line(name: str, state: ParamState, lang: str = "en") -> str:
    up = state.update
    before, grad, after = scalar(state.before), scalar(state.grad), scalar(state.after)
    if up is not None and up.optimizer in PLAIN and not up.hyper.get("momentum"):
        numbers = _step_rule(name, before, scalar(up.hyper.get("lr")), grad, after)
        if numbers is not None:
            return f"{name} ← {name} − lr · {name}.grad = {numbers}"
    if up is not None and up.optimizer == "momentum":
        worked = _momentum(name, state, up.hyper, before)
        if worked is not None:
            return worked
    moved = t(lang, "explain.moved", p=name, before=fmt_value(state.before), after=fmt_value(state.after))
    if up is None:
        return moved
    rule = t(lang, "explain.rule", formula=up.formula) if up.formula else up.optimizer
    states = _states(up)
    return f"{moved}  ({rule}; {up.optimizer}: {_hyper(up.hyper)}" + (f"; {states})" if states else ")")


def zero_grad_line(name: str, state: ParamState, zero_grad: bool, lang: str = "en") -> str:
    if zero_grad:
        return t(lang, "explain.zero", p=name)
    return t(lang, "explain.accumulate", p=name, g=fmt_value(state.grad))
