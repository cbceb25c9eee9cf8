"""Lecture 05 ("Linear Regression in the PyTorch way"): nn.Linear(1, 1), MSELoss(sum), torch.optim."""

from __future__ import annotations

import torch
from backprop_lens.parameters import ABOUT
from backprop_lens.parameters.batch import LinearModuleParams
from backprop_lens.scenarios.batch import FullBatch, Setup, column


class LinearModel(torch.nn.Module):
    """The lecture's model class: its parameters are `linear.weight` and `linear.bias`."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class LinearModule(FullBatch[LinearModuleParams]):
    id = "linear_module"
    loss_text = "criterion = MSELoss(reduction='sum')"
    title = ABOUT["linear_module"].title
    description = ABOUT["linear_module"].description
    Params = LinearModuleParams

    def build(self, params: LinearModuleParams) -> Setup:
        return Setup(LinearModel(), torch.nn.MSELoss(reduction="sum"), column(params.x), column(params.y))

    def closing_lines(self, s: Setup, params: LinearModuleParams) -> list[str]:
        return [f"Prediction (after training) 4 {self.predict(s)}"]
