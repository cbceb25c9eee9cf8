"""Lecture 05 ("Linear Regression in the PyTorch way"): nn.Linear(1, 1), MSELoss(sum), torch.optim."""

from __future__ import annotations

import torch
from backprop_lens.scenarios.batch import FullBatch, PairedBatchParams, Setup, column
from pydantic import Field


class LinearModel(torch.nn.Module):
    """The lecture's model class: its parameters are `linear.weight` and `linear.bias`."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class LinearModuleParams(PairedBatchParams):
    epochs: int = Field(500, ge=1, le=10_000, description="full-batch steps (one per epoch)")


class LinearModule(FullBatch[LinearModuleParams]):
    id = "linear_module"
    loss_text = "criterion = MSELoss(reduction='sum')"
    title = "Lecture 05: nn.Linear(1, 1) with torch.optim"
    description = (
        "The PyTorch way: model = nn.Linear(1, 1), criterion = MSELoss(reduction='sum'), an optimizer from "
        "torch.optim; full-batch steps. The update phase shows what the chosen optimizer did."
    )
    Params = LinearModuleParams

    def build(self, params: LinearModuleParams) -> Setup:
        return Setup(LinearModel(), torch.nn.MSELoss(reduction="sum"), column(params.x), column(params.y))

    def closing_lines(self, s: Setup, params: LinearModuleParams) -> list[str]:
        return [f"Prediction (after training) 4 {self.predict(s)}"]
