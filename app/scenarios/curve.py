"""What the charts draw beside the history, computed here so that the page computes nothing:

- `loss_curve`: L(w) of a one-parameter per-sample scenario for each sample, the scenario's own model and loss
  run by PyTorch on a grid of w that holds the run's trajectory (the page draws the curve of the step's sample);
- `predict_target`: the value the data's own line takes at the prediction point, when the data lie exactly on
  a line through the origin (Lecture 04's y = 2x: 8 at x = 4), else None.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from backprop_lens.present.calc import scalar
from backprop_lens.present.format import fmt_num
from backprop_lens.scenarios.base import Recorder, Scenario, ScenarioParams
from backprop_lens.scenarios.gd_vs_sgd import GdVsSgd
from backprop_lens.scenarios.linear_module import LinearModule
from backprop_lens.scenarios.sgd import PerSampleSgd
from backprop_lens.tracing import Datum

GRID = 121  # points of one sample's curve
MAX_POINTS = 24_000  # samples x grid points: a run of 1000 samples still sends a curve per sample (24 points)
MIN_GRID = 21
W_BOUND = 1e6  # the parameters' own bound (Finite): a w beyond it has run away and would flatten the picture
# The scenarios whose prediction estimates y itself (a regression of y on x by squared error): for them a line
# the data lie on says what the prediction should be. Logistic predicts a probability, softmax a class.
REGRESSIONS: tuple[type[Scenario[Any]], ...] = (PerSampleSgd, GdVsSgd, LinearModule)


def trajectory(history: Recorder, name: str) -> tuple[list[float], bool]:
    """w before and after each step up to the first one that is not finite or beyond the bound; True if one was."""
    ws: list[float] = []
    for s in history.steps:
        for v in (scalar(s.params[name].before), scalar(s.params[name].after)):
            if v is None or abs(v) > W_BOUND:  # scalar(): None for NaN and infinities too
                return ws, True
            ws.append(v)
    return ws, False


def padded(ws: list[float]) -> tuple[float, float]:
    if not ws:
        return -1.0, 3.0
    lo, hi = min(ws), max(ws)
    pad = max((hi - lo) * 0.25, 0.5)
    return lo - pad, hi + pad


def w_ranges(history: Recorder, name: str, per_epoch: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """(the whole trajectory's range, the range the chart opens on): the same, unless w runs away (a diverging
    run), when the chart opens on its first epochs and the page widens it as w leaves (the curve holds both)."""
    ws, ran_away = trajectory(history, name)
    full = padded(ws)
    return full, padded(ws[: 2 * 3 * per_epoch]) if ran_away else full


def w_grid(full: tuple[float, float], view: tuple[float, float], size: int) -> torch.Tensor:
    """`size` points over the view, and beyond it (a run that runs away) points spaced ever wider out to the whole
    range, so the curve keeps its shape as the picture widens step by step. float32, as the model's w."""
    grid = torch.linspace(*view, size, dtype=torch.float64)
    gap = (view[1] - view[0]) / (size - 1)
    out = [grid]
    for edge, room, sign in ((view[0], view[0] - full[0], -1.0), (view[1], full[1] - view[1], 1.0)):
        if room > gap:
            out.append(edge + sign * torch.logspace(math.log10(gap), math.log10(room), size, dtype=torch.float64))
    return torch.cat(out).float().unique(sorted=True)


def loss_curve(scenario: Scenario[Any], params: ScenarioParams, history: Recorder) -> dict[str, Any] | None:
    """{"param", "w": grid, "loss": [per sample: L at each w]} for a per-sample scenario of one scalar parameter."""
    if not isinstance(scenario, PerSampleSgd):
        return None
    names = list(scenario.initial_values(params))
    if len(names) != 1 or not history.steps:
        return None
    name = names[0]
    xs, ys = list(getattr(params, "x", [])), list(getattr(params, "y", []))
    size = max(MIN_GRID, min(GRID, MAX_POINTS // max(1, len(xs))))
    full, view = w_ranges(history, name, len(xs))
    grid = w_grid(full, view, size)
    model, loss_of = scenario.model(params), scenario.loss(params)

    def loss_at(w: torch.Tensor, x: Datum, y: Datum) -> torch.Tensor:
        p = {name: w}  # w of shape [1], as the training loop holds it
        return loss_of(model(x, p), y, x, p).reshape(())

    rows = []
    with torch.no_grad():
        for xv, yv in zip(xs, ys, strict=True):
            x, y = Datum(xv), Datum(yv)
            rows.append(_on_grid(loss_at, grid, x, y))
    return {"param": name, "w": grid.tolist(), "view": list(view), "loss": rows}


def _on_grid(loss_at: Any, grid: torch.Tensor, x: Datum, y: Datum) -> list[float | None]:
    """L at every w of the grid: one batched call (vmap runs the model once per w), or w by w if it cannot."""
    column = grid.unsqueeze(1)
    try:
        values = torch.vmap(lambda w: loss_at(w, x, y))(column).tolist()
    except Exception:  # an op vmap does not batch: the same numbers, one w at a time
        values = [loss_at(w, x, y).item() for w in column]
    return [v if math.isfinite(v) else None for v in values]


def predict_target(scenario: Scenario[Any], params: ScenarioParams, predict_x: Any) -> dict[str, Any] | None:
    """{"x", "value", "text"}: the least-squares slope through the origin times x, when every point is on that line."""
    xs, ys = getattr(params, "x", None), getattr(params, "y", None)
    if not isinstance(scenario, REGRESSIONS) or not isinstance(xs, list) or not isinstance(ys, list):
        return None
    if len(xs) != len(ys) or not isinstance(predict_x, (int, float)):
        return None
    sxx = sum(a * a for a in xs)
    if sxx == 0:
        return None
    slope = sum(a * b for a, b in zip(xs, ys, strict=True)) / sxx
    if not all(math.isclose(b, slope * a, rel_tol=1e-9, abs_tol=1e-12) for a, b in zip(xs, ys, strict=True)):
        return None  # not on one line through the origin: the data do not say what the prediction should be
    value = slope * predict_x
    return {"x": predict_x, "value": value, "text": fmt_num(value)}
