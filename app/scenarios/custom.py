"""The custom scenario: the user types the model and the loss; Lecture 04's loop trains it.

Expressions go through `backprop_lens.expr` (ast whitelist -> closures calling torch), never eval. With the homework's
text `w1*x*x + w2*x + b`, `(y_hat - y)**2` and w1 = w2 = b = 1 the PyTorch ops are those of `quadratic`,
in the same order, so the logs are identical.
"""

from __future__ import annotations

import torch
from backprop_lens.expr import Expr, ExprError, compile_expr
from backprop_lens.parameters import ABOUT
from backprop_lens.parameters.custom import CustomParams
from backprop_lens.problems import Problem
from backprop_lens.scenarios.sgd import Loss, Model, PerSampleSgd
from backprop_lens.tracing import Datum


def compile_model(p: CustomParams) -> Expr:
    return compile_expr(p.model, p.model_names(), field="model")


def compile_loss(p: CustomParams) -> Expr:
    return compile_expr(p.loss, p.loss_names(), field="loss")


def dry_step_errors(p: CustomParams, model: Expr, loss: Expr) -> list[tuple[str, Problem]]:
    """One dry step must give a number that depends on the parameters (PyTorch's own words when it cannot)."""
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
    title = ABOUT["custom"].title
    description = ABOUT["custom"].description
    Params = CustomParams
    param_names = ()

    def initial_values(self, params: CustomParams) -> dict[str, float]:
        return {name: float(v) for name, v in params.params.items()}

    def run_errors(self, params: CustomParams) -> list[tuple[str, Problem]]:
        try:
            model, loss = compile_model(params), compile_loss(params)
        except ExprError as e:  # checked with the parameters already; compiling refuses nothing more
            return [(e.field, e.problem)]
        return dry_step_errors(params, model, loss)

    def formulas(self, params: CustomParams) -> tuple[str, str]:
        return f"y_hat = {params.model}", f"loss = {params.loss}"

    def model(self, params: CustomParams) -> Model:
        expr = compile_model(params)
        return lambda x, p: expr({"x": x, **p})

    def loss(self, params: CustomParams) -> Loss:
        expr = compile_loss(params)
        return lambda y_hat, y, x, p: expr({"y_hat": y_hat, "y": y, "x": x, **p})
