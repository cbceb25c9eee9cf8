"""The custom scenario's parameters: the model and loss as typed, and the parameters' names and values.

Checked here without PyTorch: the parameter names, each expression against the language (`expr.check`, an
ast whitelist, never eval) and that every parameter can reach the loss. The dry step that needs PyTorch is
the scenario's (`scenarios.custom.Custom.run_errors`).
"""

from __future__ import annotations

import ast
import keyword
import re
from collections.abc import Mapping
from typing import Any

from backprop_lens.expr.check import FUNCTION_NAMES, ExprError, check, names_in
from backprop_lens.parameters.base import Finite
from backprop_lens.parameters.sgd import SgdParams
from backprop_lens.problems import Problem, problem_error
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

    def model_names(self) -> list[str]:
        return ["x", *self.params]

    def loss_names(self) -> list[str]:
        return [*DATA_NAMES, *self.params]

    def cross_field_errors(self) -> list[tuple[str, Problem]]:
        errors = super().cross_field_errors()
        name_errors = _name_errors(self.params)
        if name_errors:
            return errors + name_errors
        try:
            model = check(self.model, self.model_names(), field="model")
            loss = check(self.loss, self.loss_names(), field="loss")
        except ExprError as e:
            return [*errors, (e.field, e.problem)]
        return errors + _reach_errors(self, model, loss)


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


def _reach_errors(p: CustomParams, model: ast.expr, loss: ast.expr) -> list[tuple[str, Problem]]:
    """Every parameter must reach the loss (or its .grad stays None)."""
    model_names, loss_names = names_in(model), names_in(loss)
    uses_model = "y_hat" in loss_names
    unused = [n for n in p.params if n not in loss_names and not (uses_model and n in model_names)]
    if unused:
        key = "error.params.unused" if uses_model else "error.params.unused_by_loss"
        return [("params", Problem(key, {"names": ", ".join(unused)}))]
    return []
