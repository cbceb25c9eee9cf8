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


def update_line(name: str, state: ParamState, lang: str = "en") -> str:
    up = state.update
    before, grad, after = scalar(state.before), scalar(state.grad), scalar(state.after)
    if up is not None and up.optimizer in PLAIN and not up.hyper.get("momentum"):
        lr = scalar(up.hyper.get("lr"))
        nums = [before, lr, grad]
        if after is not None and all(x is not None for x in nums) and holds("sgd", nums, after):
            s = shown("sgd", nums, after)
            b, r, g = s.operands
            return f"{name} ← {name} − lr · {name}.grad = {b} − {r} × {paren(g)} {s.sign} {s.result}"
    moved = t(lang, "explain.moved", p=name, before=fmt_value(state.before), after=fmt_value(state.after))
    if up is None:
        return moved
    rule = t(lang, "explain.rule", formula=up.formula) if up.formula else up.optimizer
    return f"{moved}  ({rule}; {up.optimizer}: {_hyper(up.hyper)})"


def zero_grad_line(name: str, state: ParamState, zero_grad: bool, lang: str = "en") -> str:
    if zero_grad:
        return t(lang, "explain.zero", p=name)
    return t(lang, "explain.accumulate", p=name, g=fmt_value(state.grad))
