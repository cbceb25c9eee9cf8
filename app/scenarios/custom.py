"""The custom scenario: the user types the model and the loss; Lecture 04's loop trains it.

Expressions go through `backprop_lens.expr` (ast whitelist -> closures calling torch), never eval. With the homework's
text `w1*x*x + w2*x + b`, `(y_hat - y)**2` and w1 = w2 = b = 1 the PyTorch ops are those of `quadratic`,
in the same order, so the logs are identical.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from typing import Any

import torch
from backprop_lens.expr import Expr, ExprError, compile_expr
from backprop_lens.expr.check import FUNCTION_NAMES
from backprop_lens.problems import Problem, problem_error
from backprop_lens.scenarios.base import Finite
from backprop_lens.scenarios.sgd import Loss, Model, PerSampleSgd, SgdParams
from backprop_lens.tracing import Datum
from pydantic import Field, field_validator

MAX_PARAMS = 10
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,15}")
DATA_NAMES = ("x", "y", "y_hat")


class CustomParams(SgdParams):
    model: str = Field(
        "w1*x*x + w2*x + b",
        description="the model y_hat as an expression of x and the parameters, e.g. w1*x**2 + w2*x + b "
        "(numbers, + - * / **, and sigmoid tanh relu softplus exp log sin cos abs sqrt square mean sum)",
    )
    loss: str = Field(
        "(y_hat - y)**2",
        description="the per-sample loss as an expression of y_hat, y, x and the parameters",
    )
    params: dict[str, Finite] = Field(
        default_factory=lambda: {"w1": 1.0, "w2": 1.0, "b": 1.0},
        description='the parameters with their initial values, in order: {"w1": 1.0, "b": 0} or "w1=1, b=0"',
    )

    @field_validator("params", mode="before")
    @classmethod
    def _params_from_text(cls, value: Any) -> Any:
        """Also accept "w1=1, w2=1 b=1" (the command line) and [["w1", 1], {"name": "b", "value": 0}]."""
        spans: list[tuple[int, int] | None] = []
        if isinstance(value, str):  # where each part is in the text: the message can point at it
            found = list(re.finditer(r"[^,\s]+", value))
            value, spans = [m.group() for m in found], [m.span() for m in found]
        if not isinstance(value, list):
            return value
        pairs: dict[str, Any] = {}
        for i, item in enumerate(value):
            span = spans[i] if i < len(spans) else None
            if isinstance(item, str) and "=" in item:
                name, _, number = item.partition("=")
                try:
                    pairs[name.strip()] = float(number)
                except ValueError:
                    args = {"item": item, "name": name.strip()}
                    raise problem_error(Problem("error.params.not_pair", args, span=span)) from None
            elif isinstance(item, (list, tuple)) and len(item) == 2:
                pairs[str(item[0])] = item[1]
            elif isinstance(item, dict) and set(item) == {"name", "value"}:
                pairs[str(item["name"])] = item["value"]
            else:
                raise problem_error(Problem("error.params.write_pairs", span=span))
        return pairs

    def cross_field_errors(self) -> list[tuple[str, Problem]]:
        errors = super().cross_field_errors()
        name_errors = _name_errors(self.params)
        if name_errors:
            return errors + name_errors
        try:
            model, loss = compile_model(self), compile_loss(self)
        except ExprError as e:
            return [*errors, (e.field, e.problem)]
        return errors + _reach_errors(self, model, loss)


def compile_model(p: CustomParams) -> Expr:
    return compile_expr(p.model, ["x", *p.params], field="model")


def compile_loss(p: CustomParams) -> Expr:
    return compile_expr(p.loss, [*DATA_NAMES, *p.params], field="loss")


def _name_errors(params: Mapping[str, float]) -> list[tuple[str, Problem]]:
    if not params:
        return [("params", Problem("error.params.none"))]
    if len(params) > MAX_PARAMS:
        return [("params", Problem("error.params.too_many", {"most": MAX_PARAMS, "count": len(params)}))]
    for name in params:  # `name` in the args: the page marks that parameter's row
        if not NAME.fullmatch(name):
            return [("params", Problem("error.params.bad_name", {"name": name}))]
        if name in DATA_NAMES or name in FUNCTION_NAMES or keyword.iskeyword(name):
            return [("params", Problem("error.params.reserved", {"name": name}))]
    return []


def _reach_errors(p: CustomParams, model: Expr, loss: Expr) -> list[tuple[str, Problem]]:
    """Every parameter must reach the loss (or its .grad stays None), and one dry step must give a number."""
    uses_model = "y_hat" in loss.names
    unused = [n for n in p.params if n not in loss.names and not (uses_model and n in model.names)]
    if unused:
        key = "error.params.unused" if uses_model else "error.params.unused_by_loss"
        return [("params", Problem(key, {"names": ", ".join(unused)}))]
    tensors = {n: torch.tensor([v], requires_grad=True) for n, v in p.params.items()}
    x, y = Datum(p.x[0]), Datum(p.y[0])
    try:
        y_hat = model({"x": x, **tensors})
    except (RuntimeError, ValueError, TypeError) as e:
        return [("model", Problem("error.cannot_compute", {"reason": str(e)}))]  # PyTorch's own words
    try:
        value = loss({"x": x, "y": y, "y_hat": y_hat, **tensors})
    except (RuntimeError, ValueError, TypeError) as e:
        return [("loss", Problem("error.cannot_compute", {"reason": str(e)}))]
    if not isinstance(value, torch.Tensor) or value.grad_fn is None:
        return [("loss", Problem("error.no_parameter"))]
    return []


class Custom(PerSampleSgd[CustomParams]):
    id = "custom"
    title = "Custom: type your own model and loss"
    description = (
        "Lecture 04's per-sample SGD loop on a model and loss you type. Only numbers, x, y, y_hat, your "
        "parameters, + - * / ** and a few torch functions are allowed; nothing is evaluated as Python."
    )
    Params = CustomParams
    param_names = ()

    def initial_values(self, params: CustomParams) -> dict[str, float]:
        return {name: float(v) for name, v in params.params.items()}

    def formulas(self, params: CustomParams) -> tuple[str, str]:
        return f"y_hat = {params.model}", f"loss = {params.loss}"

    def model(self, params: CustomParams) -> Model:
        expr = compile_model(params)
        return lambda x, p: expr({"x": x, **p})

    def loss(self, params: CustomParams) -> Loss:
        expr = compile_loss(params)
        return lambda y_hat, y, x, p: expr({"y_hat": y_hat, "y": y, "x": x, **p})
