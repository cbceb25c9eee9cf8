"""A checked expression tree becomes a tree of closures that call torch (never eval/exec/compile()).

Operators go through Python's operator protocol, so `w1*x*x` makes exactly the PyTorch ops that the same
text in a .py file makes (MulBackward0 twice, a Python float `x` as the other operand). Number literals stay
Python ints/floats, so `(y_hat - y)**2` is `Tensor.__pow__(2)` as in the lecture. Only when both operands are
plain numbers do we compute in float64 with IEEE rules (inf/NaN instead of OverflowError or complex results).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from backprop_lens.expr.check import FUNCTION_NAMES, LIMITS, Limits, check, names_in
from backprop_lens.expr.functions import FUNCTIONS

assert set(FUNCTIONS) == set(FUNCTION_NAMES), "the checker's whitelist and the torch mapping must agree"

Env = Mapping[str, Any]
Closure = Callable[[Env], Any]

_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


@dataclass(frozen=True)
class Expr:
    """A compiled expression: call it with {name: tensor or number}."""

    text: str
    names: frozenset[str]  # the names it uses
    _run: Closure

    def __call__(self, env: Env) -> Any:
        return self._run(env)


def compile_expr(text: str, names: Collection[str], *, field: str, limits: Limits = LIMITS) -> Expr:
    """Check `text` (raises ExprError) and compile it into torch calls."""
    tree = check(text, names, field=field, limits=limits)
    return Expr(text=text, names=frozenset(names_in(tree)), _run=_compile(tree))


def _compile(node: ast.expr) -> Closure:
    # The checker admitted only these node types; anything else here is a bug, not user input.
    if isinstance(node, ast.Constant):
        value = node.value
        return lambda env: value
    if isinstance(node, ast.Name):
        name = node.id
        return lambda env: env[name]
    if isinstance(node, ast.UnaryOp):
        operand = _compile(node.operand)
        if isinstance(node.op, ast.UAdd):
            return operand
        return lambda env: _unary_minus(operand(env))
    if isinstance(node, ast.BinOp):
        op = _BINOPS[type(node.op)]
        left, right = _compile(node.left), _compile(node.right)
        return lambda env: _binary(op, left(env), right(env))
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        fn = FUNCTIONS[node.func.id]
        arg = _compile(node.args[0])
        return lambda env: fn(_as_tensor(arg(env)))
    raise AssertionError(f"unchecked node {type(node).__name__}")


def _binary(op: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return op(a, b)
    with np.errstate(all="ignore"):
        return float(op(np.float64(a), np.float64(b)))


def _unary_minus(a: Any) -> Any:
    return -a if isinstance(a, torch.Tensor) else -float(a)


def _as_tensor(a: Any) -> torch.Tensor:
    return a if isinstance(a, torch.Tensor) else torch.tensor(float(a))
