"""What a torch.optim optimizer did to a recorded loop's parameters, as the built-in scenarios record it.

Only rules we can state truthfully: one param group and the options the documented rule shown assumes
(no weight decay, no maximize, no Nesterov/dampening/AMSGrad/centred); anything else leaves `update` None.
A plain `w.data = w.data - lr * w.grad` loop has no optimizer and no known lr: its `update` stays None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from backprop_lens.scenarios.updates import optimizer_update, read_state
from backprop_lens.snapshot import Update
from backprop_lens.tracing.values import plain


def optimizer_kind(optimizer: Any) -> str | None:
    """The scenarios' name for this optimizer's rule, when its options are the ones that rule assumes."""
    if len(optimizer.param_groups) != 1:
        return None
    g = optimizer.param_groups[0]
    if not isinstance(g.get("lr"), float) or g.get("weight_decay") or g.get("maximize"):
        return None
    kind = type(optimizer)
    if kind is torch.optim.SGD:
        if not g.get("momentum"):
            return "sgd"
        return None if g.get("dampening") or g.get("nesterov") else "momentum"
    if kind is torch.optim.Adam:
        return None if g.get("amsgrad") else "adam"
    if kind is torch.optim.Adagrad:
        return "adagrad"
    if kind is torch.optim.RMSprop:
        return None if g.get("momentum") or g.get("centered") else "rmsprop"
    return None


@dataclass
class StepWatch:
    """Between one backward and the next: the optimizer steps seen, per parameter name."""

    fresh: dict[str, bool] = field(default_factory=dict)  # .grad was zero/None before this backward
    _before: dict[str, tuple[Any, dict[str, Any], Any]] = field(default_factory=dict)
    _updates: dict[str, Update | None] = field(default_factory=dict)
    _result: dict[str, Any] = field(default_factory=dict)  # the value the step left

    def seen(self, optimizer: Any, leaves: dict[str, torch.Tensor], done: bool) -> None:
        kind = optimizer_kind(optimizer)
        ids = {id(p) for g in optimizer.param_groups for p in g["params"]}
        for name, t in leaves.items():
            if id(t) not in ids:
                continue
            if not done:
                self._before[name] = (optimizer, read_state(optimizer, t), plain(t.grad))
                continue
            if name in self._updates or kind is None or name not in self._before:
                self._updates[name] = None  # two steps per backward, or a rule we cannot state
                continue
            opt, state, grad = self._before[name]
            self._updates[name] = optimizer_update(
                kind, opt, name, state, read_state(opt, t), grad=grad, zero_grad=self.fresh.get(name, True)
            )
            self._result[name] = plain(t)

    def update(self, name: str, after: Any) -> Update | None:
        """The update, if what the parameter held at the next use is what the step left."""
        up = self._updates.get(name)
        return up if up is not None and self._result.get(name) == after else None
