"""Every built-in scenario's parameters, its title and description: pydantic models with no torch in them.

The command line builds its options and `--help` from these in a fraction of a second; the scenarios
(`backprop_lens.scenarios`, which run PyTorch) take their parameters, titles and descriptions from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from backprop_lens.parameters.base import MAX_STEPS, DataList, Finite, ScenarioParams
from backprop_lens.parameters.batch import (
    LinearModuleParams,
    LogisticParams,
    SoftmaxParams,
    TwoLayerParams,
)
from backprop_lens.parameters.custom import CustomParams
from backprop_lens.parameters.sgd import AffineParams, GdVsSgdParams, Lecture04Params, QuadraticParams


@dataclass(frozen=True, slots=True)
class About:
    """What a scenario says of itself before it runs: its name, its words and the parameters it takes."""

    id: str
    title: str
    description: str
    params: type[ScenarioParams]


ABOUT: dict[str, About] = {
    a.id: a
    for a in (
        About(
            "lecture04",
            "Lecture 04: y_hat = x * w",
            "Per-sample SGD on (x * w - y) ** 2, exactly the lecture's script.",
            Lecture04Params,
        ),
        About(
            "quadratic",
            "Homework: y_hat = w1 * x * x + w2 * x + b",
            "The lecture's homework: a quadratic model, same data, loop and learning rate.",
            QuadraticParams,
        ),
        About(
            "affine",
            "Homework 2: y_hat = x * w + b",
            "Per-sample SGD on (x * w + b - y) ** 2; the grad line shows the gradients of w and b.",
            AffineParams,
        ),
        About(
            "gd_vs_sgd",
            "Lecture 03: gradient descent vs. per-sample SGD",
            "y_hat = x * w. Full-batch gradient descent on mean((x * w - y) ** 2), one step per epoch, beside "
            "per-sample SGD on the same data; the log shows both.",
            GdVsSgdParams,
        ),
        About(
            "linear_module",
            "Lecture 05: nn.Linear(1, 1) with torch.optim",
            "The PyTorch way: model = nn.Linear(1, 1), criterion = MSELoss(reduction='sum'), an optimizer from "
            "torch.optim; full-batch steps. The update phase shows what the chosen optimizer did.",
            LinearModuleParams,
        ),
        About(
            "logistic",
            "Lecture 06: logistic regression, sigmoid + BCELoss",
            "y_hat = sigmoid(nn.Linear(1, 1)(x)), BCELoss, full-batch steps: will a student pass?",
            LogisticParams,
        ),
        About(
            "two_layer",
            "Two layers: y = W2 act(W1 x + b1) + b2",
            "Two nn.Linear layers with a sigmoid between them, or none: without the nonlinearity the net is a "
            "straight line and cannot fit the parabola. MSELoss, full-batch steps.",
            TwoLayerParams,
        ),
        About(
            "softmax",
            "Lecture 09: softmax classifier with CrossEntropyLoss",
            "Three classes of 2-d points, logits = nn.Linear(2, 3)(x), CrossEntropyLoss (log-softmax + NLL), "
            "full-batch steps.",
            SoftmaxParams,
        ),
        About(
            "custom",
            "Custom: type your own model and loss",
            "Lecture 04's per-sample SGD loop on a model and loss you type. Only numbers, x, y, y_hat, your "
            "parameters, + - * / ** and a few torch functions are allowed; nothing is evaluated as Python.",
            CustomParams,
        ),
    )
}

__all__ = ["ABOUT", "MAX_STEPS", "About", "DataList", "Finite", "ScenarioParams"]
