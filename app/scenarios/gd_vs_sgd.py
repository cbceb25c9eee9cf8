"""Lecture 03 ("Gradient Descent"): full-batch gradient descent on the mean loss beside per-sample SGD.

`mode` picks the run that is stepped through and traced: `gd` (one step per epoch; x and y are tensors, so
the graph shows the `MeanBackward0` over all samples) or `sgd` (one step per sample, exactly Lecture 04's loop).
The other method runs on the same data alongside, and every epoch line shows both, measured the same way:
w after the epoch and the mean loss over all samples at the start of the epoch.
"""

from __future__ import annotations

from typing import Any

import torch
from backprop_lens.parameters import ABOUT
from backprop_lens.parameters.sgd import GdVsSgdParams, Mode
from backprop_lens.scenarios.base import Prediction, Progress, Recorder, Scenario, StepRecord, grad_of
from backprop_lens.scenarios.sgd import PREDICT_X
from backprop_lens.scenarios.updates import plain_sgd
from backprop_lens.snapshot import ParamState
from backprop_lens.tracing import Datum
from backprop_lens.tracing import name as name_result


class GdVsSgd(Scenario[GdVsSgdParams]):
    id = "gd_vs_sgd"
    title = ABOUT["gd_vs_sgd"].title
    description = ABOUT["gd_vs_sgd"].description
    Params = GdVsSgdParams

    def formulas(self, params: GdVsSgdParams) -> tuple[str, str]:
        loss = "mean((y_hat - y)**2)" if params.mode == "gd" else "(y_hat - y)**2"
        return "y_hat = x * w", f"loss = {loss}"

    def train(self, params: GdVsSgdParams, rec: Recorder) -> None:
        other: Mode = "sgd" if params.mode == "gd" else "gd"
        beside = _train(other, params, None)
        _train(params.mode, params, rec, beside)


def _train(
    mode: Mode, params: GdVsSgdParams, rec: Recorder | None, beside: list[tuple[float, float]] | None = None
) -> list[tuple[float, float]]:
    """One method's run; with a recorder it logs, records and traces. Returns (w after, mean loss before) per epoch."""
    w = torch.tensor([float(params.w)])
    w.requires_grad = True
    contribution: list[Any] = [None]
    w.register_hook(lambda g: contribution.__setitem__(0, g.tolist()))
    x_all, y_all = torch.tensor(params.x), torch.tensor(params.y)

    def forward(x: Any) -> torch.Tensor:
        return x * w

    def mean_loss() -> float:
        with torch.no_grad():
            return ((forward(x_all) - y_all) ** 2).mean().item()

    def update() -> None:
        grad = grad_of(w)
        w.data = w.data - params.lr * grad.data
        if params.zero_grad:
            grad.data.zero_()

    if rec is not None:
        rec.predictions.append(Prediction("before", PREDICT_X, forward(PREDICT_X).item()))
        rec.line(f"Prediction (before training) {PREDICT_X} {rec.predictions[-1].value}")
    results: list[tuple[float, float]] = []
    k = 0
    for epoch in range(params.epochs):
        cost = mean_loss()
        batches: list[tuple[int | None, Any, Any]]
        if mode == "gd":
            batches = [(None, x_all, y_all)]
        else:
            batches = [(i, Datum(x), Datum(y)) for i, (x, y) in enumerate(zip(params.x, params.y, strict=True))]
        for sample, x, y in batches:
            before = w.tolist()
            if rec is None:
                l = _loss(mode, forward(x), y)  # noqa: E741 — the lecture's name
                l.backward()
                update()
                continue
            with rec.tracing(k, {"w": w}, {"x": x, "y": y}) as tracer:
                l = _loss(mode, forward(x), y)  # noqa: E741
                l.backward()
            grad = grad_of(w).tolist()
            if mode == "sgd":
                rec.line(f"\tgrad: {x} {y} {grad_of(w).item()}")
            update()
            with torch.no_grad():
                prediction = forward(PREDICT_X).item()
            inputs: dict[str, float] = {"x": float(x), "y": float(y)} if sample is not None else {}
            record_update = plain_sgd("w", params.lr, grad, params.zero_grad)
            state = ParamState(
                before=before, grad=grad, after=w.tolist(), grad_step=contribution[0], update=record_update
            )
            rec.record(StepRecord(k, epoch, sample, inputs, l.item(), {"w": state}, prediction), tracer)
            k += 1
        results.append((w.item(), cost))
        if rec is not None:
            rec.progress.append(Progress(epoch, cost))
            pair = {mode: results[-1], ("sgd" if mode == "gd" else "gd"): beside[epoch] if beside else (None, None)}
            rec.line(
                f"Epoch: {epoch} | GD: w= {pair['gd'][0]} loss= {pair['gd'][1]} "
                f"| SGD: w= {pair['sgd'][0]} loss= {pair['sgd'][1]}"
            )
    if rec is not None:
        rec.predictions.append(Prediction("after", PREDICT_X, forward(PREDICT_X).item()))
        rec.line(f"Prediction (after training) {PREDICT_X} {rec.predictions[-1].value}")
    return results


def _loss(mode: Mode, y_hat: torch.Tensor, y: Any) -> torch.Tensor:
    name_result(y_hat, "y_hat")
    squared = name_result(y_hat - y, "y_hat - y") ** 2
    return name_result(squared.mean() if mode == "gd" else squared, "loss")
