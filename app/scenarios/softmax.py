"""Lecture 09 ("Softmax Classifier"), small and offline: nn.Linear(2, 3) + CrossEntropyLoss on inline points."""

from __future__ import annotations

import torch
from backprop_lens.scenarios.batch import BatchParams, FullBatch, Setup
from pydantic import Field

# Three classes of two-dimensional points, two points each: lower left, lower right, top.
POINTS = [[-1.0, -1.0], [-1.5, -0.5], [1.0, -1.0], [1.5, -0.5], [0.0, 1.0], [0.5, 1.5]]
LABELS = [0, 0, 1, 1, 2, 2]


class SoftmaxModel(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(2, 3)  # logits; CrossEntropyLoss applies log-softmax itself

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class SoftmaxParams(BatchParams):
    lr: float = Field(0.1, gt=0, le=100, allow_inf_nan=False, description="learning rate")

    def data_points(self) -> int:
        return len(POINTS)


class Softmax(FullBatch[SoftmaxParams]):
    id = "softmax"
    loss_text = "criterion = CrossEntropyLoss()"
    title = "Lecture 09: softmax classifier with CrossEntropyLoss"
    description = (
        "Three classes of 2-d points, logits = nn.Linear(2, 3)(x), CrossEntropyLoss (log-softmax + NLL), "
        "full-batch steps."
    )
    Params = SoftmaxParams
    predict_x = None

    def build(self, params: SoftmaxParams) -> Setup:
        return Setup(SoftmaxModel(), torch.nn.CrossEntropyLoss(), torch.tensor(POINTS), torch.tensor(LABELS))

    def epoch_line(self, epoch: int, loss: float, params: SoftmaxParams) -> str | None:
        return f"Train Epoch: {epoch} | Loss: {loss:.6f}"

    def closing_lines(self, s: Setup, params: SoftmaxParams) -> list[str]:
        with torch.no_grad():
            predicted = s.model(s.x).argmax(dim=1)
        correct = int((predicted == s.y).sum())
        n = len(LABELS)
        return [f"Accuracy: {correct}/{n} ({100.0 * correct / n:.0f}%)"]
