"""The lecture's two-layer network y = W2 act(W1 x + b1) + b2, with and without a nonlinearity.

Without one (activation "none") the two layers collapse to one straight line, (W2 W1) x + (W2 b1 + b2), and
the default data (a parabola) cannot be fitted; with a sigmoid between them it can.
"""

from __future__ import annotations

import torch
from backprop_lens.parameters import ABOUT
from backprop_lens.parameters.batch import TwoLayerParams
from backprop_lens.scenarios.batch import FullBatch, Setup, column

SHOWN_POINTS = 10  # fitted points listed at the end of the log


class TwoLayerNet(torch.nn.Module):
    def __init__(self, hidden: int, activation: str) -> None:
        super().__init__()
        self.layer1 = torch.nn.Linear(1, hidden)
        self.act = torch.nn.Sigmoid() if activation == "sigmoid" else torch.nn.Identity()
        self.layer2 = torch.nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer2(self.act(self.layer1(x)))


class TwoLayer(FullBatch[TwoLayerParams]):
    id = "two_layer"
    loss_text = "criterion = MSELoss()"
    title = ABOUT["two_layer"].title
    description = ABOUT["two_layer"].description
    Params = TwoLayerParams
    predict_x = None

    def build(self, params: TwoLayerParams) -> Setup:
        model = TwoLayerNet(params.hidden, params.activation)
        return Setup(model, torch.nn.MSELoss(), column(params.x), column(params.y))

    def closing_lines(self, s: Setup, params: TwoLayerParams) -> list[str]:
        with torch.no_grad():
            fitted = s.model(s.x[:SHOWN_POINTS]).flatten().tolist()
        lines = ["Fit (after training):"]
        lines += [f"\tx= {x} y= {y} y_hat= {f}" for x, y, f in zip(params.x, params.y, fitted, strict=False)]
        if params.activation == "none":
            lines.append("No activation: W2(W1 x + b1) + b2 = (W2 W1) x + (W2 b1 + b2), a straight line.")
        return lines
