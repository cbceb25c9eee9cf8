"""Lecture 06 ("Logistic Regression"): sigmoid(nn.Linear(1, 1)) with BCELoss."""

from __future__ import annotations

import torch
from backprop_lens.parameters import ABOUT
from backprop_lens.parameters.batch import LogisticParams
from backprop_lens.scenarios.batch import FullBatch, Setup, column


class LogisticModel(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.linear(x))


class Logistic(FullBatch[LogisticParams]):
    id = "logistic"
    loss_text = "criterion = BCELoss()"
    title = ABOUT["logistic"].title
    description = ABOUT["logistic"].description
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
