"""The whitelist: function names a user may call, each mapped onto one real torch function (one argument)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "softplus": F.softplus,
    "exp": torch.exp,
    "log": torch.log,
    "sin": torch.sin,
    "cos": torch.cos,
    "abs": torch.abs,
    "sqrt": torch.sqrt,
    "square": torch.square,
    "mean": torch.mean,
    "sum": torch.sum,
}
