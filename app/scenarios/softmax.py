"""Lecture 09 ("Softmax Classifier"), small and offline: nn.Linear(2, 3) + CrossEntropyLoss on inline points."""

from __future__ import annotations

import torch
from backprop_lens.parameters import ABOUT
from backprop_lens.parameters.batch import SOFTMAX_LABELS as LABELS
from backprop_lens.parameters.batch import SOFTMAX_POINTS as POINTS
from backprop_lens.parameters.batch import SoftmaxParams
from backprop_lens.scenarios.batch import FullBatch, Setup


class SoftmaxModel(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(2, 3)  # logits; CrossEntropyLoss applies log-softmax itself

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class Softmax(FullBatch[SoftmaxParams]):
    id = "softmax"
    loss_text = "criterion = CrossEntropyLoss()"
    title = ABOUT["softmax"].title
    description = ABOUT["softmax"].description
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
