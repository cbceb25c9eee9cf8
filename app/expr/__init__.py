"""A small, safe expression language for user-typed models and losses.

    expr = compile_expr("w1*x*x + w2*x + b", names=("x", "w1", "w2", "b"), field="model")
    y_hat = expr({"x": x, "w1": w1, "w2": w2, "b": b})     # real torch operations

Text is parsed with `ast` and checked against a whitelist (numbers, declared names, + - * / **, unary -,
parentheses, calls of a few torch functions); the checked tree becomes a tree of closures calling torch.
Nothing is ever passed to eval/exec/compile(). Every refusal is an `ExprError` naming the field and the
offending part of the text.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from backprop_lens.expr.check import LIMITS, ExprError, Limits, check

if TYPE_CHECKING:
    from backprop_lens.expr.compile import Expr, compile_expr
    from backprop_lens.expr.functions import FUNCTIONS

# The checker needs no torch (parameters are validated by it for the CLI's --help); compiling does: on first use.
_LAZY = {"Expr": "backprop_lens.expr.compile", "compile_expr": "backprop_lens.expr.compile"}
_LAZY["FUNCTIONS"] = "backprop_lens.expr.functions"


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'backprop_lens.expr' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = ["FUNCTIONS", "LIMITS", "Expr", "ExprError", "Limits", "check", "compile_expr"]
