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
from backprop_lens.scenarios.base import Finite
from backprop_lens.scenarios.sgd import Loss, Model, PerSampleSgd, SgdParams
from backprop_lens.tracing import Datum
from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

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
        if isinstance(value, str):
            value = [part for part in re.split(r"[,\s]+", value.strip()) if part]
        if not isinstance(value, list):
            return value
        pairs: dict[str, Any] = {}
        for item in value:
            if isinstance(item, str) and "=" in item:
                name, _, number = item.partition("=")
                try:
                    pairs[name.strip()] = float(number)
                except ValueError:
                    raise PydanticCustomError("params", f"`{item}` is not name=number, e.g. w=1.0") from None
            elif isinstance(item, (list, tuple)) and len(item) == 2:
                pairs[str(item[0])] = item[1]
            elif isinstance(item, dict) and set(item) == {"name", "value"}:
                pairs[str(item["name"])] = item["value"]
            else:
                raise PydanticCustomError("params", "write each parameter as name=number, e.g. w=1.0", {})
        return pairs

    def cross_field_errors(self) -> list[tuple[str, str]]:
        errors = super().cross_field_errors()
        name_errors = _name_errors(self.params)
        if name_errors:
            return errors + name_errors
        try:
            model, loss = compile_model(self), compile_loss(self)
        except ExprError as e:
            return [*errors, (e.field, e.message)]
        return errors + _reach_errors(self, model, loss)


def compile_model(p: CustomParams) -> Expr:
    return compile_expr(p.model, ["x", *p.params], field="model")


def compile_loss(p: CustomParams) -> Expr:
    return compile_expr(p.loss, [*DATA_NAMES, *p.params], field="loss")


def _name_errors(params: Mapping[str, float]) -> list[tuple[str, str]]:
    if not params:
        return [("params", "declare at least one parameter, e.g. w=1.0")]
    if len(params) > MAX_PARAMS:
        return [("params", f"at most {MAX_PARAMS} parameters; got {len(params)}")]
    for name in params:
        if not NAME.fullmatch(name):
            return [("params", f"`{name}` is not a valid name: a letter, then letters, digits or _ (16 at most)")]
        if name in DATA_NAMES or name in FUNCTION_NAMES or keyword.iskeyword(name):
            return [("params", f"`{name}` is reserved: choose another parameter name")]
    return []


def _reach_errors(p: CustomParams, model: Expr, loss: Expr) -> list[tuple[str, str]]:
    """Every parameter must reach the loss (or its .grad stays None), and one dry step must give a number."""
    uses_model = "y_hat" in loss.names
    unused = [n for n in p.params if n not in loss.names and not (uses_model and n in model.names)]
    if unused:
        where = "the model or the loss" if uses_model else "the loss (which does not use y_hat)"
        return [("params", f"{', '.join(unused)}: not used in {where}, so no gradient reaches it")]
    tensors = {n: torch.tensor([v], requires_grad=True) for n, v in p.params.items()}
    x, y = Datum(p.x[0]), Datum(p.y[0])
    try:
        y_hat = model({"x": x, **tensors})
    except (RuntimeError, ValueError, TypeError) as e:
        return [("model", f"cannot be computed: {e}")]
    try:
        value = loss({"x": x, "y": y, "y_hat": y_hat, **tensors})
    except (RuntimeError, ValueError, TypeError) as e:
        return [("loss", f"cannot be computed: {e}")]
    if not isinstance(value, torch.Tensor) or value.grad_fn is None:
        return [("loss", "does not depend on any parameter")]
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

    def model(self, params: CustomParams) -> Model:
        expr = compile_model(params)
        return lambda x, p: expr({"x": x, **p})

    def formulas(self, params: CustomParams) -> tuple[str, str]:
        return f"y_hat = {params.model}", f"loss = {params.loss}"

    def loss(self, params: CustomParams) -> Loss:
        expr = compile_loss(params)
        return lambda y_hat, y, x, p: expr({"y_hat": y_hat, "y": y, "x": x, **p})
