"""Lecture 05 ("Linear Regression in the PyTorch way"): nn.Linear(1, 1), MSELoss(sum), torch.optim."""

from __future__ import annotations

from typing import Any

import torch
from pydantic import Field

from app.scenarios.base import paired_data_errors
from app.scenarios.batch import BatchParams, FullBatch, Setup, column
from app.scenarios.sgd import DataList


class LinearModel(torch.nn.Module):
    """The lecture's model class: its parameters are `linear.weight` and `linear.bias`."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class LinearModuleParams(BatchParams):
    epochs: int = Field(500, ge=1, le=10_000, description="full-batch steps (one per epoch)")
    x: DataList = Field(default_factory=lambda: [1.0, 2.0, 3.0], description="inputs, one per sample")
    y: DataList = Field(default_factory=lambda: [2.0, 4.0, 6.0], description="targets, one per sample")

    def data_points(self) -> int:
        return len(self.x)

    def cross_field_errors(self) -> list[tuple[str, str]]:
        errors = super().cross_field_errors()
        errors += paired_data_errors(self.x, self.y)
        return errors


class LinearModule(FullBatch):
    id = "linear_module"
    title = "Lecture 05: nn.Linear(1, 1) with torch.optim"
    description = (
        "The PyTorch way: model = nn.Linear(1, 1), criterion = MSELoss(reduction='sum'), an optimizer from "
        "torch.optim; full-batch steps. The update phase shows what the chosen optimizer did."
    )
    Params = LinearModuleParams

    def build(self, params: Any) -> Setup:
        return Setup(LinearModel(), torch.nn.MSELoss(reduction="sum"), column(params.x), column(params.y))

    def closing_lines(self, s: Setup, params: Any) -> list[str]:
        return [f"Prediction (after training) 4 {self.predict(s)}"]
