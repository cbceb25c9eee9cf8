"""Lecture 06 ("Logistic Regression"): sigmoid(nn.Linear(1, 1)) with BCELoss."""

from __future__ import annotations

import torch
from backprop_lens.problems import Problem, subject
from backprop_lens.scenarios.batch import FullBatch, PairedBatchParams, Setup, column
from backprop_lens.scenarios.sgd import DataList
from pydantic import Field


class LogisticModel(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.linear(x))


class LogisticParams(PairedBatchParams):
    epochs: int = Field(1000, ge=1, le=10_000, description="full-batch steps (one per epoch)")
    x: DataList = Field(default_factory=lambda: [1.0, 2.0, 3.0], description="hours studied, one per student")
    y: DataList = Field(default_factory=lambda: [0.0, 0.0, 1.0], description="passed (1) or failed (0)")

    def cross_field_errors(self) -> list[tuple[str, Problem]]:
        errors = super().cross_field_errors()
        bad = next((i for i, v in enumerate(self.y) if not 0.0 <= v <= 1.0), None)
        if bad is not None:  # BCELoss takes probabilities as targets
            what = subject(("y", bad))
            errors.append((f"y.{bad}", Problem("error.not_probability", {"what": what, "value": self.y[bad]})))
        return errors


class Logistic(FullBatch[LogisticParams]):
    id = "logistic"
    loss_text = "criterion = BCELoss()"
    title = "Lecture 06: logistic regression, sigmoid + BCELoss"
    description = "y_hat = sigmoid(nn.Linear(1, 1)(x)), BCELoss, full-batch steps: will a student pass?"
    Params = LogisticParams
    predict_x = 7.0  # the lecture asks about 7 hours of study

    def build(self, params: LogisticParams) -> Setup:
        return Setup(LogisticModel(), torch.nn.BCELoss(reduction="mean"), column(params.x), column(params.y))

    def epoch_line(self, epoch: int, loss: float, params: LogisticParams) -> str | None:
        return f"Epoch {epoch + 1}/{params.epochs} | Loss: {loss:.4f}"

    def closing_lines(self, s: Setup, params: LogisticParams) -> list[str]:
        lines = ["", "Let's predict the hours need to score above 50%", "=" * 50]
        for hours in (1, 7):
            with torch.no_grad():
                p = s.model(torch.tensor([[float(hours)]])).item()
            unit = "hour" if hours == 1 else "hours"
            lines.append(f"Prediction after {hours} {unit} of training: {p:.4f} | Above 50%: {p > 0.5}")
        return lines
